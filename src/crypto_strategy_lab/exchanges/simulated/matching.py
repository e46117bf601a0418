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

Fees: ``|q| p`` times the taker or maker rate. Every price rule is a function of
:mod:`crypto_strategy_lab.core.execution`, the backtest kernel's too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from crypto_strategy_lab.core import execution
from crypto_strategy_lab.core.costs import SLIP_CODES, CostModel
from crypto_strategy_lab.core.enums import OrderSide, OrderType, TimeInForce


class Bar(NamedTuple):
    """One OHLCV bar (floats, as stored in the OHLCV frames).

    A named tuple: the simulated venue builds one per bar it is fed.
    """

    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class FillQuote:
    """Price, fee and liquidity side of one simulated fill."""

    price: Decimal
    fee: Decimal
    maker: bool


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def slippage_of(costs: CostModel, bar: Bar, quantity: float) -> float:
    """The cost model's adverse fraction for a fill of ``quantity`` on ``bar``.

    :func:`~crypto_strategy_lab.core.execution.slippage_fraction` of the bar.

    Parameters
    ----------
    costs : CostModel
        The cost model.
    bar : Bar
        The fill bar.
    quantity : float
        Quantity of the fill.

    Returns
    -------
    float
        ``s >= 0``, a fraction of the reference price.
    """
    return float(
        execution.slippage_fraction(
            SLIP_CODES[costs.slippage],
            costs.slippage_bps,
            costs.range_fraction,
            costs.impact_coefficient,
            costs.max_participation_slippage,
            bar.open,
            bar.high,
            bar.low,
            bar.volume,
            quantity,
        )
    )


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
    """The fill of one order on ``bar``, or ``None`` when it does not fill on this bar.

    Parameters
    ----------
    order_type : OrderType
        ``MARKET`` fills at the open; ``STOP`` at its trigger reference; ``LIMIT`` and a
        triggered ``STOP_LIMIT`` as resting limits
        (:func:`~crypto_strategy_lab.core.execution.limit_fill`).
    side : OrderSide
        Buy or sell.
    quantity : Decimal
        Order quantity.
    bar : Bar
        The bar.
    costs : CostModel
        Slippage and fees.
    price, stop_price : Decimal, optional
        Limit and trigger prices, as the order type requires.

    Returns
    -------
    FillQuote or None
        Price (with slippage for taker fills), fee and whether it filled as a maker.
    """
    d = side.sign
    # The slippage (pure, and the costliest part) is computed only for an order that fills on
    # the bar: a resting exit is matched against every bar of its position.
    reference = bar.open
    if order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
        assert stop_price is not None
        reference = execution.stop_trigger_reference(
            d, float(stop_price), bar.open, bar.high, bar.low
        )
        if reference < 0:
            return None
        if order_type is OrderType.STOP:
            slip = slippage_of(costs, bar, float(quantity))
            return _quote(execution.fill_price(reference, d, slip), quantity, costs, maker=False)
    if order_type is OrderType.MARKET:
        slip = slippage_of(costs, bar, float(quantity))
        return _quote(execution.fill_price(reference, d, slip), quantity, costs, maker=False)
    assert price is not None
    limit = float(price)
    if d * (limit - reference) < 0.0 and (bar.low > limit if d > 0 else bar.high < limit):
        # limit_fill's "no fill" (neither crossed at the reference nor traded through), which
        # does not depend on the slippage
        return None
    slip = slippage_of(costs, bar, float(quantity))
    # a triggered stop-limit behaves as a limit from its trigger price on
    fill, maker = execution.limit_fill(d, limit, reference, bar.high, bar.low, slip)
    if fill < 0:
        return None
    return _quote(fill, quantity, costs, maker=maker)


def quiet_band(
    order_type: OrderType,
    side: OrderSide,
    time_in_force: TimeInForce = TimeInForce.GTC,
    *,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
) -> tuple[float, float]:
    """The bars on which a resting order cannot fill: ``low > lower`` and ``high < upper``.

    A resting exit is matched against every bar of its position and nearly always rests on:
    a bar inside its band is known not to fill it without pricing it.

    Parameters
    ----------
    order_type : OrderType
        ``STOP`` and ``LIMIT`` have a band; any other type (a market order fills at the
        open, a stop-limit changes state when its stop is reached) has none.
    side : OrderSide
        Buy or sell.
    time_in_force : TimeInForce, default GTC
        ``IOC`` and ``FOK`` orders have no band: one that does not fill is cancelled, a
        change of state.
    price, stop_price : Decimal, optional
        The limit and trigger prices, as the order type requires.

    Returns
    -------
    tuple of (float, float)
        ``(lower, upper)``. A sell stop ``S`` triggers only on ``low <= S`` (a gap open
        below it has ``low <= open <= S``): ``(S, inf)``; a buy stop: ``(-inf, S)``; a sell
        limit ``L`` fills only when the open or the high reaches it (``open <= high``):
        ``(-inf, L)``; a buy limit: ``(L, inf)``. No band: ``(inf, -inf)``, which no bar is
        inside.

    Notes
    -----
    The band is exactly where :func:`match_order` returns ``None`` for these types
    (``tests/exchanges/test_matching_quiet_band.py`` checks it on random bars and orders, and
    that a band one tick wider is wrong).
    """
    inf = float("inf")
    if time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        return (inf, -inf)
    if order_type is OrderType.STOP and stop_price is not None:
        level = float(stop_price)
        return (level, inf) if side is OrderSide.SELL else (-inf, level)
    if order_type is OrderType.LIMIT and price is not None:
        level = float(price)
        return (-inf, level) if side is OrderSide.SELL else (level, inf)
    return (inf, -inf)


def _quote(price: float, quantity: Decimal, costs: CostModel, *, maker: bool) -> FillQuote:
    fill = _dec(price)
    fee = _dec(float(quantity * fill) * costs.fee_rate(maker=maker))
    return FillQuote(price=fill, fee=fee, maker=maker)
