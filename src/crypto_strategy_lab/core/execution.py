"""The arithmetic of a fill, in one place: every rule of execution is one function here.

The backtest kernel (``backtest.kernel``), the engine's sizing (``engine.sleeve``), the
simulated venue's matching and accounting (``exchanges.simulated``), attribution's realised
P&L (``monitoring.attribution``), the drift report (``research.drift``) and
``Signal.to_order_request`` call these functions; none of them re-derives a fill. They are
pure functions on floats and integers, compiled with numba (``cache=True``) so the kernel
inlines them, and callable from Python as they are.

Conventions (the ones a venue imposes, so research and trading cannot disagree):

* **Side.** ``d = +1`` buys, ``d = -1`` sells; the side of a fill is the sign of the *final*
  traded quantity (:func:`target_quantity` never returns a target whose side contradicts the
  slippage it was sized with).
* **Slippage** (:func:`slippage_fraction`): an adverse fraction ``s >= 0`` of the reference
  price, ``p = ref (1 + d s)`` (:func:`fill_price`). ``fixed``: ``s = bps / 1e4``; ``range``:
  ``s = k (high - low) / open`` of the fill bar; ``volume``: ``s = bps / 1e4 + min(c |q| / V,
  s_max)`` (``s_max`` on a zero-volume bar).
* **Fees by fill kind** (:func:`fee_rate`): a signal order pays the schedule chosen for it
  (taker by default: the engine sends market orders); a stop-loss exit and an exit that
  crosses at the open (a gap) are market executions and always pay the taker fee; a
  take-profit that rests as a limit and is touched inside the bar pays the maker fee at its
  own price (no slippage) — what a resting reduce-only limit does at any venue.
* **Sizing** (:func:`target_quantity`): decided at the close of bar ``t`` from the account
  equity ``E`` and the close ``P`` (the last price known when the order is sent), reserving
  the fee: ``q* = w L E / (P (1 + d s) (1 + f))``.
* **Protection** (:func:`stop_levels`, :func:`protective_exit`): levels relative to the
  average entry price of the held position (:func:`average_entry`), as fractions of it or in
  ATR units (volatility-scaled, the ATR of the bar the fill is known at), placed once the fill
  that set that average is known (from the bar after it) and kept live across a rebalance.
  On a bar: a stop gapped through fills at the open, a touched stop at its level, a touched
  take-profit at its level; when one bar touches both the stop is assumed first.
* **Funding** (:func:`funding_instants`): Bybit's 00:00 / 08:00 / 16:00 UTC instants, counted
  in integer seconds inside each bar's own interval ``(open, open + bar]``; an instant inside
  a data gap (no bar covers it) is not charged — there is no price to value it at and no
  position was observed over it. Payment ``q P r`` (:func:`funding_payment`).
* **Margin** (:func:`liquidation_price`): Bybit linear perpetuals in cross margin with one
  position per account: initial margin ``|q| P / leverage``, maintenance margin ``m |q| P``
  (``m = 0.5 %``, Bybit's BTCUSDT/ETHUSDT first risk-limit tier); the position is liquidated
  when the mark reaches the price at which equity equals maintenance margin, at that price
  (at the open when the bar gaps through it), with the taker fee; equity never goes below
  zero (the insurance fund takes a gap's loss beyond the account).

References: Bybit v5 docs "Trading fee", "Funding rate", "Liquidation price (USDT
contracts)", "Maintenance margin" (risk-limit tiers); vectorbt ``size=np.inf`` for the fee
reserve.
"""

from __future__ import annotations

import math

import numba as nb

SLIP_FIXED = 0
SLIP_RANGE = 1
SLIP_VOLUME = 2

# kinds of fill (also the kernel's exit reasons after ``FILL_SIGNAL``)
FILL_SIGNAL = 0
FILL_STOP_LOSS = 1
FILL_TAKE_PROFIT = 2
FILL_LIQUIDATION = 4
FILL_KINDS = ("signal", "stop_loss", "take_profit", "open", "liquidation")

