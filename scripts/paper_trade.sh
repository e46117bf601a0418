#!/usr/bin/env bash
# Paper trading through the engine. Simulated by default (no keys needed): the last --days of
# the bundled BTC-USD 15m data are REPLAYED through the simulated venue, as fast as possible
# unless --speedup K is given.
#
#   ./scripts/paper_trade.sh --strategy lag_autocorr --days 7 --capital 5000
#   ./scripts/paper_trade.sh --strategy all --days 30 --capital 10000
#   ./scripts/paper_trade.sh --strategy lag_autocorr --days 1 --mode testnet   # Bybit testnet keys
#
# Every option of `csl paper` is accepted (csl paper --help). Uses the repository's .venv (what
# `make test` or `make lab` creates) when it exists, else a `csl` on PATH (a pip install).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
csl="$root/.venv/bin/csl"
if [[ ! -x "$csl" ]]; then
  csl="$(command -v csl || true)"
fi
if [[ -z "$csl" ]]; then
  echo "no $root/.venv/bin/csl and no csl on PATH: run 'make lab' (or pip install the package)" >&2
  exit 1
fi
exec "$csl" paper "$@"
