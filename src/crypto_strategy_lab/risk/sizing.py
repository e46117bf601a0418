"""Position-size arithmetic shared by the rules (exact ``Decimal`` throughout).

Every exposure limit has the same shape: the gross notional of a *group* of positions (one
strategy, the whole book, an asset class, a venue) must stay at or below ``L``. With the
order's own position ``p`` (signed, base units), the rest of the group's gross notional
``G_other``, the order's side sign ``s`` and the mark price ``P``, the largest position the
group still allows is ``|p'|_max = max(0, (L - G_other) / P)``. The largest order quantity is
then ``|p'|_max - |p|`` when the order adds to ``p`` (or ``p = 0``) and ``|p| + |p'|_max``
when it goes against ``p`` (close, then open at most ``|p'|_max`` the other way). So an order
that only reduces a position is never blocked by an exposure limit, even when the group is
already over it.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, localcontext

WORKING_DIGITS = 50


def floor_to_step(quantity: Decimal, step: Decimal) -> Decimal:
    """``quantity`` rounded down to a multiple of ``step`` (never below zero).

    Parameters
    ----------
    quantity : Decimal
        Quantity in base units.
    step : Decimal
        Lot step, > 0.

    Returns
    -------
    Decimal
        ``floor(quantity / step) * step``, or 0 for a non-positive quantity.
    """
    if quantity <= 0:
        return Decimal(0)
    with localcontext(prec=WORKING_DIGITS):
        return (quantity / step).to_integral_value(rounding=ROUND_DOWN) * step


def reducing_quantity(position: Decimal, side_sign: int) -> Decimal:
    """How much of an order on side ``side_sign`` only reduces the signed ``position``.

    Parameters
    ----------
    position : Decimal
        Signed position (long > 0).
    side_sign : int
        +1 buy, -1 sell.

    Returns
    -------
    Decimal
        ``|position|`` when the order goes against the position, else 0.
    """
    if position * side_sign < 0:
        return abs(position)
    return Decimal(0)


def max_order_quantity(
    limit_notional: Decimal,
    other_gross: Decimal,
    position: Decimal,
    side_sign: int,
    price: Decimal,
    step: Decimal,
) -> Decimal:
    """The largest order quantity that keeps a group's gross notional within its limit.

    See the module docstring for the derivation. The room ``|p'|_max`` is floored to a
    multiple of ``step``, so the result is one whenever the position ``p`` is.

    Parameters
    ----------
    limit_notional : Decimal
        The group's limit ``L`` (fraction × equity), in account currency.
    other_gross : Decimal
        ``G_other``, the gross notional of the group's other positions.
    position : Decimal
        The order's own signed position ``p``.
    side_sign : int
        +1 buy, -1 sell.
    price : Decimal
        Mark price ``P``, > 0.
    step : Decimal
        Lot step.

    Returns
    -------
    Decimal
        ``|p'|_max - |p|`` (at least 0) when the order adds to ``p``, ``|p| + |p'|_max`` when
        it goes against it, with ``|p'|_max = floor_step(max(0, (L - G_other) / P))``.
    """
    with localcontext(prec=WORKING_DIGITS):
        room = max(Decimal(0), (limit_notional - other_gross) / price)
        room = floor_to_step(room, step)
        if position * side_sign < 0:
            return abs(position) + room
        return max(Decimal(0), room - abs(position))


def drawdown_scale(equity: Decimal, peak_equity: Decimal, start: Decimal, full: Decimal) -> Decimal:
    """The de-risking multiplier ``k(d)`` of ``RiskLimits``.

    Parameters
    ----------
    equity, peak_equity : Decimal
        Current and peak equity, > 0.
    start, full : Decimal
        Drawdowns where de-risking starts and where it reaches 0.

    Returns
    -------
    Decimal
        With ``d = max(0, 1 - equity / peak_equity)``: 1 for ``d <= start``, 0 for
        ``d >= full``, else ``(full - d) / (full - start)``.
    """
    with localcontext(prec=WORKING_DIGITS):
        drawdown = max(Decimal(0), 1 - equity / peak_equity)
        if drawdown <= start:
            return Decimal(1)
        if drawdown >= full:
            return Decimal(0)
        return (full - drawdown) / (full - start)


def kelly_fraction(mean: float, variance: float) -> float:
    """The growth-optimal fraction ``f* = mu / sigma^2`` for per-period returns.

    Parameters
    ----------
    mean : float
        Mean return ``mu`` per period.
    variance : float
        Variance ``sigma^2`` of the return per period, > 0.

    Returns
    -------
    float
        ``f*`` as a fraction of equity (negative: no edge on this side).

    Raises
    ------
    ValueError
        If ``variance <= 0``.

    Notes
    -----
    The continuous-time Kelly criterion (Thorp 2006, "The Kelly criterion in blackjack,
    sports betting and the stock market", eq. 7.2): maximising ``E[log(1 + f R)]`` to second
    order gives ``f* = mu / sigma^2``. Full Kelly is notoriously aggressive under estimation
    error, so the engine uses a fraction of it (``RiskLimits.kelly_fraction``).
    """
    if variance <= 0:
        raise ValueError(f"return variance must be positive, got {variance}")
    return mean / variance
