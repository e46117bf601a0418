"""The numba-compiled simulation loop: target weights -> fills -> cash, position, equity.

One function, :func:`simulate`, holds the whole bar loop; :func:`simulate_many` runs it over
the columns of a signal matrix in parallel (``numba.prange``). Python code never loops over
bars. The pure-Python twin used by the tests is the hand-computed case in
``tests/backtest/test_hand_computed.py`` (every number written out) and vectorbt.

Per bar ``t`` (fill model ``next_open``; ``next_close`` moves step 1 to the close, after 2):

1. **Open**: the order decided at the close of ``t-1`` fills at ``open[t]`` moved adversely by
   the slippage fraction ``s`` (:meth:`CostModel.slippage_fraction`, mirrored here).
2. **Stops** on a position held: if the open is already through the stop-loss (take-profit)
   level, exit at the open (gap); otherwise if ``low`` (``high`` for a long's take-profit)
   touches a level, exit at the level. When one bar touches both levels the **stop-loss is
   assumed to fill first** (the conservative reading of an OHLC bar, whose path is unknown).
   Levels are relative to the position's average entry price. Exits pay slippage and the
   taker fee.
3. **Close**: funding due within the bar is paid on the position at the close
   (``cash -= q * close * rate``); equity is marked at the close.
4. **Decision**: if the target weight ``w[t]`` differs from ``w[t-1]`` an order to move to
   ``w[t]`` is queued for the next fill time. An unchanged signal never trades: equity drift
   does not trigger rebalancing, and after a stop exit the book stays flat until the signal
   changes.

Sizing: the target quantity is ``q* = w * L * E / (p * (1 + f))`` where ``E = cash + q * ref``
is equity at the reference price, ``p`` the fill price, ``f`` the fee rate and ``L`` the
leverage (``sizing``). The ``1 + f`` reserves the fee, so a full long on spot spends exactly
the cash (vectorbt's ``size=inf`` convention) and never borrows.
"""

from __future__ import annotations

import numba as nb
import numpy as np

SLIP_FIXED = 0
SLIP_RANGE = 1
SLIP_VOLUME = 2

EXIT_SIGNAL = 0
EXIT_STOP_LOSS = 1
EXIT_TAKE_PROFIT = 2
EXIT_OPEN = 3
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "open")

# indices into the float64 ``params`` vector handed to the kernel
P_FEE = 0
P_SLIP_BPS = 1
P_RANGE_FRACTION = 2
P_IMPACT = 3
P_MAX_PARTICIPATION = 4
P_STOP_LOSS = 5
P_TAKE_PROFIT = 6
P_LEVERAGE = 7
P_INITIAL_CASH = 8
N_PARAMS = 9


@nb.njit(cache=True, inline="always")
def _slippage(mode, params, o, h, lo, v, qty):
    """Adverse fractional move ``s``; mirrors ``CostModel.slippage_fraction``."""
    base = params[P_SLIP_BPS] / 1e4
    if mode == SLIP_FIXED:
        return base
    if mode == SLIP_RANGE:
        return params[P_RANGE_FRACTION] * max(h - lo, 0.0) / o
    if qty == 0.0:
        return base
    if v > 0.0:
        impact = params[P_IMPACT] * abs(qty) / v
        return base + min(impact, params[P_MAX_PARTICIPATION])
    return base + params[P_MAX_PARTICIPATION]


@nb.njit(cache=True, inline="always")
def _close_trade(
    rec_int,
    rec_float,
    i,
    entry_idx,
    exit_idx,
    direction,
    reason,
    max_qty,
    entry_qty,
    entry_notional,
    exit_qty,
    exit_notional,
    fees,
    fund,
):
    """Close trade number ``i`` and return ``i + 1``, the trade count.

    The trade is written to row ``i`` of the records when they have rows (net P&L =
    direction * (exit - entry notional) - fees - funding); the sweep passes empty records and
    only counts.
    """
    if rec_int.shape[0] > 0:
        rec_int[i, 0] = entry_idx
        rec_int[i, 1] = exit_idx
        rec_int[i, 2] = direction
        rec_int[i, 3] = reason
        rec_float[i, 0] = max_qty
        rec_float[i, 1] = entry_notional / entry_qty
        rec_float[i, 2] = exit_notional / exit_qty
        rec_float[i, 3] = fees
        rec_float[i, 4] = fund
        rec_float[i, 5] = direction * (exit_notional - entry_notional) - fees - fund
        rec_float[i, 6] = entry_notional
    return i + 1


