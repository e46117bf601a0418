"""The OHLCV schema's value rules in one compiled pass over the bars.

Imported only inside :func:`crypto_strategy_lab.data.schema.validate_ohlcv`, so that importing
the schema (and the CLI's start-up) never loads numba. The rules, their order and their
messages are :data:`crypto_strategy_lab.data.schema.OHLCV_VALUE_RULES`; the rule codes here
are positions in that table.
"""

from __future__ import annotations

import numba as nb
import numpy as np

#: Codes of the rules, in the order of ``OHLCV_VALUE_RULES``: NaN then infinity for each of
#: open, high, low, close, volume (0-9), then the timestamps and the bounds.
DUPLICATE = 10
OUT_OF_ORDER = 11
NONPOSITIVE = 12  # + 0..3 for open, high, low, close
NEGATIVE_VOLUME = 16
HIGH_BELOW_BODY = 17
LOW_ABOVE_BODY = 18
N_RULES = 19


@nb.njit(cache=True)
def _note(code, row, counts, first):
    if counts[code] < first.shape[1]:
        first[code, counts[code]] = row
    counts[code] += 1


@nb.njit(cache=True)
def ohlcv_violations(open_, high, low, close, volume, ts, keep):
    """Count, in one pass, the rows breaking each value rule of the OHLCV schema.

    Parameters
    ----------
    open_, high, low, close, volume : numpy.ndarray
        float64 columns of one length ``n``.
    ts : numpy.ndarray
        int64 timestamps of the rows (any unit), length ``n``.
    keep : int
        How many offending rows of each rule to keep (the error shows the first few).

    Returns
    -------
    counts : numpy.ndarray
        ``(N_RULES,)`` int64, the rows breaking each rule.
    first : numpy.ndarray
        ``(N_RULES, keep)`` int64, the first offending row positions of each rule (-1
        past its count).

    Notes
    -----
    Each row's masks are those of the schema's former numpy checks: ``isnan``, ``isinf``,
    ``ts[t] == ts[t-1]``, ``ts[t] < ts[t-1]``, ``price <= 0``, ``volume < 0``,
    ``high < max(open, close)`` and ``low > min(open, close)`` with ``np.maximum`` /
    ``np.minimum``'s NaN propagation (a NaN never counts as out of bounds). A valid row takes
    a single combined test; only a row that fails it is classified rule by rule.
    """
    n = open_.shape[0]
    counts = np.zeros(N_RULES, dtype=np.int64)
    first = np.full((N_RULES, keep), -1, dtype=np.int64)
    inf = np.inf
    for t in range(n):
        o = open_[t]
        h = high[t]
        lo = low[t]
        c = close[t]
        v = volume[t]
        rising = t == 0 or ts[t] > ts[t - 1]
        # NaN fails every comparison, so a NaN row also leaves this fast test
        if (
            rising
            and lo > 0.0
            and lo <= o
            and lo <= c
            and o <= h
            and c <= h
            and h < inf
            and 0.0 <= v < inf
        ):
            continue
        prices = (o, h, lo, c)
        for k in range(5):
            x = prices[k] if k < 4 else v
            if np.isnan(x):
                _note(2 * k, t, counts, first)
            elif np.isinf(x):
                _note(2 * k + 1, t, counts, first)
        if t > 0:
            if ts[t] == ts[t - 1]:
                _note(DUPLICATE, t, counts, first)
            elif ts[t] < ts[t - 1]:
                _note(OUT_OF_ORDER, t, counts, first)
        for k in range(4):
            if prices[k] <= 0.0:
                _note(NONPOSITIVE + k, t, counts, first)
        if v < 0.0:
            _note(NEGATIVE_VOLUME, t, counts, first)
        if not (np.isnan(o) or np.isnan(c)):
            if h < max(o, c):
                _note(HIGH_BELOW_BODY, t, counts, first)
            if lo > min(o, c):
                _note(LOW_ABOVE_BODY, t, counts, first)
    return counts, first
