"""The simulated venue's per-bar shortcuts give what the full computation gives.

A held position's bar skips the liquidation fill when the bar's adverse extreme cannot reach
the (remembered) liquidation price, and skips funding when the bar lies inside one 8-hour
funding period. Both are checked bar by bar against the closed forms of
:mod:`crypto_strategy_lab.core.execution` evaluated from scratch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from crypto_strategy_lab.core import execution
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, OrderSide, OrderType
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.exchanges.simulated.client import SimulatedExchange

T0 = datetime(2024, 1, 1, 1, tzinfo=UTC)
FREE = CostModel(taker_fee_bps=0.0, maker_fee_bps=0.0, slippage_bps=0.0, funding_rate_8h=0.0)


def bar(o: float, h: float, lo: float, c: float) -> dict[str, float]:
    return {"open": o, "high": h, "low": lo, "close": c, "volume": 100.0}


async def holding(side: OrderSide, leverage: int, costs: CostModel) -> SimulatedExchange:
    """A venue holding 3x its cash in notional at 100 (long or short)."""
    ex = SimulatedExchange(cost_model=costs, cash="10000")
    ex.on_bar("BTCUSDT", T0, bar(100, 100, 100, 100))
    await ex.set_leverage("BTCUSDT", Decimal(leverage))
    request = OrderRequest(
        symbol="BTCUSDT",
        side=side,
        order_type=OrderType.MARKET,
        quantity=Decimal(100 * leverage),
        market=MarketType.LINEAR,
    )
    await ex.place_order(request)
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 100, 100, 100))
    return ex


def reference_liquidation(ex: SimulatedExchange, o: float, h: float, lo: float) -> float:
    """liquidation_fill of the position's liquidation price computed from scratch (-1: none)."""
    pos = ex._positions["BTCUSDT"]
    q = float(pos.quantity)
    if q == 0:
        return -1.0
    cash_net = float(ex.cash) - q * float(pos.average)
    liq = execution.liquidation_price(q, cash_net, ex.costs.maintenance_margin_rate)
    return execution.liquidation_fill(1 if q > 0 else -1, liq, o, h, lo)


@pytest.mark.parametrize("side", [OrderSide.BUY, OrderSide.SELL])
async def test_liquidation_happens_on_the_bar_and_at_the_price_of_the_closed_form(side) -> None:
    # a 3x position walks towards its liquidation price; every bar's outcome (none, or the
    # fill price) equals the closed form evaluated from scratch, and one bar does liquidate
    ex = await holding(side, 3, FREE)
    sign = 1 if side is OrderSide.BUY else -1
    rng = np.random.default_rng(11)
    price, liquidated, when = 100.0, None, T0 + timedelta(hours=1)
    for i in range(400):
        if i == 50:
            ex.cash = ex.cash - Decimal(2000)  # a new cash object moves the level: no stale cache
        step = -sign * abs(rng.normal(0.15, 0.2))
        o, c = price, price + step
        h, lo = max(o, c) + abs(rng.normal(0, 0.3)), min(o, c) - abs(rng.normal(0, 0.3))
        expected = reference_liquidation(ex, o, h, lo)
        when += timedelta(minutes=1)
        fills = ex.on_bar("BTCUSDT", when, bar(o, h, lo, c))
        if expected < 0:
            assert fills == [], f"bar {i}: liquidated though the closed form says not"
        else:
            [fill] = fills
            assert float(fill.price) == expected
            liquidated = i
            break
        price = c
    assert liquidated is not None and liquidated > 50
    assert ex._positions["BTCUSDT"].quantity == 0


@pytest.mark.parametrize("side", [OrderSide.BUY, OrderSide.SELL])
async def test_a_bar_touching_the_level_exactly_liquidates(side) -> None:
    # the skip is strict: an adverse extreme equal to the liquidation price is a touch (a stop
    # at S triggers at S)
    ex = await holding(side, 3, FREE)
    pos = ex._positions["BTCUSDT"]
    q = float(pos.quantity)
    liq = execution.liquidation_price(
        q, float(ex.cash) - q * float(pos.average), FREE.maintenance_margin_rate
    )
    o = 80.0 if side is OrderSide.BUY else 120.0
    extremes = bar(o, o, liq, o) if side is OrderSide.BUY else bar(o, liq, o, o)
    [fill] = ex.on_bar("BTCUSDT", T0 + timedelta(hours=2), extremes)
    assert float(fill.price) == liq