@nb.njit(cache=True)
def simulate(  # noqa: C901 - one compiled pass over the bars: splitting it would cost the inlining
    open_,
    high,
    low,
    close,
    volume,
    target,
    funding,
    params,
    slip_mode,
    fill_at_close,
    equity_out,
    qty_out,
    rec_int,
    rec_float,
):
    """Simulate one target-weight series; fill ``equity_out``/``qty_out``; return #trades.

    ``rec_int`` (shape ``(m, 4)``: entry index, exit index, direction, exit reason) and
    ``rec_float`` (``(m, 7)``: max |quantity|, entry VWAP, exit VWAP, fees, funding, net P&L,
    entry notional) receive the closed trades when ``m > 0``; with ``m == 0`` nothing is
    recorded (the parameter sweep) but trades are still counted.
    """
    n = close.shape[0]
    fee = params[P_FEE]
    sl = params[P_STOP_LOSS]
    tp = params[P_TAKE_PROFIT]
    lev = params[P_LEVERAGE]

    cash = params[P_INITIAL_CASH]
    q = 0.0
    n_trades = 0
    # open trade
    entry_idx = -1
    direction = 0
    entry_qty = 0.0
    entry_notional = 0.0
    exit_qty = 0.0
    exit_notional = 0.0
    fees = 0.0
    fund = 0.0
    max_qty = 0.0

    prev_w = 0.0
    pending = False
    pending_w = 0.0

    for t in range(n + 1):
        # a final pass (t == n) only closes the books
        if t == n:
            if direction != 0:
                n_trades = _close_trade(
                    rec_int,
                    rec_float,
                    n_trades,
                    entry_idx,
                    n - 1,
                    direction,
                    EXIT_OPEN,
                    max_qty,
                    entry_qty,
                    entry_notional,
                    entry_qty,
                    exit_notional + abs(q) * close[n - 1],
                    fees,
                    fund,
                )
            break

        o = open_[t]
        h = high[t]
        lo = low[t]
        c = close[t]
        v = volume[t]
        carried = q != 0.0  # position held from the previous bar

        # fast path: no order to fill and no stop to watch -> only funding and the mark
        active = pending or (q != 0.0 and (sl > 0.0 or tp > 0.0))
        # the bar's events in time order: step 0 fills orders at the open, step 1 checks a
        # carried position's stops for a gap at the open, step 2 checks the stops on the
        # intrabar path, step 3 fills orders at the close
        for step in range(4 if active else 0):
            if step == 1 or step == 2:
                if q == 0.0 or direction == 0 or (step == 1 and not carried):
                    continue
                # the price path this step covers: the open alone, then the bar's range
                path_lo = o if step == 1 else lo
                path_hi = o if step == 1 else h
                avg = entry_notional / entry_qty
                if direction > 0:
                    sl_lvl = avg * (1.0 - sl)
                    tp_lvl = avg * (1.0 + tp)
                    hit_sl = sl > 0.0 and path_lo <= sl_lvl
                    hit_tp = tp > 0.0 and path_hi >= tp_lvl
                else:
                    sl_lvl = avg * (1.0 + sl)
                    tp_lvl = avg * (1.0 - tp)
                    hit_sl = sl > 0.0 and path_hi >= sl_lvl
                    hit_tp = tp > 0.0 and path_lo <= tp_lvl
                if hit_sl or hit_tp:
                    # a gap fills the resting stop at the open, a touch at the level
                    ref = o if step == 1 else (sl_lvl if hit_sl else tp_lvl)
                    s = _slippage(slip_mode, params, o, h, lo, v, q)
                    px = ref * (1.0 - direction * s)
                    f = abs(q) * px * fee
                    cash += q * px - f
                    fees += f
                    exit_qty += abs(q)
                    exit_notional += abs(q) * px
                    n_trades = _close_trade(
                        rec_int,
                        rec_float,
                        n_trades,
                        entry_idx,
                        t,
                        direction,
                        EXIT_STOP_LOSS if hit_sl else EXIT_TAKE_PROFIT,
                        max_qty,
                        entry_qty,
                        entry_notional,
                        exit_qty,
                        exit_notional,
                        fees,
                        fund,
                    )
                    q = 0.0
                    direction = 0
                continue

            if pending and (step == 3) == fill_at_close:
                pending = False
                ref = o if step == 0 else c
                equity = cash + q * ref
                if equity <= 0.0:
                    pending_w = 0.0
                want_ref = pending_w * lev * equity / ref if equity > 0.0 else 0.0
                delta_ref = want_ref - q
                if delta_ref != 0.0:
                    side = 1.0 if delta_ref > 0.0 else -1.0
                    s = _slippage(slip_mode, params, o, h, lo, v, delta_ref)
                    px = ref * (1.0 + side * s)
                    want = pending_w * lev * equity / (px * (1.0 + fee))
                    if pending_w == 0.0:
                        want = 0.0
                    delta = want - q
                    if delta != 0.0:
                        f_total = abs(delta) * px * fee
                        cash -= delta * px + f_total
                        # split the fill into a closing part and an opening part
                        closing = 0.0
                        if q != 0.0 and (delta > 0.0) != (q > 0.0):
                            closing = min(abs(delta), abs(q))
                        opening = abs(delta) - closing
                        if closing > 0.0:
                            f_close = f_total * closing / abs(delta)
                            fees += f_close
                            exit_qty += closing
                            exit_notional += closing * px
                            if closing >= abs(q) * (1.0 - 1e-12):
                                n_trades = _close_trade(
                                    rec_int,
                                    rec_float,
                                    n_trades,
                                    entry_idx,
                                    t,
                                    direction,
                                    EXIT_SIGNAL,
                                    max_qty,
                                    entry_qty,
                                    entry_notional,
                                    exit_qty,
                                    exit_notional,
                                    fees,
                                    fund,
                                )
                                direction = 0
                        if opening > 0.0:
                            f_open = f_total * opening / abs(delta)
                            if direction == 0:
                                entry_idx = t
                                direction = 1 if delta > 0.0 else -1
                                entry_qty = 0.0
                                entry_notional = 0.0
                                exit_qty = 0.0
                                exit_notional = 0.0
                                fees = 0.0
                                fund = 0.0
                                max_qty = 0.0
                            fees += f_open
                            entry_qty += opening
                            entry_notional += opening * px
                        q = want
                        if direction == 0:
                            q = 0.0
                        max_qty = max(max_qty, abs(q))

        # close: funding on the position held at the close, then mark to market
        if q != 0.0 and funding[t] != 0.0:
            pay = q * c * funding[t]
            cash -= pay
            fund += pay
        equity_out[t] = cash + q * c
        qty_out[t] = q

        w = target[t]
        if w != prev_w:
            pending = True
            pending_w = w
            prev_w = w
    return n_trades


