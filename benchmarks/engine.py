"""Engine benchmark: replay through the full trading loop vs ``run_backtest`` on the same bars.

    python -m benchmarks engine                      # 1,000,000 bars
    CSL_BENCH_ENGINE_BARS=20000 python -m benchmarks engine

Full loop per bar: replay feed -> simulated venue ``on_bar`` (matching, resting stop-loss /
take-profit) -> strategy runner -> (on a target change) sizing, ``RiskEngine`` (every rule,
journaled decision), order manager (journal first), venue -> journal (SQLite file, WAL,
``synchronous=NORMAL`` as ``csl paper`` replays; equity journaled every 1,000 bars; the writes
of 0.5 s of bars in one transaction, the simulated venue's orders with them -- a venue outside
the process would get each order committed before it is sent). The signal is a slow trend
rule on a seeded GBM path (a few hundred target changes per 100k bars), precomputed like any
replayed strategy.

Reported, best and median of ``CSL_BENCH_ENGINE_REPEAT`` (default 3) interleaved runs with the
1-minute load average: bars/s of both and the ratio backtest/engine; the journal's size per
bar and per order (SQLite file after a WAL checkpoint); ``csl audit verify`` on that journal
in events/s (goal: 100,000); the internal latency from bar arrival (the feed's
``received_ns``) to the order handed to the venue, p50/p99, with the simulated venue.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable
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
from crypto_strategy_lab.risk import ProtectiveStops


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


def replay(  # type: ignore[no-untyped-def]
    strategy,
    bars: pd.DataFrame,
    costs: CostModel,
    *,
    equity_every: int = 1,
    inspect: Callable[[Journal], None] | None = None,
    stops: ProtectiveStops | None = None,
):
    """Run ``strategy`` over ``bars`` through the full trading loop with a fresh SQLite
    journal: 10 % sleeve of 10,000 on the simulated venue, with the sleeve's protective exits
    ``stops`` (``None``: the risk limits' 2 % / 4 % stop-loss / take-profit). Returns the run
    summary, the wall seconds of preparing and running it, and the journal's size in bytes
    (after a WAL checkpoint); ``inspect`` is called with the journal before it is deleted."""
    with tempfile.TemporaryDirectory() as tmp:
        # opened as `csl paper` opens a replay's journal (cli/trading_cmd.py): WAL with
        # synchronous=NORMAL, durable across a kill -9 (journal/README.md "Durability")
        journal = Journal.open(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", synchronous="NORMAL")
        runner = StrategyRunner(strategy, "BTCUSDT", MarketType.LINEAR)
        venue = ExchangeFactory.create_exchange(
            "simulated", TradingMode.SIMULATED, cost_model=costs, cash=Decimal(10_000)
        )
        engine = TradingEngine(
            journal,
            [Sleeve(runner, venue, allocation=0.1, costs=costs, stops=stops)],
            mode=TradingMode.SIMULATED,
            capital=10_000,
            equity_every=equity_every,
        )
        start = time.perf_counter()
        runner.prepare(bars)
        gc.freeze()  # as `csl paper` does before its run (cli/trading_cmd.py _run_built)
        try:
            summary = asyncio.run(engine.run(HistoricalReplayFeed({"BTCUSDT": bars})))
        finally:
            gc.unfreeze()
        seconds = time.perf_counter() - start
        # unfreeze gave the whole pre-run heap (modules, bars, signals) back to the oldest
        # generation: its next full collection (~0.2 s) would land in whatever is timed next
        # (audit verify of this journal), so it is run here, outside every timer
        gc.collect()
        with journal.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        journal_bytes = sum(p.stat().st_size for p in Path(tmp).iterdir())
        if inspect is not None:
            inspect(journal)
        journal.engine.dispose()
    return summary, seconds, journal_bytes


def warm_up(strategy, bars: pd.DataFrame, costs: CostModel) -> None:  # type: ignore[no-untyped-def]
    """One short untimed replay: loads the compiled (numba-cached) kernels and the modules the
    loop imports on first use, one-time costs of a process that a peer pays before its timer
    starts (NautilusTrader's compiled modules load at import)."""
    replay(strategy, bars.iloc[:3000], costs)


def _best_median(values: list[float]) -> str:
    return f"best {max(values):14,.0f}  median {statistics.median(values):14,.0f}"


def main() -> None:
    n = int(os.environ.get("CSL_BENCH_ENGINE_BARS", "1000000"))
    repeat = int(os.environ.get("CSL_BENCH_ENGINE_REPEAT", "3"))
    bars = _bars(n)
    strategy = _TrendSignal()
    costs = CostModel(funding_rate_8h=0.0)

    def backtest():  # type: ignore[no-untyped-def]
        return run_backtest(
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

    verified: list[tuple[int, float]] = []

    def verify(journal: Journal) -> None:
        start = time.perf_counter()
        report = journal.verify()
        assert report.ok, report.problems[:3]
        verified.append((report.n_events, time.perf_counter() - start))

    bt = backtest()  # untimed: numba compilation
    warm_up(strategy, bars, costs)
    bt_rates, engine_rates, ratios = [], [], []
    for _ in range(repeat):  # interleaved, so both see the same load
        start = time.perf_counter()
        bt = backtest()
        bt_rate = n / (time.perf_counter() - start)
        summary, t_engine, journal_bytes = replay(
            strategy, bars, costs, equity_every=1000, inspect=verify
        )
        bt_rates.append(bt_rate)
        engine_rates.append(n / t_engine)
        ratios.append(bt_rate / (n / t_engine))
    load = os.getloadavg()

    lat = np.array(summary.latencies_ns) / 1e3
    orders = summary.orders_sent
    print(f"bars: {n:,}; backtest trades: {len(bt.trades)}; engine orders sent: {orders}")
    print(f"runs: {repeat} interleaved; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"run_backtest        bars/s  {_best_median(bt_rates)}")
    print(f"engine (full loop)  bars/s  {_best_median(engine_rates)}")
    print(
        f"ratio backtest/engine speed: best x{min(ratios):,.0f}, "
        f"median x{statistics.median(ratios):,.0f}"
    )
    print(
        f"journal: {journal_bytes:,} bytes = {journal_bytes / n:,.0f} per bar, "
        f"{journal_bytes / max(orders, 1):,.0f} per order"
    )
    rates = [events / seconds for events, seconds in verified]
    print(
        f"audit verify ({verified[-1][0]:,} events) events/s  {_best_median(rates)}  "
        f"(goal 100,000: best x{max(rates) / 100_000:.2f})"
    )
    if len(lat):
        print(
            f"bar arrival -> order sent: p50 {np.percentile(lat, 50):,.0f} us, "
            f"p99 {np.percentile(lat, 99):,.0f} us over {len(lat)} orders"
        )


if __name__ == "__main__":
    main()
