"""Event-driven replay vs its peers: NautilusTrader and backtesting.py, same bars, same rule.

    python -m benchmarks engine_peers                 # 200,000 1-minute bars, 3 rounds
    CSL_BENCH_PEER_BARS=1000000 CSL_BENCH_ROUNDS=5 python -m benchmarks engine_peers

The rule is an EMA 50/200 cross, always in the market (long when fast > slow, short
otherwise), on one seeded GBM path of 1-minute BTCUSDT bars with prices on a 0.1 tick. Ours is
the full trading loop: replay feed -> strategy runner -> sizing -> ``RiskEngine`` (every rule,
journaled decision) -> order manager (journal first) -> simulated venue -> journal (SQLite,
WAL, ``synchronous=NORMAL`` as ``csl paper`` replays, hash-chained audit, equity every
bar). NautilusTrader 1.221 ``BacktestEngine`` (its ``EMACross`` example strategy, NETTING
margin account) and backtesting.py 0.6.6 run the same cross in a separate
virtual environment (they need pandas < 3; created under ``.bench/`` on first use, which needs
the package index once). Rounds are interleaved (peer, peer, ours, ...) so machine load hits all
alike; best and median bars/s are printed with the load average. Ours runs twice per round: as
configured (the risk limits' stop-loss / take-profit rest after every entry) and without
protective exits, the peers' EMACross having none. Ours is warmed up first by an untimed
3,000-bar replay (numba's cached kernels load on first call), as the peers' timers
start after their imports.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.engine import replay, warm_up
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.risk import ProtectiveStops

REPO = Path(__file__).resolve().parents[1]
PEER_VENV = REPO / ".bench" / "peers"
PEER_PINS = ("nautilus_trader==1.221.0", "backtesting==0.6.6", "pandas==2.3.3")
PEERS = {
    "NautilusTrader 1.221": Path(__file__).parent / "peers" / "nautilus_ema.py",
    "backtesting.py 0.6.6": Path(__file__).parent / "peers" / "backtesting_ema.py",
}
FAST, SLOW = 50, 200


class _EmaCross:
    """sign(EMA_fast - EMA_slow) at each close: the peers' rule as a causal target."""

    name = "ema_cross"
    warmup = SLOW

    def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        fast = bars.close.ewm(span=FAST, adjust=False).mean()
        slow = bars.close.ewm(span=SLOW, adjust=False).mean()
        signal = np.sign(fast - slow)
        signal.iloc[:SLOW] = 0.0
        return pd.DataFrame({"signal": signal}, index=bars.index)


def _bars(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = (30_000 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))).round(1)
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = (np.abs(rng.normal(0, 0.001, n)) * close).round(1)
    idx = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": np.full(n, 1_000.0),
        },
        index=idx,
    )


def _peer_python() -> Path | None:
    python = PEER_VENV / "bin" / "python"
    if python.exists():
        return python
    print(f"creating the peer environment in {PEER_VENV} ({', '.join(PEER_PINS)}) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PINS], check=True)
    except subprocess.CalledProcessError as exc:
        print(f"peer environment could not be built ({exc}); peers skipped")
        return None
    return python


def _run_peer(python: Path, script: Path, parquet: Path) -> dict:
    out = subprocess.run(
        [str(python), str(script), str(parquet), str(FAST), str(SLOW)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


OURS = "ours (TradingEngine + journal)"
# NautilusTrader's EMACross sends market orders only; ours, as configured, rests a reduce-only
# stop-loss and take-profit after every entry (3 orders per entry where the peer sends 1-2)
BARE = "ours, no protective exits"
NO_EXITS = ProtectiveStops(stop_loss=None, take_profit=None)


def _run_ours(bars: pd.DataFrame, stops: ProtectiveStops | None = None) -> dict:
    summary, seconds, journal_bytes = replay(
        _EmaCross(), bars, CostModel(funding_rate_8h=0.0), stops=stops
    )
    return {
        "bars": len(bars),
        "seconds": seconds,
        "orders": summary.orders_sent,
        "journal_bytes": journal_bytes,
    }


def main() -> None:
    n = int(os.environ.get("CSL_BENCH_PEER_BARS", "200000"))
    rounds = int(os.environ.get("CSL_BENCH_ROUNDS", "3"))
    bars = _bars(n)
    python = _peer_python()
    timings: dict[str, list[float]] = {OURS: [], BARE: []}
    extra: dict[str, dict] = {}
    warm_up(_EmaCross(), bars, CostModel(funding_rate_8h=0.0))
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "bars.parquet"
        bars.reset_index().to_parquet(parquet)
        for _ in range(rounds):
            if python is not None:
                for name, script in PEERS.items():
                    res = _run_peer(python, script, parquet)
                    timings.setdefault(name, []).append(res["seconds"])
                    extra[name] = res
            for name, stops in ((OURS, None), (BARE, NO_EXITS)):
                res = _run_ours(bars, stops)
                timings[name].append(res["seconds"])
                extra[name] = res
    load = os.getloadavg()
    print(
        f"{n:,} one-minute bars, EMA {FAST}/{SLOW} cross; {rounds} interleaved rounds; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 shared cores)"
    )
    for name, secs in timings.items():
        best, med = n / min(secs), n / statistics.median(secs)
        detail = {k: v for k, v in extra[name].items() if k not in ("bars", "seconds")}
        line = f"{name:<34} best {best:11,.0f} bars/s  median {med:11,.0f} bars/s  {detail}"
        for label, ours in (("ours", timings[OURS]), ("no exits", timings[BARE])):
            if name not in (OURS, BARE):
                line += (
                    f"  {label}/peer: best x{min(secs) / min(ours):.2f}, "
                    f"median x{statistics.median(secs) / statistics.median(ours):.2f}"
                )
        print(line)
    res = extra[OURS]
    print(
        f"journal: {res['journal_bytes'] / n:,.1f} bytes per bar, "
        f"{res['journal_bytes'] / max(res['orders'], 1):,.0f} bytes per order"
    )


if __name__ == "__main__":
    main()