# how a protective exit fills (:func:`protective_exit`)
EXIT_NONE = 0
EXIT_STOP = 1  # stop-loss, market execution at min/max(open, level) with slippage, taker
EXIT_TAKE_PROFIT_GAP = 2  # take-profit crossed at the open: taker at the open with slippage
EXIT_TAKE_PROFIT_TOUCH = 3  # take-profit limit touched inside the bar: maker at its level

FUNDING_INTERVAL_SECONDS = 8 * 3_600
#: Bybit's maintenance margin rate of the first risk-limit tier of BTCUSDT and ETHUSDT.
MAINTENANCE_MARGIN_RATE = 0.005


@nb.njit(cache=True)
def slippage_fraction(
    mode, slippage_bps, range_fraction, impact, max_participation, o, h, lo, v, qty
):
    """Adverse fractional price move ``s >= 0`` of a fill of ``qty`` on bar ``(o, h, lo, v)``.

    ``qty = 0`` gives the base fraction of the volume model (used to estimate the slippage a
    target is sized with before its quantity is known).

    Parameters
    ----------
    mode : int
        ``SLIP_FIXED``, ``SLIP_RANGE`` or ``SLIP_VOLUME``.
    slippage_bps : float
        Fixed slippage (and the volume model's base), in basis points.
    range_fraction : float
        Range model: the fraction ``k`` of ``(high - low) / open``.
    impact : float
        Volume model: slippage per unit of participation ``|q| / V``.
    max_participation : float
        Volume model: cap on the impact term, also charged on a zero-volume bar.
    o, h, lo, v : float
        The fill bar's open, high, low and volume.
    qty : float
        Quantity of the fill (sign ignored).

    Returns
    -------
    float
        ``s``, a fraction of the reference price: ``bps / 1e4`` (fixed), ``k max(h - lo, 0) /
        o`` (range) or ``bps / 1e4 + min(c |q| / V, s_max)`` (volume).
    """
    base = slippage_bps / 1e4
    if mode == SLIP_FIXED:
        return base
    if mode == SLIP_RANGE:
        return range_fraction * max(h - lo, 0.0) / o
    if qty == 0.0:
        return base
    if v > 0.0:
        return base + min(impact * abs(qty) / v, max_participation)
    return base + max_participation


@nb.njit(cache=True)
def fill_price(reference, side, slip):
    """Fill price ``ref (1 + d s)``: a buy (``d = +1``) pays up, a sell receives less.

    Parameters
    ----------
    reference : float
        Reference price (the next bar's open, a stop's trigger reference...).
    side : float
        ``d``: +1 buy, -1 sell.
    slip : float
        Slippage fraction ``s >= 0`` (:func:`slippage_fraction`).

    Returns
    -------
    float
        The fill price.
    """
    return reference * (1.0 + side * slip)


@nb.njit(cache=True)
def fee_rate(kind, signal_fee, taker_fee, maker_fee, exit_how):
    """Fee fraction of a fill by its kind.

    Signal orders pay ``signal_fee`` (the chosen schedule); a stop-loss, a gapped take-profit
    and a liquidation pay the taker fee; a touched take-profit limit pays the maker fee.

    Parameters
    ----------
    kind : int
        ``FILL_SIGNAL``, ``FILL_STOP_LOSS``, ``FILL_TAKE_PROFIT`` or ``FILL_LIQUIDATION``.
    signal_fee, taker_fee, maker_fee : float
        Fee fractions of notional.
    exit_how : int
        How a protective exit filled (``EXIT_*``, :func:`protective_exit`).

    Returns
    -------
    float
        The fee as a fraction of the fill's notional.
    """
    if kind == FILL_SIGNAL:
        return signal_fee
    if kind == FILL_TAKE_PROFIT and exit_how == EXIT_TAKE_PROFIT_TOUCH:
        return maker_fee
    return taker_fee


