"""match_order computes the slippage only for a fill: same quotes as pricing every order."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from crypto_strategy_lab.core import execution
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import OrderSide, OrderType
from crypto_strategy_lab.exchanges.simulated.matching import Bar, _quote, match_order, slippage_of


def eager(order_type, side, quantity, bar, costs, price, stop_price):  # type: ignore[no-untyped-def]
    """The quote with the slippage computed first, whatever the order (the closed forms)."""
    d = side.sign
    slip = slippage_of(costs, bar, float(quantity))
    reference = bar.open
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        reference = execution.stop_trigger_reference(
            d, float(stop_price), bar.open, bar.high, bar.low
        )
        if reference < 0:
            return None
        if order_type is OrderType.STOP:
            return _quote(execution.fill_price(reference, d, slip), quantity, costs, maker=False)
    if order_type is OrderType.MARKET:
        return _quote(execution.fill_price(reference, d, slip), quantity, costs, maker=False)
    fill, maker = execution.limit_fill(d, float(price), reference, bar.high, bar.low, slip)
    if fill < 0:
        return None
    return _quote(fill, quantity, costs, maker=maker)


@pytest.mark.parametrize("slippage", ["fixed", "range", "volume"])
def test_every_order_type_quotes_as_when_the_slippage_is_computed_first(slippage) -> None:
    costs = CostModel(slippage=slippage)
    rng = np.random.default_rng(5)
    fills = misses = 0
    for _ in range(3000):
        o = 100 + rng.normal(0, 2)
        c = o + rng.normal(0, 2)
        bar = Bar(o, max(o, c) + abs(rng.normal(0, 1)), min(o, c) - abs(rng.normal(0, 1)), c, 50.0)
        # prices on, inside and outside the bar, exactly at its extremes too
        level = rng.choice([bar.high, bar.low, bar.open, 100 + rng.normal(0, 3)])
        price = Decimal(repr(float(level)))
        stop = Decimal(repr(float(rng.choice([bar.high, bar.low, 100 + rng.normal(0, 3)]))))
        side = [OrderSide.BUY, OrderSide.SELL][rng.integers(2)]
        order_type = list(OrderType)[rng.integers(len(OrderType))]
        quantity = Decimal("0.5")
        got = match_order(order_type, side, quantity, bar, costs, price=price, stop_price=stop)
        assert got == eager(order_type, side, quantity, bar, costs, price, stop)
        fills += got is not None
        misses += got is None
    assert fills > 500 and misses > 200
