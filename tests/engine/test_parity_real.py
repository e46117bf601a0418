"""Parity on real data: the engine's replay (simulated venue, journal, risk engine) and
``run_backtest`` on the same bars and settings give the same fills — time, side, price,
quantity, fee — and the same equity curve (funding included) within 1e-6 of capital.

Every strategy decides on the full history of its data source up to the bar (the one
definition of the history a decision sees): the signal is computed once on all bars before
the traded window's end and both sides trade that window. Real files come from
``../shared/data`` (skipped when absent). The risk limits never bind here (the risk rules
have their own tests); a 3x leveraged perpetual, beyond the risk engine's per-strategy cap,
runs through the simulated venue driven the way the engine drives it.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.strategies import get_strategy, list_strategies
from tests.engine.parity import CAPITAL, TOL, compare, run_both, shared_bars
from tests.engine.venue_driver import drive

BTC_1H = "btcusd_cdd_1h_20180515_20220301.parquet"
ETH_5M = "ethusdt_binance_spot_5m_20201201_20210717.parquet"
SPY_1D = "spy_daily_19991101_20200828.parquet"


def _window(bars: pd.DataFrame, end: str, days: float) -> np.ndarray:
    end_ts = pd.Timestamp(end, tz="UTC")
    return (bars.index > end_ts - pd.Timedelta(days=days)) & (bars.index <= end_ts)


def _strategy_window(file: str, name: str, end: str, days: float):  # type: ignore[no-untyped-def]
    full = shared_bars(file)
    full = full[full.index <= pd.Timestamp(end, tz="UTC")]
    signal = get_strategy(name).compute(full)["signal"].astype(float)
    inside = _window(full, end, days)
    return full[inside], signal[inside]


def test_btc_1h_three_days_one_strategy(journal) -> None:  # type: ignore[no-untyped-def]
    bars, signal = _strategy_window(BTC_1H, "volatility_clustering", "2021-12-31 23:00", 3)
    p = run_both(journal, signal, bars, timeframe=pd.Timedelta("1h"))
    assert compare(p)["fills"] > 10


@pytest.mark.slow
@pytest.mark.parametrize("name", list_strategies())
def test_btc_1h_30_days_every_strategy_with_stops(journal, name: str) -> None:  # type: ignore[no-untyped-def]
    bars, signal = _strategy_window(BTC_1H, name, "2021-12-31 23:00", 30)
    costs = CostModel(funding_rate_8h=0.0003)
    p = run_both(journal, signal, bars, costs=costs, timeframe=pd.Timedelta("1h"))
    compare(p)


@pytest.mark.slow
@pytest.mark.parametrize("name", list_strategies())
def test_btc_1h_30_days_every_strategy_with_atr_stops(journal, name: str) -> None:  # type: ignore[no-untyped-def]
    """The study's ``atr`` policy (2 / 4 ATR(14)) as the sleeve's protective exits."""
    bars, signal = _strategy_window(BTC_1H, name, "2021-12-31 23:00", 30)
    costs = CostModel(funding_rate_8h=0.0003)
    p = run_both(
        journal, signal, bars, costs=costs, stop_loss=2.0, take_profit=4.0, stop_unit="atr",
        timeframe=pd.Timedelta("1h"),
    )  # fmt: skip
    compare(p)


@pytest.mark.slow
def test_eth_5m_across_the_2021_04_25_maintenance_gap(journal) -> None:  # type: ignore[no-untyped-def]
    bars, signal = _strategy_window(ETH_5M, "volatility_clustering", "2021-04-26 12:00", 2)
    # the gap 04:00 -> 08:45 holds the 08:00 funding instant: neither side charges it
    assert (pd.Series(bars.index).diff() > pd.Timedelta("4h")).any()
    costs = CostModel(funding_rate_8h=0.002)  # large: one instant more would show
    p = run_both(journal, signal, bars, costs=costs, timeframe=pd.Timedelta("5min"))
    stats = compare(p)
    assert stats["fills"] > 10
    held = p.backtest.positions.abs().sum() > 0
    assert held and p.backtest.trades["funding"].abs().sum() > 100 * TOL


@pytest.mark.slow
def test_spy_daily_as_a_long_only_stock(journal) -> None:  # type: ignore[no-untyped-def]
    full = shared_bars(SPY_1D)
    full = full[full.index <= pd.Timestamp("2019-12-31", tz="UTC")]
    close = full["close"]
    # a trend rule with partial sizes: long-only, so the short half is clipped to flat
    signal = np.clip(np.sign(close - close.rolling(50).mean()).fillna(0.0), -0.5, 1.0)
    inside = _window(full, "2019-12-31", 2 * 365)
    bars, signal = full[inside], signal[inside].astype(float)
    p = run_both(
        journal,
        signal,
        bars,
        market=MarketType.STOCK,
        allocation=1.0,
        costs=CostModel(taker_fee_bps=1.0, maker_fee_bps=0.5, slippage_bps=1.0),
        timeframe=pd.Timedelta("1D"),
    )
    assert compare(p)["fills"] > 5
    assert (p.backtest.positions >= 0).all()


@pytest.mark.slow
def test_3x_perp_through_12_march_2020_is_liquidated_alike() -> None:
    full = shared_bars(BTC_1H)
    inside = (full.index >= pd.Timestamp("2020-03-01", tz="UTC")) & (
        full.index < pd.Timestamp("2020-03-20", tz="UTC")
    )
    bars = full[inside]
    weights = np.ones(len(bars))  # a 3x long from the first bar, no stops
    costs = CostModel()
    kw = {"allocation": 3.0, "costs": costs, "stop_loss": None, "take_profit": None}
    venue = asyncio.run(drive(bars, weights, account_leverage=5.0, **kw))
    bt = run_backtest(
        pd.Series(weights, index=bars.index),
        bars,
        costs=costs,
        sizing=3.0,
        market="perp",
        stop_loss=None,
        take_profit=None,
        initial_capital=CAPITAL,
    )
    assert bt.trades["exit_reason"].tolist() == ["liquidation"]
    assert bt.trades["exit_time"].iloc[0].date() == pd.Timestamp("2020-03-12").date()
    assert (bt.equity >= 0).all() and bt.equity.iloc[-1] < 0.05 * CAPITAL
    ours, theirs = venue.fills, bt.fills.reset_index(drop=True)
    np.testing.assert_array_equal(ours["time"].to_numpy(), theirs["time"].to_numpy())
    np.testing.assert_array_equal(ours["side"].to_numpy(), theirs["side"].to_numpy())
    np.testing.assert_allclose(ours["price"], theirs["price"], rtol=1e-7)
    np.testing.assert_allclose(ours["quantity"], theirs["quantity"], atol=1e-7)
    np.testing.assert_allclose(ours["fee"], theirs["fee"], atol=TOL)
    assert np.abs(venue.equity.to_numpy() - bt.equity.to_numpy()).max() < TOL
