"""Engine benchmark: replay through the full trading loop vs ``run_backtest`` on the same bars.

    python -m benchmarks engine                      # 1,000,000 bars
    CSL_BENCH_ENGINE_BARS=20000 python -m benchmarks engine

Full loop per bar: replay feed -> simulated venue ``on_bar`` (matching, resting stop-loss /
take-profit) -> strategy runner -> (on a target change) sizing, ``RiskEngine`` (every rule,
journaled decision), order manager (journal first), venue -> journal (SQLite file, WAL; equity
journaled every 1,000 bars). The signal is a slow trend rule on a seeded GBM path (a few
hundred target changes per 100k bars), precomputed like any replayed strategy. Reported:
bars/s of both, the ratio backtest/engine, and the internal latency from bar arrival (the
feed's ``received_ns``) to the order handed to the venue, p50/p99, with the simulated venue.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.engine import HistoricalReplayFeed, Sleeve, StrategyRunner, TradingEngine
from crypto_strategy_lab.exchanges import ExchangeFactory
from crypto_strategy_lab.journal import Journal


class _TrendSignal:
    """sign(close - SMA(n)): a causal signal that changes rarely (stand-in strategy)."""

    name = "trend"
    warmup = 0

    def __init__(self, window: int = 2000) -> None:
        self.window = window

    def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        sma = bars.close.rolling(self.window, min_periods=self.window).mean()
        return pd.DataFrame({"signal": np.sign(bars.close - sma).fillna(0.0)}, index=bars.index)


def _bars(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.001, n)) * close
    idx = pd.date_range("2020-01-01", periods=n, freq="1min", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(1, 10, n),
        },
        index=idx,
    )


def replay(strategy, bars: pd.DataFrame, costs: CostModel, *, equity_every: int = 1):  # type: ignore[no-untyped-def]
    """Run ``strategy`` over ``bars`` through the full trading loop with a fresh SQLite
    journal: 10 % sleeve of 10,000 on the simulated venue. Returns the run summary, the wall
    seconds of preparing and running it, and the journal's size in bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal.open(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        runner = StrategyRunner(strategy, "BTCUSDT", MarketType.LINEAR)
        venue = ExchangeFactory.create_exchange(
            "simulated", TradingMode.SIMULATED, cost_model=costs, cash=Decimal(10_000)
        )
        engine = TradingEngine(
            journal,
            [Sleeve(runner, venue, allocation=0.1, costs=costs)],
            mode=TradingMode.SIMULATED,
            capital=10_000,
            equity_every=equity_every,
        )
        start = time.perf_counter()
        runner.prepare(bars)
        summary = asyncio.run(engine.run(HistoricalReplayFeed({"BTCUSDT": bars})))
        seconds = time.perf_counter() - start
        journal_bytes = sum(p.stat().st_size for p in Path(tmp).iterdir())
        journal.engine.dispose()
    return summary, seconds, journal_bytes


def main() -> None:
    n = int(os.environ.get("CSL_BENCH_ENGINE_BARS", "1000000"))
    bars = _bars(n)
    strategy = _TrendSignal()
    costs = CostModel(funding_rate_8h=0.0)

    t0 = time.perf_counter()
    bt = run_backtest(
        strategy.compute(bars)["signal"],
        bars,
        costs=costs,
        sizing=0.1,
        market="perp",
        funding=0.0,
        stop_loss=0.02,
        take_profit=0.04,
        initial_capital=10_000,
    )
    t_bt = time.perf_counter() - t0

    summary, t_engine, _ = replay(strategy, bars, costs, equity_every=1000)

    lat = np.array(summary.latencies_ns) / 1e3
    print(
        f"bars: {n:,}; backtest trades: {len(bt.trades)}; engine orders sent: {summary.orders_sent}"
    )
    print(f"run_backtest           {t_bt:9.3f} s  {n / t_bt:14,.0f} bars/s")
    print(f"engine (full loop)     {t_engine:9.3f} s  {n / t_engine:14,.0f} bars/s")
    print(f"ratio backtest/engine speed: x{(n / t_bt) / (n / t_engine):,.0f}")
    if len(lat):
        print(
            f"bar arrival -> order sent: p50 {np.percentile(lat, 50):,.0f} us, "
            f"p99 {np.percentile(lat, 99):,.0f} us over {len(lat)} orders"
        )


if __name__ == "__main__":
    main()
