#!/usr/bin/env bash
# Paper trading through the engine. Simulated by default (no keys needed): the last --days of
# the bundled BTC-USD 15m data are REPLAYED through the simulated venue, as fast as possible
# unless --speedup K is given.
#
#   ./scripts/paper_trade.sh --strategy lag_autocorr --days 7 --capital 5000
#   ./scripts/paper_trade.sh --strategy all --days 30 --capital 10000
#   ./scripts/paper_trade.sh --strategy lag_autocorr --days 1 --mode testnet   # Bybit testnet keys
#
# Every option of `csl paper` is accepted (csl paper --help). Needs the .venv that `make test`
# or `make lab` creates.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
csl="$root/.venv/bin/csl"
if [[ ! -x "$csl" ]]; then
  echo "no $csl: run 'make lab' or 'make test' first to create the virtual environment" >&2
  exit 1
fi
exec "$csl" paper "$@"
