"""Replay parity on the bundled bars: the engine + simulated venue reproduce ``run_backtest``
fill by fill — time, side, price, quantity, fee — and the equity curve within 1e-6 of capital
(``tests/engine/parity.py``), without stops, with stops and take-profits (exits on rebalance
bars included), and with a funding rate large enough to dominate fees. The real-data suite
(``test_parity_real.py``) runs the same comparison on ``../shared/data``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.strategies import get_strategy
from tests.engine.parity import compare, run_both

STEP = pd.Timedelta("15min")


@pytest.mark.parametrize(
    "name", [pytest.param("lag_autocorr", marks=pytest.mark.slow), "drift_significance"]
)
def test_replay_matches_backtest_without_stops(journal, btc_bars, name: str) -> None:  # type: ignore[no-untyped-def]
    bars = btc_bars.iloc[-1500:]
    signal = get_strategy(name).compute(btc_bars)["signal"].reindex(bars.index).astype(float)
    costs = CostModel(funding_rate_8h=0.0)
    p = run_both(
        journal, signal, bars, costs=costs, stop_loss=None, take_profit=None, timeframe=STEP
    )
    assert compare(p)["fills"] > 10  # the strategy really trades on this window


@pytest.mark.slow
def test_replay_with_stops_matches_fill_by_fill(journal, btc_bars) -> None:  # type: ignore[no-untyped-def]
    bars = btc_bars.iloc[-1500:]
    # a slow trend rule with partial sizes holds positions long enough that stops are hit,
    # also on bars where the target changes (the exits rest across the rebalance)
    trend = np.sign(bars.close - bars.close.rolling(96, min_periods=1).mean())
    size = np.where(bars.close > bars.close.rolling(24, min_periods=1).mean(), 1.0, 0.5)
    signal = (trend * size).astype(float)
    p = run_both(journal, signal, bars, stop_loss=0.01, take_profit=0.02, timeframe=STEP)
    stats = compare(p)
    kinds = p.backtest_fills["kind"].value_counts()
    assert kinds.get("stop_loss", 0) + kinds.get("take_profit", 0) >= 3, kinds
    assert stats["fills"] > 20


def test_replay_matches_backtest_with_funding(journal, btc_bars) -> None:  # type: ignore[no-untyped-def]
    """Non-zero funding: same instants, same position, same price, same bar of the equity."""
    bars = btc_bars.iloc[-600:]
    # always in the market, flipping side now and then, so every funding instant pays
    signal = pd.Series(
        np.where(bars.close > bars.close.rolling(48, min_periods=1).mean(), 1.0, -1.0),
        index=bars.index,
    )
    costs = CostModel(funding_rate_8h=0.003, taker_fee_bps=0.0, slippage_bps=0.0)
    p = run_both(
        journal, signal, bars, costs=costs, stop_loss=None, take_profit=None, timeframe=STEP
    )
    # one bar early or late would move equity by about q P r = 15 USDT at a funding bar
    assert p.backtest.trades["funding"].abs().sum() > 100
    compare(p)


def test_replay_with_atr_stops_matches_fill_by_fill(journal, btc_bars) -> None:  # type: ignore[no-untyped-def]
    """Volatility-scaled exits (``stop_unit="atr"``): the sleeve's ``ProtectiveStops`` in ATR
    units place the levels ``run_backtest`` places, from the ATR the runner measures on the
    bars it has seen, fill by fill."""
    bars = btc_bars.iloc[-1500:]
    trend = np.sign(bars.close - bars.close.rolling(96, min_periods=1).mean())
    size = np.where(bars.close > bars.close.rolling(24, min_periods=1).mean(), 1.0, 0.5)
    signal = (trend * size).astype(float)
    p = run_both(
        journal,
        signal,
        bars,
        stop_loss=2.0,
        take_profit=4.0,
        stop_unit="atr",
        atr_period=14,
        timeframe=STEP,
    )
    stats = compare(p)
    kinds = p.backtest_fills["kind"].value_counts()
    assert kinds.get("stop_loss", 0) >= 3 and kinds.get("take_profit", 0) >= 1, kinds
    assert stats["fills"] > 20
