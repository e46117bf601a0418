"""Perpetual funding mapped onto bars.

Funding is exchanged at fixed instants (every 8 h at 00:00, 08:00 and 16:00 UTC on Bybit). An
instant ``f`` belongs to the bar ``t`` whose own interval ``(ts[t], ts[t] + bar]`` contains
it (``bar`` = the median bar spacing, the timeframe), i.e. it is paid on the position held at
that bar's close (a bar labelled 23:00 on hourly data closes at 00:00 and pays the 00:00
funding). An instant inside a data gap — after a bar's close and before the next bar's open,
e.g. the 2021-04-25 Binance maintenance window — belongs to no bar and is not charged: the
simulated venue settles funding per bar over the same interval
(:func:`~crypto_strategy_lab.core.execution.funding_instants`), so both sides apply one rule.
Several instants inside one bar (daily bars) add up. Times are integer seconds, so the
instants are exact on any span (no float-length ``arange``) and any datetime unit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.core.execution import funding_instants


class FundingError(CSLError):
    """A funding-rate input that cannot be mapped onto the bars."""


def epoch_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    """Integer seconds since the epoch of a UTC DatetimeIndex of any unit.

    The index's own integers are divided by its unit: no ns overflow beyond 2262.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Timestamps of unit ``s``, ``ms``, ``us`` or ``ns`` (tz-aware: its UTC instants).

    Returns
    -------
    numpy.ndarray
        int64 seconds since 1970-01-01 UTC, floored (sub-second parts dropped).
    """
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[index.unit]
    return index.asi8 // per_second


def bar_seconds(ts: np.ndarray) -> int:
    """The bar length in seconds: the median spacing (one hour for a single bar).

    Parameters
    ----------
    ts : numpy.ndarray
        Bar open times in integer seconds (:func:`epoch_seconds`), ascending.

    Returns
    -------
    int
        The median of the spacings, truncated to whole seconds; 3600 when ``ts`` has fewer
        than two values.
    """
    return int(np.median(np.diff(ts))) if ts.size > 1 else 3_600


def funding_per_bar(
    index: pd.DatetimeIndex, funding: pd.Series | float, *, step: int | None = None
) -> np.ndarray:
    """Sum of funding rates falling in each bar of ``index``.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        The bars' UTC DatetimeIndex (bar open times), ascending.
    funding : pandas.Series or float
        A constant rate per 8-hour interval (applied at every 00/08/16 UTC instant), or a
        Series of rates indexed by their UTC funding timestamps (instants outside every bar's
        interval are ignored). Rates are fractions of the position's notional, positive
        when longs pay.
    step : int or None, default None
        The bar length in seconds, :func:`bar_seconds` of the index when None (a caller that
        holds it already passes it: the median of a million spacings costs milliseconds).

    Returns
    -------
    numpy.ndarray
        float64, one value per bar: the sum of the rates of the instants in the bar's
        interval ``(ts[t], ts[t] + step]`` (0 for a bar without one).

    Raises
    ------
    FundingError
        If a Series has no tz-aware DatetimeIndex or holds NaN/inf, or a constant rate is
        not finite.
    """
    ts = epoch_seconds(index)
    out = np.zeros(ts.size)
    if ts.size == 0:
        return out
    if step is None:
        step = bar_seconds(ts)
    if isinstance(funding, pd.Series):
        if not isinstance(funding.index, pd.DatetimeIndex) or funding.index.tz is None:
            raise FundingError("a funding-rate Series needs a UTC DatetimeIndex of funding times")
        rates = funding.to_numpy(dtype=float)
        if not np.all(np.isfinite(rates)):
            raise FundingError("the funding-rate Series contains NaN or infinite values")
        instants = epoch_seconds(funding.index.tz_convert("UTC"))
        bar = np.searchsorted(ts, instants, side="left") - 1
        inside = bar >= 0
        inside[inside] &= instants[inside] <= ts[bar[inside]] + step
        np.add.at(out, bar[inside], rates[inside])
        return out
    rate = float(funding)
    if not np.isfinite(rate):
        raise FundingError(f"funding rate must be finite, got {funding!r}")
    return funding_instants(ts, ts + step) * rate
