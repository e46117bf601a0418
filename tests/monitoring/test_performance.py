"""Drawdown, today's P&L, rolling Sharpe, strategy P&L curves, drift and limit usage,
checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.monitoring.performance import (
    drift_against,
    pnl_today,
    rolling_sharpe,
    strategy_pnl_curves,
)
from crypto_strategy_lab.monitoring.risk_usage import effective_limits, exposure_caps, limit_usage
from crypto_strategy_lab.performance.metrics import infer_periods_per_year


def hourly(values, start="2024-03-01 20:00") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="h", tz="UTC"))


def test_pnl_today_uses_equity_at_midnight_utc() -> None:
    equity = hourly([100.0, 101.0, 102.0, 103.0, 104.0, 98.0])  # 20:00 .. 01:00 next day
    today = pnl_today(equity)
    assert today.day_start_equity == 104.0  # the 00:00 point
    assert today.pnl == pytest.approx(-6.0)
    assert today.loss_fraction == pytest.approx(6.0 / 104.0)
    started_today = pnl_today(hourly([50.0, 55.0], start="2024-03-02 03:00"))
    assert started_today.day_start_equity == 50.0 and started_today.loss_fraction == 0.0


def test_periods_per_year_and_rolling_sharpe(rng) -> None:
    r = hourly(rng.normal(0.001, 0.01, 300))
    ppy = infer_periods_per_year(r.index)
    assert ppy == pytest.approx(365 * 24)
    rs = rolling_sharpe(r, 50, ppy)
    window = r.iloc[-50:]
    assert rs.iloc[-1] == pytest.approx(np.sqrt(ppy) * window.mean() / window.std(ddof=1))
    assert rs.iloc[:49].isna().all()
    assert np.isnan(rolling_sharpe(hourly([0.01] * 10), 5, ppy).iloc[-1])  # zero volatility


def test_strategy_pnl_curves_mark_to_market_by_hand() -> None:
    ts = pd.date_range("2024-01-01", periods=4, freq="h", tz="UTC")
    fills = pd.DataFrame(
        {
            "ts": [ts[0], ts[2]],
            "strategy": ["a", "a"],
            "venue": ["bybit", "bybit"],
            "symbol": ["BTC", "BTC"],
            "side": ["BUY", "SELL"],
            "quantity": [1.0, 1.0],
            "price": [100.0, 110.0],
            "fee": [0.5, 0.5],
        }
    )
    prices = pd.DataFrame({"ts": ts, "symbol": "BTC", "price": [101.0, 105.0, 111.0, 90.0]})
    curves = strategy_pnl_curves(fills, prices)
    # t0: -0.5 fee + (101-100); t1: -0.5 + 5; t2: closed at 110: 10 - 1 fees; t3: flat
    np.testing.assert_allclose(curves["a"], [0.5, 4.5, 9.0, 9.0])


def test_drift_against_reference() -> None:
    live = hourly([100.0, 101.0, 102.0, 101.0])
    ref = hourly([100.0, 102.0, 104.0, 106.0, 108.0])
    drift = drift_against(live, ref, periods=8766)
    assert drift.final_gap == pytest.approx(0.01 - 0.06)
    diff = live.pct_change().dropna() - ref.iloc[:4].pct_change().dropna()
    assert drift.tracking_error == pytest.approx(np.sqrt(8766) * diff.std(ddof=1))
    assert drift_against(live.iloc[:2], ref, 8766) is None


def test_effective_limits_and_usage() -> None:
    config = {"risk": {"daily_loss_limit": 0.03, "max_venue_exposure": {"bybit": 0.2}}}
    limits = effective_limits(config)
    assert limits["daily_loss"] == 0.03 and limits["portfolio_heat"] == 0.5
    equity = pd.DataFrame(
        {"equity": [1000.0, 1100.0, 990.0], "gross_exposure": [0.0, 100.0, 150.0]},
        index=pd.date_range("2024-03-01 23:00", periods=3, freq="h", tz="UTC"),
    )
    positions = pd.DataFrame(
        {
            "strategy": ["a", "a", "b"],
            "venue": ["bybit", "bybit", "alpaca"],
            "market": ["linear", "linear", "stock"],
            "quantity": [1.0, -0.5, 2.0],
            "average_price": [50.0, 40.0, 25.0],
            "mark_price": [49.0, 42.0, 25.0],
        }
    )
    usage = limit_usage(equity, positions, limits, exposure_caps(config)).set_index("key")
    assert usage.loc["position_cap", "used"] == pytest.approx((49 + 21) / 990)
    assert usage.loc["portfolio_heat", "used"] == pytest.approx(150 / 990)
    assert usage.loc["daily_loss", "used"] == pytest.approx(110 / 1100)  # 00:00 equity 1100
    assert usage.loc["drawdown_derisk", "used"] == pytest.approx(1 - 990 / 1100)
    assert usage.loc["stop_loss", "used"] == pytest.approx(0.05)  # the short: 42/40 - 1
    assert usage.loc["venue:bybit", "used"] == pytest.approx(70 / 990)
    assert usage.loc["daily_loss", "used_fraction_of_limit"] == pytest.approx((110 / 1100) / 0.03)


def test_position_levels_prefer_resting_orders_then_attached_brackets() -> None:
    from crypto_strategy_lab.monitoring.dashboard.views.positions import positions_with_levels

    ts = pd.Timestamp("2024-01-01", tz="UTC")
    positions = pd.DataFrame(
        {
            "ts": [ts] * 3,
            "strategy": ["a", "b", "c"],
            "venue": ["bybit"] * 3,
            "symbol": ["BTC", "ETH", "SOL"],
            "quantity": [1.0, -2.0, 3.0],
            "average_price": [100.0, 50.0, 10.0],
            "mark_price": [101.0, 50.0, 10.0],
            "unrealized_pnl": [1.0, 0.0, 0.0],
        }
    )

    def order(strategy, symbol, order_type, status, reduce_only, **kw):
        base = {"created_at": ts, "strategy": strategy, "venue": "bybit", "symbol": symbol}
        base |= {"order_type": order_type, "status": status, "reduce_only": reduce_only}
        return (
            base | {"price": None, "stop_price": None, "stop_loss": None, "take_profit": None} | kw
        )

    orders = pd.DataFrame(
        [
            order("a", "BTC", "MARKET", "filled", False, stop_loss=97.0, take_profit=105.0),
            order("a", "BTC", "STOP", "submitted", True, stop_price=98.0),
            order("a", "BTC", "LIMIT", "submitted", True, price=104.0),
            order("a", "BTC", "STOP", "cancelled", True, stop_price=90.0),
            order("b", "ETH", "MARKET", "filled", False, stop_loss=51.0, take_profit=48.0),
        ]
    ).astype({"price": float, "stop_price": float, "stop_loss": float, "take_profit": float})
    out = positions_with_levels(positions, orders).set_index("strategy")
    assert (out.loc["a", "stop_loss"], out.loc["a", "take_profit"]) == (98.0, 104.0)
    assert out.loc["a", "levels_from"] == "resting orders"
    assert out.loc["a", "to_stop_%"] == pytest.approx(100 * (98 / 101 - 1))
    assert (out.loc["b", "stop_loss"], out.loc["b", "levels_from"]) == (51.0, "order brackets")
    assert np.isnan(out.loc["c", "stop_loss"]) and out.loc["c", "levels_from"] == "none"
