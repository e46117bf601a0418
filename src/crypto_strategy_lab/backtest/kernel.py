"""The numba-compiled simulation loop: target weights -> fills -> cash, position, equity.

One function, :func:`simulate`, holds the whole bar loop; :func:`simulate_many` runs it over
the columns of a signal matrix in parallel (``numba.prange``). Python code never loops over
bars. Every price, fee, size, level and funding amount comes from
:mod:`crypto_strategy_lab.core.execution`, the functions the simulated venue and the engine
call too, so a backtest models exactly what the trading engine does at a venue.

Per bar ``t`` (fill model ``next_open``; ``next_close`` moves step 1 to the close, after 3):

1. **Open**: the market order decided at the close of ``t-1`` (a quantity) fills at
   ``open[t]`` moved adversely by the slippage of the traded quantity, paying the signal
   fee schedule.
2. **Protection** of a position whose stop-loss / take-profit rest at the venue (placed at
   the close of the bar that filled the entry, so from the bar after it; kept across a
   rebalance in the same direction — the resting exits cover the whole position; a flip or a
   close cancels them): a stop gapped through fills at the open, a touched stop at its level
   (taker, slippage); a take-profit limit crossed at the open fills there (taker, slippage),
   a touched one at its level (maker, no slippage); a bar reaching both fills the stop first.
   Levels are relative to the position's average entry price (average cost ledger), in
   fractions of it or in ATR units (``stop_unit``: the ATR of the bar the fill is known at).
3. **Liquidation** (perpetuals, ``P_MAINTENANCE > 0``): when the path reaches the price at
   which equity equals maintenance margin, the position closes there (at the open on a gap)
   with the taker fee; equity is floored at zero.
4. **Close**: funding due within the bar is paid on the position at the close
   (``cash -= q * close * rate``); equity is marked at the close; after a fill the resting
   exits are (re)placed from the new average entry.
5. **Decision**: if the target weight ``w[t]`` differs from ``w[t-1]`` the target quantity is
   sized at the close (:func:`~crypto_strategy_lab.core.execution.target_quantity`, equity
   and price known then) and the order for the difference is queued for the next fill time.
   An unchanged signal never trades: equity drift does not trigger rebalancing, and after a
   stop exit the book stays flat until the signal changes.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from crypto_strategy_lab.core.execution import (
    EXIT_NONE,
    EXIT_STOP,
    EXIT_TAKE_PROFIT_GAP,
    EXIT_TAKE_PROFIT_TOUCH,
    FILL_KINDS,
    FILL_LIQUIDATION,
    FILL_SIGNAL,
    FILL_STOP_LOSS,
    FILL_TAKE_PROFIT,
    SLIP_FIXED,
    SLIP_RANGE,
    SLIP_VOLUME,
    average_entry,
    fee_rate,
    fill_price,
    funding_payment,
    liquidation_fill,
    liquidation_price,
    protective_exit,
    slippage_fraction,
    stop_levels,
    target_quantity,
)

__all__ = [
    "SLIP_FIXED",
    "SLIP_RANGE",
    "SLIP_VOLUME",
    "simple_returns",
    "simulate",
    "simulate_many",
]

EXIT_REASONS = FILL_KINDS
EXIT_OPEN = 3

# indices into the float64 ``params`` vector handed to the kernel
P_FEE = 0  # fee of signal orders (taker or maker schedule)
P_SLIP_BPS = 1
P_RANGE_FRACTION = 2
P_IMPACT = 3
P_MAX_PARTICIPATION = 4
P_STOP_LOSS = 5
P_TAKE_PROFIT = 6
P_LEVERAGE = 7
P_INITIAL_CASH = 8
P_TAKER_FEE = 9
P_MAKER_FEE = 10
P_MAINTENANCE = 11  # maintenance margin rate (0: no liquidation, spot and stock)
N_PARAMS = 12


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


@nb.njit(cache=True, inline="always")
def _bar_return(equity, prev):
    """Simple return of a bar from the previous equity.

    A wiped-out account (equity <= 0, liquidated through its bankruptcy price) earns nothing
    afterwards.
    """
    return equity / prev - 1.0 if prev > 0.0 else 0.0


@nb.njit(cache=True)
def simple_returns(equity, initial_cash):
    """``(K, T)`` per-bar simple returns of ``K`` equity curves (the rows of ``equity``).

    Every curve starts from ``initial_cash``; one curve is ``equity.reshape(1, -1)``.

    Parameters
    ----------
    equity : numpy.ndarray
        ``(K, T)`` float64 equity at each bar's close, one curve a row.
    initial_cash : float
        Equity before the first bar (the base of bar 0's return).

    Returns
    -------
    numpy.ndarray
        ``(K, T)`` float64, ``r_t = E_t / E_{t-1} - 1`` with ``E_{-1} = initial_cash``;
        0 after a curve's equity reached 0 or below (a wiped-out account earns nothing).
    """
    k, n = equity.shape
    out = np.empty((k, n))
    for j in range(k):
        prev = initial_cash
        for t in range(n):
            e = equity[j, t]
            out[j, t] = _bar_return(e, prev)
            prev = e
    return out


@nb.njit(cache=True)
def simulate(  # noqa: C901 - one compiled pass over the bars: splitting it would cost the inlining
    open_,
    high,
    low,
    close,
    volume,
    target,
    funding,
    stop_unit,
    params,
    slip_mode,
    fill_at_close,
    equity_out,
    qty_out,
    rec_int,
    rec_float,
    fill_out,
):
    """Simulate one target-weight series; fill ``equity_out``/``qty_out``; return #trades.

    ``rec_int`` (shape ``(m, 4)``: entry index, exit index, direction, exit reason) and
    ``rec_float`` (``(m, 7)``: max |quantity|, entry VWAP, exit VWAP, fees, funding, net P&L,
    entry notional) receive the closed trades when ``m > 0``; with ``m == 0`` nothing is
    recorded (the parameter sweep) but trades are still counted. ``fill_out`` (``(2 n + 1,
    6)`` or ``(0, 6)``) receives every fill in time order: bar index, kind (``FILL_*``),
    signed quantity, price, fee, reference price (before slippage); its last row's first
    column receives the number of fills. ``stop_unit`` is empty for stop distances in
    fractions of the entry, or holds the price unit of each bar's distances (the ATR:
    volatility-scaled stops; see :func:`~crypto_strategy_lab.core.execution.stop_levels`).

    Parameters
    ----------
    open_, high, low, close, volume : numpy.ndarray
        The bars, float64 of length ``n`` each (prices in quote currency, volume in base
        units).
    target : numpy.ndarray
        Target weight per bar in [-1, 1] (fraction of ``P_LEVERAGE`` × equity), decided
        at the bar's close.
    funding : numpy.ndarray
        Funding rate due in each bar (paid on the position at its close).
    stop_unit : numpy.ndarray
        Empty, or the ATR of each bar (price units) for ATR-scaled stops.
    params : numpy.ndarray
        The float64 parameter vector (``P_*`` indices), as
        :func:`~crypto_strategy_lab.backtest.inputs.kernel_params` builds it.
    slip_mode : int
        Slippage model code (``SLIP_FIXED``, ``SLIP_RANGE`` or ``SLIP_VOLUME``).
    fill_at_close : bool
        True fills orders at the next bar's close, False at its open.
    equity_out, qty_out : numpy.ndarray
        Length-``n`` float64 outputs: equity marked at each close, and the signed
        position held then (base units).
    rec_int, rec_float : numpy.ndarray
        Trade records, shapes ``(m, 4)`` int64 and ``(m, 7)`` float64 (``m`` at least the
        number of trades, or 0 to only count).
    fill_out : numpy.ndarray
        ``(2 n + 1, 6)`` float64 fill records, or ``(0, 6)`` to keep none.

    Returns
    -------
    int
        The number of trades, a trade still open after the last bar included (its exit
        reason ``EXIT_OPEN``, marked at the last close without exit costs).
    """
    n_fills = 0
    keep_fills = fill_out.shape[0] > 0
    n = close.shape[0]
    signal_fee = params[P_FEE]
    taker = params[P_TAKER_FEE]
    maker = params[P_MAKER_FEE]
    sl = params[P_STOP_LOSS]
    tp = params[P_TAKE_PROFIT]
    lev = params[P_LEVERAGE]
    maint = params[P_MAINTENANCE]
    bps = params[P_SLIP_BPS]
    rng = params[P_RANGE_FRACTION]
    imp = params[P_IMPACT]
    cap = params[P_MAX_PARTICIPATION]
    protect = sl > 0.0 or tp > 0.0
    scaled = stop_unit.shape[0] > 0

    cash = params[P_INITIAL_CASH]
    q = 0.0
    avg = 0.0  # average entry price of the held position (average cost)
    n_trades = 0
    # open trade (for the trade records)
    entry_idx = -1
    direction = 0
    entry_qty = 0.0
    entry_notional = 0.0
    exit_qty = 0.0
    exit_notional = 0.0
    fees = 0.0
    fund = 0.0
    max_qty = 0.0
    # resting protective exits: levels and the direction they protect (0: none)
    sl_lvl = 0.0
    tp_lvl = 0.0
    lvl_dir = 0

    liq_watch = False
    prev_w = 0.0
    pending = False
    pending_q = 0.0

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
            if keep_fills:
                fill_out[fill_out.shape[0] - 1, 0] = n_fills
            break

        o = open_[t]
        h = high[t]
        lo = low[t]
        c = close[t]
        v = volume[t]
        filled = False

        # fast path: no order to fill, no resting exit and no liquidation price to watch
        active = pending or (q != 0.0 and (lvl_dir != 0 or liq_watch))
        # the bar's events in time order: step 0 fills the order at the open, step 1 the
        # resting exits on the bar's path, step 2 a liquidation, step 3 the order at the close
        for step in range(4 if active else 0):
            if step == 1:
                if q == 0.0 or lvl_dir == 0:
                    continue
                if lvl_dir != direction:  # flipped at the open: the old exits are void
                    lvl_dir = 0
                    continue
                s = slippage_fraction(slip_mode, bps, rng, imp, cap, o, h, lo, v, q)
                how, px = protective_exit(direction, sl_lvl, tp_lvl, o, h, lo, s)
                if how == EXIT_NONE:
                    continue
                kind = FILL_STOP_LOSS if how == EXIT_STOP else FILL_TAKE_PROFIT
                f = abs(q) * px * fee_rate(kind, signal_fee, taker, maker, how)
                # the price the exit was priced from (before slippage), for cost reports
                ref = px / (1.0 - direction * s) if how != EXIT_TAKE_PROFIT_TOUCH else px
                if how == EXIT_TAKE_PROFIT_GAP:
                    ref = o
            elif step == 2:
                if q == 0.0 or maint <= 0.0:
                    continue
                px = liquidation_fill(direction, liquidation_price(q, cash, maint), o, h, lo)
                if px <= 0.0:
                    continue
                kind = FILL_LIQUIDATION
                f = abs(q) * px * taker
                ref = px
            else:
                if not pending or (step == 3) != fill_at_close:
                    continue
                pending = False
                delta = pending_q - q
                if delta == 0.0:
                    continue
                side = 1.0 if delta > 0.0 else -1.0
                s = slippage_fraction(slip_mode, bps, rng, imp, cap, o, h, lo, v, delta)
                px = fill_price(o if step == 0 else c, side, s)
                f_total = abs(delta) * px * signal_fee
                cash -= delta * px + f_total
                filled = True
                if keep_fills:
                    fill_out[n_fills, 0] = t
                    fill_out[n_fills, 1] = FILL_SIGNAL
                    fill_out[n_fills, 2] = delta
                    fill_out[n_fills, 3] = px
                    fill_out[n_fills, 4] = f_total
                    fill_out[n_fills, 5] = o if step == 0 else c
                    n_fills += 1
                # split the fill into a closing part and an opening part
                closing = 0.0
                if q != 0.0 and (delta > 0.0) != (q > 0.0):
                    closing = min(abs(delta), abs(q))
                opening = abs(delta) - closing
                if closing > 0.0:
                    fees += f_total * closing / abs(delta)
                    exit_qty += closing
                    exit_notional += closing * px
                    if closing == abs(q):
                        n_trades = _close_trade(
                            rec_int,
                            rec_float,
                            n_trades,
                            entry_idx,
                            t,
                            direction,
                            FILL_SIGNAL,
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
                    fees += f_total * opening / abs(delta)
                    entry_qty += opening
                    entry_notional += opening * px
                avg = average_entry(q, avg, delta, px)
                q = pending_q
                if direction == 0:
                    q = 0.0
                max_qty = max(max_qty, abs(q))
                continue

            # an exit of the whole position (steps 1 and 2) at ``px`` paying ``f``
            if keep_fills:
                fill_out[n_fills, 0] = t
                fill_out[n_fills, 1] = kind
                fill_out[n_fills, 2] = -q
                fill_out[n_fills, 3] = px
                fill_out[n_fills, 4] = f
                fill_out[n_fills, 5] = ref
                n_fills += 1
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
                kind,
                max_qty,
                entry_qty,
                entry_notional,
                exit_qty,
                exit_notional,
                fees,
                fund,
            )
            if kind == FILL_LIQUIDATION and cash < 0.0:
                cash = 0.0  # the insurance fund takes the loss beyond the account
            q = 0.0
            avg = 0.0
            direction = 0
            lvl_dir = 0
            filled = True

        # close: funding on the position held at the close, then mark to market
        if q != 0.0 and funding[t] != 0.0:
            pay = funding_payment(q, c, funding[t])
            cash -= pay
            fund += pay
        equity_out[t] = cash + q * c
        qty_out[t] = q
        # an unlevered long has no liquidation price: its bars stay on the fast path
        liq_watch = maint > 0.0 and q != 0.0 and liquidation_price(q, cash, maint) > 0.0
        if filled:
            # the fill is known now: the exits of the new position rest from the next bar
            if q != 0.0 and protect:
                # ATR units: the ATR of this bar, known at its close like the fill itself
                unit = stop_unit[t] if scaled else 0.0
                sl_lvl, tp_lvl = stop_levels(direction, avg, sl, tp, unit, scaled)
                lvl_dir = direction
            else:
                lvl_dir = 0

        w = target[t]
        if w != prev_w:
            prev_w = w
            equity = cash + q * c
            s = slippage_fraction(slip_mode, bps, rng, imp, cap, o, h, lo, v, 0.0)
            want = target_quantity(w, lev, equity, c, s, signal_fee, q) if equity > 0.0 else 0.0
            pending = want != q
            pending_q = want
    return n_trades


@nb.njit(cache=True, parallel=True)
def simulate_many(
    open_,
    high,
    low,
    close,
    volume,
    targets,
    funding,
    stop_unit,
    params,
    slip_mode,
    fill_at_close,
    keep,
):
    """Run :func:`simulate` on every column of ``targets`` (``(T, K)``) in parallel.

    Returns ``(summary, equity)``: ``summary[k]`` = (final equity, #trades, per-period mean
    return, per-period std of returns (ddof=1), max drawdown as a positive fraction,
    fraction of bars with a position); ``equity`` is ``(K, T)`` (one curve a row, so each
    thread writes its own rows) if ``keep`` else ``(K, 0)``. Column ``j`` of ``targets`` is
    read bar by bar: a column-major matrix (``np.asfortranarray``, or a DataFrame's
    ``to_numpy()``) reads it from contiguous memory, a row-major one from one cache line a bar.

    Parameters
    ----------
    open_, high, low, close, volume : numpy.ndarray
        The bars, float64 of length ``T`` each.
    targets : numpy.ndarray
        ``(T, K)`` target weights, one configuration a column.
    funding : numpy.ndarray
        Funding rate due in each bar.
    stop_unit : numpy.ndarray
        Empty, or the ATR of each bar for ATR-scaled stops.
    params : numpy.ndarray
        The float64 parameter vector shared by every column.
    slip_mode : int
        Slippage model code.
    fill_at_close : bool
        True fills at the next close, False at the next open.
    keep : bool
        Whether to return the equity curves too.

    Returns
    -------
    summary : numpy.ndarray
        ``(K, 6)`` float64, the statistics listed above for each column.
    equity : numpy.ndarray
        ``(K, T)`` equity curves if ``keep``, else ``(K, 0)``.

    Notes
    -----
    With ``r_t`` the returns of :func:`simple_returns`, the mean is ``sum(r) / T``, the
    standard deviation ``sqrt((sum(r^2) - T mean^2) / (T - 1))`` (0 for ``T = 1``) and
    the maximum drawdown ``max_t (1 - E_t / max_{s<=t} E_s)`` with the running peak
    starting at the initial cash.
    """
    n, k = targets.shape
    summary = np.empty((k, 6))
    equity_keep = np.empty((k, n if keep else 0))
    no_int = np.empty((0, 4), dtype=np.int64)
    no_float = np.empty((0, 7))
    no_fills = np.empty((0, 6))
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
            stop_unit,
            params,
            slip_mode,
            fill_at_close,
            eq,
            qty,
            no_int,
            no_float,
            no_fills,
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
                r = _bar_return(e, prev)
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
                equity_keep[j, t] = eq[t]
        mean = s1 / n
        var = (s2 - n * mean * mean) / (n - 1) if n > 1 else 0.0
        summary[j, 0] = eq[n - 1]
        summary[j, 1] = n_tr
        summary[j, 2] = mean
        summary[j, 3] = np.sqrt(max(var, 0.0))
        summary[j, 4] = mdd
        summary[j, 5] = exposed / n
    return summary, equity_keep
