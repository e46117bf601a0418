"""A levered short is liquidated where equity meets maintenance margin, as a long is."""

from __future__ import annotations

import pandas as pd
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core.costs import CostModel


@pytest.mark.parametrize(("scale", "capital"), [(1.0, 1000.0), (3.0, 100.0)])
def test_leveraged_short_is_liquidated_at_the_liquidation_price(
    scale: float, capital: float
) -> None:
    # 3x short of E at P0 = 100 * scale, no costs: |q| = 3 E / P0 (30 units, or exactly 1) and
    # cash net of the position E + |q| P0. Equity E + |q| (P0 - P) meets the maintenance
    # margin 0.005 |q| P at P_liq = (E + |q| P0) / (|q| * 1.005), inside bar 3
    idx = pd.date_range("2024-01-01", periods=5, freq="1h", tz="UTC", name="timestamp")
    rows = [
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (110.0, 121.0, 109.0, 120.0),
        (125.0, 140.0, 124.0, 138.0),
        (138.0, 139.0, 137.0, 138.0),
    ]
    bars = scale * pd.DataFrame(rows, index=idx, columns=["open", "high", "low", "close"])
    bars["volume"] = 1e6
    costs = CostModel(taker_fee_bps=0, maker_fee_bps=0, slippage_bps=0, funding_rate_8h=0.0)
    res = run_backtest(
        pd.Series(-1.0, index=idx),
        bars,
        costs=costs,
        market="perp",
        sizing=3.0,
        stop_loss=None,
        take_profit=None,
        initial_capital=capital,
    )
    p0 = 100.0 * scale
    units = 3 * capital / p0
    p_liq = (capital + units * p0) / (units * 1.005)
    assert bars["open"].iloc[3] < p_liq < bars["high"].iloc[3]
    assert res.trades["exit_reason"].tolist() == ["liquidation"]
    assert res.trades["exit_price"].iloc[0] == pytest.approx(p_liq, rel=1e-12)
    assert res.positions.tolist() == pytest.approx([0.0, -units, -units, 0.0, 0.0])
    assert res.equity.iloc[3] == pytest.approx(0.005 * units * p_liq, rel=1e-9)
