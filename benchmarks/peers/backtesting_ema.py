"""Peer: backtesting.py (``Backtest`` + ``Strategy``) on the same bars and EMA cross.

Runs in the peer virtual environment beside NautilusTrader (``benchmarks.engine_peers``):

    <peer-venv>/bin/python benchmarks/peers/backtesting_ema.py BARS.parquet FAST SLOW

backtesting.py is vectorised-then-looped (indicators precomputed, one Python call per bar),
so it is the fast end of the event-driven peers. One JSON line: bars, seconds, trades.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


def _ema(values, span: int):
    return pd.Series(values).ewm(span=span, adjust=False).mean().to_numpy()


class EmaCross(Strategy):
    fast = 50
    slow = 200

    def init(self) -> None:
        self.ema_fast = self.I(_ema, self.data.Close, self.fast)
        self.ema_slow = self.I(_ema, self.data.Close, self.slow)

    def next(self) -> None:
        if crossover(self.ema_fast, self.ema_slow):
            self.position.close()
            self.buy(size=1)
        elif crossover(self.ema_slow, self.ema_fast):
            self.position.close()
            self.sell(size=1)


def main(path: str, fast: int, slow: int) -> None:
    frame = pd.read_parquet(path)
    frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True).dt.tz_localize(None)
    frame = frame.rename(columns=str.capitalize)
    warnings.simplefilter("ignore")
    # One whole unit per trade: backtesting.py trades whole units (a fractional size means a
    # share of equity), and the peers are timed, not compared on P&L.
    bt = Backtest(frame, EmaCross, cash=10_000_000, commission=0.0, finalize_trades=True)
    start = time.perf_counter()
    stats = bt.run(fast=fast, slow=slow)
    seconds = time.perf_counter() - start
    print(json.dumps({"bars": len(frame), "seconds": seconds, "trades": int(stats["# Trades"])}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
