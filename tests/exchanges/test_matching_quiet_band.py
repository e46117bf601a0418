"""A resting order's quiet band is the bars it does not fill on; skipping them is exact."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import OrderSide, OrderType, TimeInForce
from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.exchanges import ExchangeFactory, MarketType, TradingMode
from crypto_strategy_lab.exchanges.simulated import client as simulated
from crypto_strategy_lab.exchanges.simulated.matching import Bar, match_order, quiet_band

TICK = 0.5


def _bars(rng: np.random.Generator, n: int) -> list[Bar]:
    # prices on a coarse tick, so that bars often touch an order's level exactly
    out = []
    for _ in range(n):
        o = 100 + TICK * rng.integers(-8, 9)
        c = o + TICK * rng.integers(-4, 5)
        high = max(o, c) + TICK * rng.integers(0, 3)
        low = min(o, c) - TICK * rng.integers(0, 3)
        out.append(Bar(o, high, low, c, 50.0))
    return out


def _inside(bar: Bar, band: tuple[float, float]) -> bool:
    return bar.low > band[0] and bar.high < band[1]


@pytest.mark.parametrize("order_type", list(OrderType))
@pytest.mark.parametrize("side", list(OrderSide))
def test_a_bar_is_inside_the_band_exactly_when_the_order_does_not_fill(order_type, side) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    costs = CostModel()
    inside = outside = 0
    for bar in _bars(rng, 4000):
        level = Decimal(repr(100 + TICK * int(rng.integers(-10, 11))))
        band = quiet_band(order_type, side, price=level, stop_price=level)
        quote = match_order(
            order_type, side, Decimal("0.5"), bar, costs, price=level, stop_price=level
        )
        if _inside(bar, band):
            inside += 1
            assert quote is None, (bar, level)
        elif order_type in (OrderType.STOP, OrderType.LIMIT):
            # outside the band a stop or limit fills: the band is not narrower than it must be
            outside += 1
            assert quote is not None, (bar, level)
    if order_type in (OrderType.STOP, OrderType.LIMIT):
        assert inside > 500 and outside > 500
    else:  # no band: every bar is matched
        assert inside == 0


def test_a_band_one_tick_wider_would_skip_a_fill() -> None:
    # the test above fails for a band that is wrong by a tick: here, a wider sell stop band
    costs = CostModel()
    level = Decimal(100)
    lower, upper = quiet_band(OrderType.STOP, OrderSide.SELL, stop_price=level)
    touching = Bar(100.5, 101.0, 100.0, 100.5, 50.0)  # low == stop: triggers
    assert not _inside(touching, (lower, upper))
    assert _inside(touching, (lower - TICK, upper))
    assert match_order(
        OrderType.STOP, OrderSide.SELL, Decimal(1), touching, costs, stop_price=level
    )


def _trade(skip: bool, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:  # type: ignore[type-arg]
    """A venue's fills and equity over random bars with resting exits, entries and cancels."""
    if not skip:  # every order matched on every bar, as before the band
        monkeypatch.setattr(simulated, "quiet_band", lambda *a, **k: (float("inf"), float("-inf")))
    rng = np.random.default_rng(17)
    ex = ExchangeFactory.create_exchange(
        "simulated",
        TradingMode.SIMULATED,
        cost_model=CostModel(taker_fee_bps=5.5, maker_fee_bps=2.0, slippage_bps=1.0),
        cash="100000",
    )
    t0 = datetime(2024, 1, 1, 1, tzinfo=UTC)
    out: list[tuple] = []  # type: ignore[type-arg]

    async def run() -> None:
        price = 100.0
        for i in range(3000):
            price = max(10.0, price + TICK * int(rng.integers(-2, 3)))
            high, low = (
                price + TICK * int(rng.integers(0, 3)),
                price - TICK * int(rng.integers(0, 3)),
            )
            fills = ex.on_bar("BTCUSDT", t0 + timedelta(minutes=i), {
                "open": price, "high": high, "low": low, "close": price, "volume": 50.0,
            })  # fmt: skip
            out.append(tuple((f.client_order_id, f.quantity, f.price, f.fee) for f in fills))
            out.append(((await ex.get_balance())["USDT"].total,))
            if rng.random() < 0.05:
                side = [OrderSide.BUY, OrderSide.SELL][int(rng.integers(2))]
                level = Decimal(repr(price + TICK * int(rng.integers(-6, 7))))
                kind = [OrderType.MARKET, OrderType.STOP, OrderType.LIMIT][int(rng.integers(3))]
                request = OrderRequest(
                    symbol="BTCUSDT",
                    side=side,
                    order_type=kind,
                    quantity=Decimal(int(rng.integers(1, 4))),
                    market=MarketType.LINEAR,
                    price=level if kind is OrderType.LIMIT else None,
                    stop_price=level if kind is OrderType.STOP else None,
                    reduce_only=bool(rng.random() < 0.5) and kind is not OrderType.MARKET,
                    time_in_force=TimeInForce.IOC if rng.random() < 0.1 else TimeInForce.GTC,
                    client_order_id=f"o{i}",
                )
                with contextlib.suppress(ExchangeError):
                    await ex.place_order(request)
            if rng.random() < 0.02:
                for order in await ex.get_open_orders("BTCUSDT"):
                    await ex.cancel_order(order.order_id, "BTCUSDT")
                    break

    asyncio.run(run())
    return out


def test_skipping_quiet_bars_gives_the_same_fills_and_equity(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    skipped = _trade(True, monkeypatch)
    monkeypatch.undo()
    matched = _trade(False, monkeypatch)
    assert skipped == matched
    assert sum(len(step) for step in skipped[::2]) > 100  # fills happened, of every kind


@pytest.mark.parametrize("time_in_force", [TimeInForce.IOC, TimeInForce.FOK])
def test_an_order_cancelled_when_unfilled_has_no_band(time_in_force) -> None:  # type: ignore[no-untyped-def]
    # an IOC/FOK order that does not fill changes state (cancelled): every bar is matched
    for order_type in (OrderType.STOP, OrderType.LIMIT):
        band = quiet_band(
            order_type, OrderSide.SELL, time_in_force, price=Decimal(100), stop_price=Decimal(100)
        )
        assert band == (float("inf"), float("-inf"))
    assert quiet_band(OrderType.LIMIT, OrderSide.SELL, TimeInForce.GTC, price=Decimal(100)) == (
        float("-inf"),
        100.0,
    )
