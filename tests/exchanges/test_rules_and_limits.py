"""Lot/tick rounding and the token-bucket bound, on a virtual clock (no timing assertions)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from crypto_strategy_lab.core.errors import InvalidOrder
from crypto_strategy_lab.exchanges import OrderRequest, OrderSide, OrderType
from crypto_strategy_lab.exchanges.rate_limit import BYBIT_LIMITS, RateLimiter, bucket_for_window
from crypto_strategy_lab.exchanges.rules import MarketRules, apply_rules

RULES = MarketRules(
    symbol="X",
    qty_step=Decimal("0.001"),
    tick_size=Decimal("0.5"),
    min_qty=Decimal("0.002"),
    min_notional=Decimal("5"),
)


def request(**fields) -> OrderRequest:
    base = {
        "symbol": "X",
        "side": OrderSide.BUY,
        "order_type": OrderType.LIMIT,
        "quantity": Decimal("1.2345"),
        "price": Decimal("100.74"),
    }
    base.update(fields)
    return OrderRequest(**base)


def test_rounding_never_adds_size_or_aggression() -> None:
    buy = apply_rules(request(stop_loss=Decimal("90.3")), RULES)
    assert buy.quantity == Decimal("1.234") and buy.price == Decimal("100.5")
    assert buy.stop_loss == Decimal("90.5")  # triggers: nearest tick
    sell = apply_rules(request(side=OrderSide.SELL), RULES)
    assert sell.price == Decimal("101.0")


def test_minimums_are_enforced() -> None:
    with pytest.raises(InvalidOrder, match="below the minimum"):
        apply_rules(request(quantity=Decimal("0.0019")), RULES)
    with pytest.raises(InvalidOrder, match="order value"):
        apply_rules(request(quantity=Decimal("0.04")), RULES)  # 0.04 x 100.5 < 5
    market = request(order_type=OrderType.MARKET, price=None, quantity=Decimal("0.04"))
    assert apply_rules(market, RULES).quantity == Decimal("0.04")  # no reference price
    with pytest.raises(InvalidOrder, match="order value"):
        apply_rules(market, RULES, reference_price=Decimal("100"))


class VirtualClock:
    """Simulated time for the bucket: sleeping advances the clock at once."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


@pytest.mark.parametrize(("limit", "window"), [(10, 1.0), (20, 1.0), (200, 60.0)])
async def test_bucket_never_exceeds_the_rolling_window_limit(limit, window) -> None:
    clock = VirtualClock()
    bucket = bucket_for_window(limit, window, clock=clock.monotonic, sleep=clock.sleep)
    stamps = []
    for _ in range(5 * limit):
        await bucket.acquire()
        stamps.append(clock.now)
    # the most requests in any window of length `window + jitter` starting at a request
    worst = max(sum(1 for t in stamps if s <= t < s + window + 0.1) for s in stamps)
    assert worst <= limit
    assert worst >= limit // 2  # and the bucket is not needlessly slow


def test_limiter_uses_the_published_bybit_numbers() -> None:
    limiter = RateLimiter(BYBIT_LIMITS)
    linear, spot = limiter.bucket("order", "linear"), limiter.bucket("order", "spot")
    assert linear.capacity + linear.rate * 1.1 == pytest.approx(10)
    assert spot.capacity + spot.rate * 1.1 == pytest.approx(20)
    with pytest.raises(KeyError):
        limiter.bucket("unknown")
