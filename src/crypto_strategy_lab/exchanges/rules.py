"""Lot size, tick size and minimums: rounding an order to what the venue accepts.

Rounding rules (chosen so that rounding never adds risk or aggression):

* quantity is rounded **down** to the lot step (never buys more than asked);
* a limit price is rounded **down** for a buy and **up** for a sell (never pays more than
  the price asked for);
* trigger prices (stop, stop-loss, take-profit) are rounded to the **nearest** tick.

After rounding, an order below the minimum quantity or the minimum notional is rejected
with :class:`~crypto_strategy_lab.core.errors.InvalidOrder` before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from crypto_strategy_lab.core.enums import OrderSide
from crypto_strategy_lab.core.errors import InvalidOrder
from crypto_strategy_lab.core.orders import OrderRequest


@dataclass(frozen=True)
class MarketRules:
    """Trading rules of one instrument on one venue.

    ``qty_step`` and ``tick_size`` are the increments; ``min_qty`` and ``min_notional``
    (quantity x price) the smallest acceptable order; ``max_qty`` the largest (``None``:
    no limit known).
    """

    symbol: str
    qty_step: Decimal
    tick_size: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal(0)
    max_qty: Decimal | None = None
    base: str = ""
    quote: str = ""


def round_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """``value`` rounded to a multiple of ``step``.

    Parameters
    ----------
    value : Decimal
        A quantity or price.
    step : Decimal
        The increment; a non-positive step leaves `value` unchanged.
    rounding : str
        A :mod:`decimal` rounding mode (``ROUND_FLOOR``, ``ROUND_CEILING``,
        ``ROUND_HALF_EVEN``...).

    Returns
    -------
    Decimal
        ``round(value / step) * step``, quantized to the step's exponent.
    """
    if step <= 0:
        return value
    units = (value / step).to_integral_value(rounding=rounding)
    return (units * step).quantize(step) if step.as_tuple().exponent < 0 else units * step


def apply_rules(
    request: OrderRequest,
    rules: MarketRules,
    reference_price: Decimal | None = None,
    venue: str | None = None,
) -> OrderRequest:
    """``request`` rounded to ``rules``; raises ``InvalidOrder`` when it falls below a minimum.

    ``reference_price`` (e.g. the last trade) values market orders for the notional check;
    without it a market order is checked against ``min_qty`` only.

    Parameters
    ----------
    request : OrderRequest
        The order.
    rules : MarketRules
        The instrument's rules.
    reference_price : Decimal, optional
        Price valuing an order without a limit or stop price.
    venue : str, optional
        For the error's venue.

    Returns
    -------
    OrderRequest
        Quantity rounded down to ``qty_step``; a limit price to the tick in the order's
        favour (buys down, sells up); stop, stop-loss and take-profit prices to the nearest
        tick. `request` itself when nothing changes.

    Raises
    ------
    InvalidOrder
        If the rounded quantity is 0, below ``min_qty`` or above ``max_qty``, or the value
        is below ``min_notional``.
    """
    qty = round_to_step(request.quantity, rules.qty_step, ROUND_FLOOR)
    if qty <= 0 or qty < rules.min_qty:
        raise InvalidOrder(
            f"{request.symbol}: quantity {request.quantity} rounds to {qty}, below the minimum "
            f"{rules.min_qty} (lot step {rules.qty_step})",
            venue=venue,
        )
    if rules.max_qty is not None and qty > rules.max_qty:
        raise InvalidOrder(
            f"{request.symbol}: quantity {qty} above the venue maximum {rules.max_qty}",
            venue=venue,
        )
    limit_rounding = ROUND_FLOOR if request.side is OrderSide.BUY else ROUND_CEILING
    changes: dict[str, Decimal | None] = {"quantity": qty}
    if request.price is not None:
        changes["price"] = round_to_step(request.price, rules.tick_size, limit_rounding)
    for name in ("stop_price", "stop_loss", "take_profit"):
        value = getattr(request, name)
        if value is not None:
            changes[name] = round_to_step(value, rules.tick_size, ROUND_HALF_EVEN)
    price = changes.get("price") or changes.get("stop_price") or reference_price
    if price is not None and rules.min_notional > 0 and qty * price < rules.min_notional:
        raise InvalidOrder(
            f"{request.symbol}: order value {qty * price} below the venue minimum "
            f"{rules.min_notional} {rules.quote}".rstrip(),
            venue=venue,
        )
    if all(getattr(request, k) == v for k, v in changes.items()):
        return request
    return request.with_quantities(**changes)