@nb.njit(cache=True, parallel=True)
def simulate_many(
    open_, high, low, close, volume, targets, funding, params, slip_mode, fill_at_close, keep
):
    """Run :func:`simulate` on every column of ``targets`` (``(T, K)``) in parallel.

    Returns ``(summary, equity)``: ``summary[k]`` = (final equity, #trades, per-period mean
    return, per-period std of returns (ddof=1), max drawdown as a positive fraction,
    fraction of bars with a position); ``equity`` is ``(T, K)`` if ``keep`` else ``(0, K)``.
    """
    n, k = targets.shape
    summary = np.empty((k, 6))
    equity_keep = np.empty((n if keep else 0, k))
    no_int = np.empty((0, 4), dtype=np.int64)
    no_float = np.empty((0, 7))
    init = params[P_INITIAL_CASH]
    for j in nb.prange(k):
        eq = np.empty(n)
        qty = np.empty(n)
        col = np.empty(n)
        for t in range(n):
            col[t] = targets[t, j]
        n_tr = simulate(
            open_,
            high,
            low,
            close,
            volume,
            col,
            funding,
            params,
            slip_mode,
            fill_at_close,
            eq,
            qty,
            no_int,
            no_float,
        )
        prev = init
        peak = init
        mdd = 0.0
        s1 = 0.0
        s2 = 0.0
        exposed = 0
        for t in range(n):
            e = eq[t]
            if e != prev:  # flat bars (most of a sparse strategy's) need no division
                r = e / prev - 1.0 if prev > 0.0 else 0.0
                s1 += r
                s2 += r * r
                prev = e
            if e > peak:
                peak = e
            elif e < peak * (1.0 - mdd):
                mdd = 1.0 - e / peak if peak > 0.0 else 1.0
            if qty[t] != 0.0:
                exposed += 1
            if keep:
                equity_keep[t, j] = eq[t]
        mean = s1 / n
        var = (s2 - n * mean * mean) / (n - 1) if n > 1 else 0.0
        summary[j, 0] = eq[n - 1]
        summary[j, 1] = n_tr
        summary[j, 2] = mean
        summary[j, 3] = np.sqrt(max(var, 0.0))
        summary[j, 4] = mdd
        summary[j, 5] = exposed / n
    return summary, equity_keep