@nb.njit(cache=True)
def target_quantity(weight, leverage, equity, price, slip, fee, held):
    """Signed target quantity for target weight ``w`` given the position ``held``.

    ``q*_d = w L E / (P (1 + d s) (1 + f))`` for the side ``d`` of the trade ``q* - held``.
    Only a target whose trade has the side it was priced with is consistent: a buy is sized
    at ``P (1 + s)``, a sell at ``P (1 - s)``. When exactly one side is consistent, its
    target is returned; when none or both are (``held`` is within the slippage band of the
    target), ``held`` is returned: no trade, so the book never trades at a price in its own
    favour. A zero weight (or ``E <= 0``) targets zero.

    Parameters
    ----------
    weight : float
        Target weight ``w``, signed, as a fraction of ``L E``.
    leverage : float
        ``L``, the position cap as a multiple of equity.
    equity : float
        Account equity ``E``.
    price : float
        The close ``P`` the order is sized at.
    slip : float
        Slippage fraction ``s`` expected on the fill.
    fee : float
        Fee fraction ``f`` reserved.
    held : float
        Signed quantity held now.

    Returns
    -------
    float
        The signed target quantity (not the trade): ``held`` when no trade is consistent,
        0.0 for a zero weight, no equity or no price.
    """
    if weight == 0.0 or equity <= 0.0 or price <= 0.0:
        return 0.0
    k = weight * leverage * equity / (price * (1.0 + fee))
    buy = k / (1.0 + slip)
    sell = k / (1.0 - slip) if slip < 1.0 else math.inf * k
    buy_ok = buy > held
    sell_ok = sell < held
    if buy_ok and not sell_ok:
        return buy
    if sell_ok and not buy_ok:
        return sell
    return held


@nb.njit(cache=True)
def average_entry(held, average, delta, price):
    """Average entry price after a fill of signed ``delta`` at ``price`` (average cost).

    Adding to a position re-averages, ``(|q| a + |dq| p) / (|q| + |dq|)``; reducing keeps the
    average (the realised P&L is :func:`realised_pnl`); a flip starts the new side at the
    fill price; a flat book has average 0.

    Parameters
    ----------
    held : float
        Signed quantity before the fill.
    average : float
        Its average entry price.
    delta : float
        Signed quantity of the fill.
    price : float
        Fill price.

    Returns
    -------
    float
        The average entry price of ``held + delta``.
    """
    new = held + delta
    if new == 0.0:
        return 0.0
    if held == 0.0 or (held > 0.0) == (delta > 0.0):
        return (abs(held) * average + abs(delta) * price) / (abs(held) + abs(delta))
    if (new > 0.0) != (held > 0.0):
        return price
    return average


@nb.njit(cache=True)
def realised_pnl(held, average, delta, price):
    """P&L realised by a fill of signed ``delta`` at ``price`` (before fees).

    Against ``held`` at average ``average``: ``closed (p - a) sgn(held)`` for the closing
    part, 0 for a fill that opens or adds.

    Parameters
    ----------
    held : float
        Signed quantity before the fill.
    average : float
        Its average entry price.
    delta : float
        Signed quantity of the fill.
    price : float
        Fill price.

    Returns
    -------
    float
        Realised P&L in quote currency, ``closed = min(|held|, |delta|)`` units closed.
    """
    if held == 0.0 or (held > 0.0) == (delta > 0.0):
        return 0.0
    closed = min(abs(held), abs(delta))
    return closed * (price - average) * (1.0 if held > 0.0 else -1.0)


