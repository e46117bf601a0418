"""Fill prices of a simulated venue on one bar, priced by the shared :class:`CostModel`.

An order that is live when bar ``t`` opens is matched against that bar's OHLC (orders placed
after bar ``t-1`` closed therefore fill on bar ``t`` at the earliest: no look-ahead, the same
"decide on the close, fill on the next open" convention as the backtest).

For a side sign ``d`` (+1 buy, -1 sell) and the cost model's adverse fraction ``s``
(:meth:`CostModel.slippage_fraction` on the fill bar):

* market: ``open * (1 + d s)``, taker fee;
* limit ``L``: if the open already crosses (``d (L - open) >= 0``) it fills at the open as a
  taker (a resting order would have been hit at the first print); otherwise it fills at ``L``
  as a maker when the bar trades through it (``low <= L`` for a buy, ``high >= L`` for a sell),
  with no slippage (the price is the order's own);
* stop ``S``: triggers when the bar reaches it (``high >= S`` buy, ``low <= S`` sell) and fills
  at ``max(open, S)`` (buy) / ``min(open, S)`` (sell) with slippage, taker fee; a gap through
  the stop fills at the open;
* stop-limit: the stop triggers, then the limit rule applies from the trigger price on.

Fees: ``CostModel.fee(notional, maker=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import OrderSide, OrderType


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar (floats, as stored in the OHLCV frames)."""

    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class FillQuote:
    price: Decimal
    fee: Decimal
    maker: bool


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def match_order(
    order_type: OrderType,
    side: OrderSide,
    quantity: Decimal,
    bar: Bar,
    costs: CostModel,
    *,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> FillQuote | None:
    """The fill of one order on ``bar``, or ``None`` when it does not fill on this bar."""
    d = side.sign
    slip = float(costs.slippage_fraction(bar.open, bar.high, bar.low, bar.volume, float(quantity)))
    reference = bar.open
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        assert stop_price is not None
        stop = float(stop_price)
        if not (bar.high >= stop if d > 0 else bar.low <= stop):
            return None
        reference = max(bar.open, stop) if d > 0 else min(bar.open, stop)
        if order_type is OrderType.STOP:
            return _quote(costs.fill_price(reference, d, slip), quantity, costs, maker=False)
    if order_type is OrderType.MARKET:
        return _quote(costs.fill_price(reference, d, slip), quantity, costs, maker=False)
    assert price is not None
    limit = float(price)
    if d * (limit - reference) >= 0:  # the first print already crosses the limit
        fill = (
            min(float(costs.fill_price(reference, d, slip)), limit)
            if d > 0
            else max(float(costs.fill_price(reference, d, slip)), limit)
        )
        return _quote(fill, quantity, costs, maker=False)
    if (bar.low <= limit) if d > 0 else (bar.high >= limit):
        return _quote(limit, quantity, costs, maker=True)
    return None


def _quote(price: object, quantity: Decimal, costs: CostModel, *, maker: bool) -> FillQuote:
    fill = _dec(float(price))  # type: ignore[arg-type]
    fee = _dec(float(costs.fee(float(quantity * fill), maker=maker)))
    return FillQuote(price=fill, fee=fee, maker=maker)
