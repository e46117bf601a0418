"""The one cost model: each formula checked against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from crypto_strategy_lab.core import CostModel, SlippageModel


def test_fee_is_bps_of_absolute_notional():
    costs = CostModel(taker_fee_bps=10, maker_fee_bps=2)
    np.testing.assert_allclose(costs.fee([1000.0, -1000.0]), [1.0, 1.0])
    assert costs.fee(1000.0, maker=True) == pytest.approx(0.2)


def test_fixed_slippage_and_fill_price_direction():
    costs = CostModel(slippage=SlippageModel.FIXED, slippage_bps=5)
    s = costs.slippage_fraction(100.0, 101.0, 99.0, 10.0)
    assert float(s) == pytest.approx(5e-4)
    assert float(costs.fill_price(100.0, +1, s)) == pytest.approx(100.05)
    assert float(costs.fill_price(100.0, -1, s)) == pytest.approx(99.95)


def test_range_slippage_scales_with_bar_range():
    costs = CostModel(slippage=SlippageModel.RANGE, range_fraction=0.1)
    s = costs.slippage_fraction(
        np.array([100.0, 200.0]),
        np.array([102.0, 202.0]),
        np.array([98.0, 201.0]),
        np.array([1.0, 1.0]),
    )
    np.testing.assert_allclose(s, [0.1 * 4 / 100, 0.1 * 1 / 200])


def test_volume_slippage_is_linear_in_participation_and_capped():
    costs = CostModel(
        slippage=SlippageModel.VOLUME,
        slippage_bps=1,
        impact_coefficient=0.2,
        max_participation_slippage=0.01,
    )
    s = costs.slippage_fraction(
        np.full(4, 100.0),
        101.0,
        99.0,
        np.array([1000.0, 1000.0, 0.0, 1000.0]),
        np.array([10.0, 1000.0, 1.0, 0.0]),
    )
    # 1bp + 0.2 * 1% ; capped at 1% ; zero volume -> cap ; zero quantity -> base only
    np.testing.assert_allclose(s, [1e-4 + 0.002, 1e-4 + 0.01, 1e-4 + 0.01, 1e-4])


def test_funding_longs_pay_when_rate_positive():
    costs = CostModel(funding_rate_8h=0.0001)
    assert float(costs.funding_payment(10_000.0)) == pytest.approx(1.0)
    assert float(costs.funding_payment(-10_000.0)) == pytest.approx(-1.0)
    assert float(costs.funding_payment(10_000.0, rate=-0.0002)) == pytest.approx(-2.0)


def test_bad_cost_config_is_rejected():
    with pytest.raises(ValidationError, match="taker_fee_bps"):
        CostModel(taker_fee_bps=-1)
    with pytest.raises(ValidationError):
        CostModel(slippage="bogus")