@nb.njit(cache=True)
def stop_levels(direction, average, stop_loss, take_profit, unit=0.0, scaled=False):
    """Stop-loss and take-profit prices of a position entered at ``average``.

    Returns ``(stop, take_profit)`` for ``direction`` +1 (long) or -1 (short); a zero
    distance gives level 0 (disabled).

    Unscaled (the default), the distances are fractions of the entry: ``a (1 - d sl)`` and
    ``a (1 + d tp)``, the brief's 2 % / 4 %. Scaled, they are multiples of the price unit
    ``u``, ``a - d sl u`` and ``a + d tp u``: volatility-scaled stops with ``u`` the average
    true range at the entry's bar (Wilder 1978; Kaufman, *Trading Systems and Methods*,
    ch. 23). A scaled level needs ``u > 0``: a NaN unit (the ATR's warm-up) or a zero one (a
    flat history) places no level, so such a position trades unprotected rather than with an
    invented distance.

    Parameters
    ----------
    direction : float
        ``d``: +1 long, -1 short.
    average : float
        Average entry price ``a``.
    stop_loss, take_profit : float
        Distances: fractions of ``a``, or multiples of ``unit`` when ``scaled``; 0 disables
        a level.
    unit : float, default 0.0
        Price unit ``u`` of scaled distances (the entry bar's ATR); ignored when unscaled.
    scaled : bool, default False
        Whether the distances are in units of ``unit`` (volatility-scaled stops).

    Returns
    -------
    stop, take_profit : float
        The trigger prices; 0.0 for a disabled level (and both for a scaled level without a
        positive unit).
    """
    if scaled:
        if not unit > 0.0:  # NaN (warm-up) or a flat history: no measurable distance
            return 0.0, 0.0
        sl = average - direction * stop_loss * unit if stop_loss > 0.0 else 0.0
        tp = average + direction * take_profit * unit if take_profit > 0.0 else 0.0
        return sl, tp
    sl = average * (1.0 - direction * stop_loss) if stop_loss > 0.0 else 0.0
    tp = average * (1.0 + direction * take_profit) if take_profit > 0.0 else 0.0
    return sl, tp


@nb.njit(cache=True)
def stop_trigger_reference(side, stop, o, h, lo):
    """Reference price of a stop order of ``side`` on a bar, or ``-1`` when not triggered.

    A buy stop triggers when ``high >= S`` and fills from ``max(open, S)``; a sell stop when
    ``low <= S``, from ``min(open, S)`` (a gap through the stop fills at the open).

    Parameters
    ----------
    side : float
        Side of the stop order: > 0 buy, else sell.
    stop : float
        Trigger price ``S``.
    o, h, lo : float
        Open, high and low of the bar.

    Returns
    -------
    float
        The reference price slippage is applied to, or -1.0.
    """
    if side > 0:
        return max(o, stop) if h >= stop else -1.0
    return min(o, stop) if lo <= stop else -1.0


@nb.njit(cache=True)
def limit_fill(side, limit, o, h, lo, slip):
    """Fill of a resting limit order of ``side`` on a bar.

    Returns ``(price, maker)``; price ``-1`` when it does not fill.

    If the open already crosses the limit the order fills at the open as a taker (with
    slippage, never beyond its limit); otherwise it fills at its limit as a maker when the
    bar trades through it (``low <= L`` buy, ``high >= L`` sell).

    Parameters
    ----------
    side : float
        Side of the limit order: > 0 buy, else sell.
    limit : float
        Limit price ``L``.
    o, h, lo : float
        Open, high and low of the bar.
    slip : float
        Slippage fraction of a taker fill at the open.

    Returns
    -------
    price, maker : float, bool
        Fill price (-1.0 when unfilled) and whether it filled as a maker.
    """
    if side * (limit - o) >= 0.0:
        px = fill_price(o, side, slip)
        return (min(px, limit) if side > 0 else max(px, limit)), False
    if (lo <= limit) if side > 0 else (h >= limit):
        return limit, True
    return -1.0, False