def _funding_path() -> list[tuple[datetime, datetime]]:
    """Bars of varied lengths: inside a period, ending exactly on an instant, opening exactly
    on one, spanning several, and a gap."""
    t = datetime(2024, 1, 1, 7, 58, tzinfo=UTC)
    spans = [1, 1, 1, 1, 60 * 8, 7, 60 * 7 + 53, 1, 1, 60 * 24, 5, 60 * 16 - 5, 30, 1]
    out = []
    for minutes in spans * 3:
        out.append((t, t + timedelta(minutes=minutes)))
        t = t + timedelta(minutes=minutes)
    return out


async def test_funding_is_paid_on_exactly_the_bars_holding_an_instant() -> None:
    costs = CostModel(taker_fee_bps=0.0, maker_fee_bps=0.0, slippage_bps=0.0)
    ex = SimulatedExchange(cost_model=costs, cash="10000")
    start = datetime(2024, 1, 1, 7, 56, tzinfo=UTC)
    ex.on_bar("BTCUSDT", start, bar(100, 100, 100, 100), close_time=start + timedelta(minutes=1))
    await ex.place_order(
        OrderRequest(
            symbol="BTCUSDT",
            side=OrderSide.SELL,
            order_type=OrderType.MARKET,
            quantity=Decimal(2),
            market=MarketType.LINEAR,
        )
    )
    ex.on_bar("BTCUSDT", start + timedelta(minutes=1), bar(100, 100, 100, 100))
    paid = 0
    for opened, closed in _funding_path():
        before = ex.cash
        ex.on_bar("BTCUSDT", opened, bar(101, 101, 101, 101), close_time=closed)
        instants = execution.funding_instants(int(opened.timestamp()), int(closed.timestamp()))
        q = float(ex._positions["BTCUSDT"].quantity)
        expected = before
        if instants > 0:
            payment = execution.funding_payment(q, 101.0, costs.funding_rate_8h * instants)
            expected = before - Decimal(repr(float(payment)))
            paid += 1
        assert ex.cash == expected, (opened, closed)
    assert paid >= 12  # the path holds instants at bar ends, multi-instant bars and gaps


async def test_repeated_reads_answer_what_a_fresh_read_computes() -> None:
    # the venue gives its last Balance / Position again while nothing they show changed:
    # after every kind of change, the answer equals (down to each field's representation) a
    # read with the remembered answers forgotten
    costs = CostModel(funding_rate_8h=0.001)
    ex = SimulatedExchange(cost_model=costs, cash="10000")
    when = datetime(2024, 1, 1, 7, 58, tzinfo=UTC)

    async def check() -> None:
        balance, positions = await ex.get_balance(), await ex.get_positions()
        ex._balance, ex._position_reads = None, {}
        fresh_balance, fresh_positions = await ex.get_balance(), await ex.get_positions()
        assert balance == fresh_balance and positions == fresh_positions
        assert repr(balance) == repr(fresh_balance) and repr(positions) == repr(fresh_positions)

    def next_bar(price: float) -> None:
        nonlocal when
        ex.on_bar("BTCUSDT", when, bar(price, price, price, price))
        when += timedelta(minutes=1)

    next_bar(100)
    await check()  # flat
    ex.cash = Decimal("10000.000")  # same value, another representation
    await check()
    await ex.place_order(
        OrderRequest(symbol="BTCUSDT", side=OrderSide.BUY, order_type=OrderType.MARKET,
                     quantity=Decimal("1.5"), market=MarketType.LINEAR)
    )  # fmt: skip
    await check()  # an order rests: margin in use
    for price in (100, 101, 101, 99.5, 99.5):  # a fill, new marks, a funding instant at 08:00
        next_bar(price)
        await check()
        await check()
    await ex.set_leverage("BTCUSDT", Decimal(2))
    await check()
    limit = OrderRequest(
        symbol="BTCUSDT", side=OrderSide.SELL, order_type=OrderType.LIMIT,
        quantity=Decimal("1.5"), price=Decimal(150), market=MarketType.LINEAR, reduce_only=True,
    )  # fmt: skip
    await ex.place_order(limit)
    await check()
