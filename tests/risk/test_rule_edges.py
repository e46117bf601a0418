"""Rules at the edges the boundary tests of test_rules.py leave out: an order of exactly the
cap, a baseline volatility of zero, an edge of exactly zero, a de-risked gross limit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_strategy_lab.risk import RiskAction, RiskLimits
from tests.risk.helpers import book, intent, market, pos
from tests.risk.test_rules import decide

D = Decimal


def test_an_order_of_exactly_the_cap_passes_every_rule() -> None:
    # 10 % of 10 000 at 100 is 10 units: the cap is reached, not exceeded, so no rule caps it
    decision = decide(intent("10"))
    assert decision.action is RiskAction.APPROVE
    assert decision.verdicts == ()
    assert decision.approved_quantity == D("10")


@pytest.mark.parametrize("base", [0.0, -0.01])
def test_a_baseline_volatility_that_is_not_positive_passes(base: float) -> None:
    # the documented rule: no ratio to judge (and no division by zero)
    assert decide(intent("1"), mkt=market(vol=0.5, base_vol=base)).action is RiskAction.APPROVE


def test_an_edge_of_exactly_zero_is_no_edge() -> None:
    # mean 0: f* = 0, so the Kelly rule refuses the new position rather than capping it at 0
    decision = decide(intent("1", returns=(0.0, 0.02)))
    assert decision.action is RiskAction.REJECT and decision.rule == "kelly_sizing"
    assert decision.reason == "Kelly fraction 0.0000 <= 0: no edge, no new position"


def test_drawdown_derisk_scales_the_gross_limit_too() -> None:
    # 15 % below the peak: k = (0.20 - 0.15) / 0.10 = 0.5. Another strategy holds 900 of
    # notional, so the de-risked gross room is 0.5 x 30 % x 8500 - 900 = 375 (3.75 units),
    # tighter than the de-risked strategy cap 0.5 x 10 % x 8500 = 425 (4.25 units)
    limits = RiskLimits(max_position_fraction=0.1, max_gross_exposure=0.3)
    other = pos("9", symbol="ETHUSDT", strategy="s2")
    portfolio = book("8500", peak="10000", day_start="8500", positions=(other,))
    decision = decide(intent("10"), portfolio, limits=limits)
    assert decision.rule == "drawdown_derisk"
    assert decision.approved_quantity == (D("0.5") * D("0.3") * 8500 - 900) / 100


@pytest.mark.parametrize("over", ["0.5", "0.99", "3"])
def test_no_room_to_add_beyond_the_limit_is_zero_not_negative(over: str) -> None:
    # room L / P = 1000 / 100 = 10 units; a position already `over` units past it may add
    # nothing (the docstring's max(0, |p'|max - |p|)), and may still sell all of it and 10 more
    from crypto_strategy_lab.risk.sizing import max_order_quantity

    position = 10 + D(over)
    assert max_order_quantity(D(1000), D(0), position, +1, D(100), D("0.01")) == 0
    assert max_order_quantity(D(1000), D(0), position, -1, D(100), D("0.01")) == position + 10
    assert max_order_quantity(D(1000), D(0), -position, -1, D(100), D("0.01")) == 0
