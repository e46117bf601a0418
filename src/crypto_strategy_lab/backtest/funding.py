"""Perpetual funding mapped onto bars.

Funding is exchanged at fixed instants (every 8 h at 00:00, 08:00 and 16:00 UTC on Bybit). An
instant ``f`` belongs to the bar ``t`` whose interval ``(ts[t], ts[t+1]]`` contains it, i.e.
it is paid on the position held at that bar's close (a bar labelled 23:00 on hourly data
closes at 00:00 and pays the 00:00 funding). The last bar's interval ends at ``ts[-1] +
median bar size``. Several instants inside one bar (daily bars) add up.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.costs import FUNDING_INTERVAL_HOURS
from crypto_strategy_lab.core.errors import CSLError


class FundingError(CSLError):
    """A funding-rate input that cannot be mapped onto the bars."""


def _bar_edges(index: pd.DatetimeIndex) -> tuple[np.ndarray, np.int64]:
    ts = index.as_unit("ns").asi8
    step = np.int64(np.median(np.diff(ts))) if ts.size > 1 else np.int64(3_600 * 10**9)
    return ts, step


def funding_per_bar(index: pd.DatetimeIndex, funding: pd.Series | float) -> np.ndarray:
    """Sum of funding rates falling in each bar of ``index``.

    Parameters
    ----------
    index:
        The bars' UTC DatetimeIndex (bar open times).
    funding:
        A constant rate per 8-hour interval (applied at every 00/08/16 UTC instant), or a
        Series of rates indexed by their UTC funding timestamps (instants outside the bars'
        span are ignored).
    """
    ts, step = _bar_edges(index)
    out = np.zeros(ts.size)
    if ts.size == 0:
        return out
    if isinstance(funding, pd.Series):
        if not isinstance(funding.index, pd.DatetimeIndex) or funding.index.tz is None:
            raise FundingError("a funding-rate Series needs a UTC DatetimeIndex of funding times")
        rates = funding.to_numpy(dtype=float)
        if not np.all(np.isfinite(rates)):
            raise FundingError("the funding-rate Series contains NaN or infinite values")
        instants = funding.index.tz_convert("UTC").as_unit("ns").asi8
    else:
        rate = float(funding)
        if not np.isfinite(rate):
            raise FundingError(f"funding rate must be finite, got {funding!r}")
        interval = np.int64(FUNDING_INTERVAL_HOURS * 3_600 * 10**9)
        first = (ts[0] // interval) * interval
        instants = np.arange(first, ts[-1] + step + 1, interval, dtype=np.int64)
        rates = np.full(instants.size, rate)
    bar = np.searchsorted(ts, instants, side="left") - 1
    inside = (bar >= 0) & (instants <= ts[-1] + step)
    np.add.at(out, bar[inside], rates[inside])
    return out