@nb.njit(cache=True)
def protective_exit(direction, sl_level, tp_level, o, h, lo, slip):
    """The protective exit of a position on a bar, as ``(how, price)``.

    For a position of ``direction`` protected at ``sl_level`` / ``tp_level``; ``how`` is one
    of ``EXIT_*``.

    The stop is a reduce-only stop-market order (:func:`stop_trigger_reference` plus
    slippage), the take-profit a reduce-only limit (:func:`limit_fill`); when one bar reaches
    both, the stop is assumed to fill first (the conservative reading of an OHLC bar).
    A level of 0 is disabled.

    Parameters
    ----------
    direction : float
        The position: +1 long, -1 short.
    sl_level, tp_level : float
        Stop-loss and take-profit trigger prices (0 disables).
    o, h, lo : float
        Open, high and low of the bar.
    slip : float
        Slippage fraction of a market execution.

    Returns
    -------
    how, price : int, float
        ``EXIT_STOP``, ``EXIT_TAKE_PROFIT_GAP`` or ``EXIT_TAKE_PROFIT_TOUCH`` with the fill
        price, or ``(EXIT_NONE, 0.0)``.
    """
    exit_side = -direction
    if sl_level > 0.0:
        ref = stop_trigger_reference(exit_side, sl_level, o, h, lo)
        if ref > 0.0:
            return EXIT_STOP, fill_price(ref, exit_side, slip)
    if tp_level > 0.0:
        px, maker = limit_fill(exit_side, tp_level, o, h, lo, slip)
        if px > 0.0:
            return (EXIT_TAKE_PROFIT_TOUCH if maker else EXIT_TAKE_PROFIT_GAP), px
    return EXIT_NONE, 0.0


@nb.njit(cache=True)
def funding_instants(open_s, close_s):
    """Number of funding instants in the bar interval ``(open_s, close_s]``.

    Instants are the multiples of 8 h since the epoch, in integer seconds.

    Parameters
    ----------
    open_s, close_s : int
        Bar open and close times, integer seconds since the epoch.

    Returns
    -------
    int
        ``close_s // 8h - open_s // 8h``.
    """
    step = FUNDING_INTERVAL_SECONDS
    return close_s // step - open_s // step


@nb.njit(cache=True)
def funding_payment(quantity, price, rate):
    """Cash a position of signed ``quantity`` pays at a funding instant.

    ``q P r``; negative means received.

    Parameters
    ----------
    quantity : float
        Signed position (long > 0).
    price : float
        Mark price.
    rate : float
        Funding rate of the instant (longs pay when positive).

    Returns
    -------
    float
        Cash paid.
    """
    return quantity * price * rate


@nb.njit(cache=True)
def liquidation_price(quantity, cash_net, maintenance_rate):
    """Mark price at which equity falls to the maintenance margin, or 0 when none exists.

    ``cash_net`` is equity minus the position's value at the mark (``E - q P``; the kernel's
    cash). Equity ``cash_net + q P`` equals maintenance margin ``m |q| P`` at
    ``P = -cash_net / (q - m |q|)``; a long with ``cash_net >= 0`` (no borrowing) or a
    non-positive solution cannot be liquidated.

    Parameters
    ----------
    quantity : float
        Signed position ``q``.
    cash_net : float
        ``E - q P``, equity less the position's value.
    maintenance_rate : float
        Maintenance margin rate ``m``.

    Returns
    -------
    float
        The liquidation price, or 0.0 when none exists.
    """
    if quantity == 0.0:
        return 0.0
    denom = quantity - maintenance_rate * abs(quantity)
    if denom == 0.0:
        return 0.0
    price = -cash_net / denom
    return price if price > 0.0 else 0.0


@nb.njit(cache=True)
def liquidation_fill(direction, liq_price, o, h, lo):
    """Price at which a position of ``direction`` is liquidated on a bar, or ``-1``.

    At the open when the bar gaps through the liquidation price.

    Parameters
    ----------
    direction : float
        The position: +1 long, -1 short.
    liq_price : float
        Liquidation price (<= 0: none).
    o, h, lo : float
        Open, high and low of the bar.

    Returns
    -------
    float
        The liquidation fill price, or -1.0.
    """
    if liq_price <= 0.0:
        return -1.0
    return stop_trigger_reference(-direction, liq_price, o, h, lo)
