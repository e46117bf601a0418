"""Performance metrics on a series of simple per-period returns.

Conventions (DESIGN.md): a Sharpe ratio is **per period** unless ``periods_per_year`` is given,
in which case it is annualised by ``sqrt(periods_per_year)``; no risk-free rate is subtracted
unless one is passed (crypto has no agreed one and the bar returns are excess returns of a
fully-funded book to first order). The gate, the trial log and PSR/DSR/MinTRL use the raw
ratio; ``RISK_FREE_RATE`` (an annual rate, :func:`per_period_rate`) is shown beside it in the
``csl backtest`` table (docs/DECISIONS.md, "Risk-free rate"). Kurtosis is **raw** (3 for a
normal), skewness is the sample third standardised moment (both computed as
:mod:`scipy.stats` does, biased estimators as in Bailey & López de Prado 2012).

Annualisation: crypto trades 24/7/365, so ``periods_per_year = 365 * 86400 / bar_seconds``;
US equities trade about 252 sessions of 6.5 h a year (daily bars: 252).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.errors import CSLError

SECONDS_PER_YEAR_CRYPTO = 365 * 86_400
STOCK_SESSIONS_PER_YEAR = 252
STOCK_SESSION_SECONDS = 6.5 * 3_600


class MetricsError(CSLError):
    """Returns that no metric can be computed from (empty, non-finite, wrong shape)."""


def _as_array(returns: pd.Series | np.ndarray) -> np.ndarray:
    arr = np.asarray(returns, dtype=float)
    if arr.ndim != 1:
        raise MetricsError(f"returns must be one-dimensional, got shape {arr.shape}")
    if arr.size < 2:
        raise MetricsError(f"need at least 2 returns, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise MetricsError("returns contain NaN or infinite values")
    return arr


def _is_constant(arr: np.ndarray) -> bool:
    # Exact test on the values: the floating-point std of identical values is rounding noise
    # (1.8e-18 for ten returns of 0.01), which would turn "no risk" into a Sharpe of 5e15.
    return bool(np.ptp(arr) == 0.0)


def per_period_rate(annual_rate: float, periods_per_year: float) -> float:
    """An annual rate as the rate of one bar, compounding: ``(1 + r) ** (1 / P) - 1``.

    Parameters
    ----------
    annual_rate : float
        Annual rate, e.g. ``RISK_FREE_RATE`` (0.02 for 2 %).
    periods_per_year : float
        Bars per year ``P``.

    Returns
    -------
    float
        The per-bar rate that compounds to `annual_rate` over a year.
    """
    return float(np.expm1(np.log1p(annual_rate) / periods_per_year))


def sharpe_ratio(
    returns: pd.Series | np.ndarray,
    periods_per_year: float | None = None,
    *,
    risk_free_rate: float = 0.0,
) -> float:
    """Sharpe ratio ``mean / std`` (``ddof=1``) of per-period returns.

    Parameters
    ----------
    returns : pandas.Series or numpy.ndarray
        Simple (not log) returns, one per bar, 1-D, finite, at least 2.
    periods_per_year : float, optional
        ``None`` (default) gives the **per-period** ratio used by PSR/DSR/MinTRL; a number
        annualises it: ``SR_annual = SR * sqrt(periods_per_year)``.
    risk_free_rate : float, default 0.0
        Annual rate subtracted from every return as its per-bar equivalent
        (:func:`per_period_rate`); needs `periods_per_year`.

    Returns
    -------
    float
        The Sharpe ratio of the returns in excess of `risk_free_rate`; ``0.0`` for a
        constant series (no risk, no reward: nothing to rank).

    Raises
    ------
    MetricsError
        If `returns` is not 1-D, has fewer than 2 values, or contains NaN or infinity, or
        a non-zero `risk_free_rate` comes without `periods_per_year`.
    """
    arr = _as_array(returns)
    if risk_free_rate:
        if not periods_per_year:
            raise MetricsError("a risk-free rate is annual: periods_per_year is needed")
        arr = arr - per_period_rate(risk_free_rate, periods_per_year)
    return annualised(0.0 if _is_constant(arr) else _sharpe(arr), periods_per_year)


def sharpe_ratios(matrix: pd.DataFrame) -> pd.Series:
    """Per-period Sharpe ratio of every column, with :func:`sharpe_ratio`'s rules.

    Parameters
    ----------
    matrix : pandas.DataFrame
        One column of finite per-period returns per configuration, at least 2 rows.

    Returns
    -------
    pandas.Series
        ``mean / std`` (``ddof=1``) per column; ``0.0`` for a constant column (exact test on
        the values, as :func:`sharpe_ratio`), never ``inf`` or NaN from a zero std.
    """
    constant = np.ptp(matrix.to_numpy(dtype=float), axis=0) == 0.0
    ratios = matrix.mean() / matrix.std(ddof=1)
    return ratios.where(~constant, 0.0)


def _sharpe(arr: np.ndarray) -> float:
    """Per-period ``mean / std`` (``ddof=1``) of checked, non-constant returns."""
    return float(arr.mean() / arr.std(ddof=1))


def annualised(ratio: float, periods_per_year: float | None) -> float:
    """A per-period Sharpe-type ratio scaled to a year.

    Parameters
    ----------
    ratio : float
        Per-period ratio (mean over a dispersion of per-period returns).
    periods_per_year : float, optional
        Bars per year; ``None`` (or 0) returns `ratio` unchanged.

    Returns
    -------
    float
        ``ratio * sqrt(periods_per_year)``: i.i.d. returns' mean grows with the number of
        periods and their dispersion with its square root.
    """
    return ratio * float(np.sqrt(periods_per_year)) if periods_per_year else ratio


class ReturnMoments(NamedTuple):
    """What PSR/DSR need from a return series: per-period SR, length, skew, raw kurtosis.

    Attributes
    ----------
    sr : float
        Per-period Sharpe ratio (:func:`sharpe_ratio` without annualisation).
    n_obs : int
        Number of returns.
    skew : float
        Sample skewness (biased, third standardised moment).
    kurtosis : float
        Raw sample kurtosis (biased; 3 for a normal).
    """

    sr: float
    n_obs: int
    skew: float
    kurtosis: float


def return_moments(returns: pd.Series | np.ndarray) -> ReturnMoments:
    """Per-period Sharpe ratio, number of observations, skewness and raw kurtosis.

    Parameters
    ----------
    returns : pandas.Series or numpy.ndarray
        Simple (not log) returns, one per bar, 1-D, finite, at least 2.

    Returns
    -------
    ReturnMoments
        The inputs of :func:`~crypto_strategy_lab.validation.probabilistic_sharpe_ratio` and
        :func:`~crypto_strategy_lab.validation.deflated_sharpe_ratio`.

    Raises
    ------
    MetricsError
        If `returns` is not 1-D, has fewer than 2 values, or contains NaN or infinity.

    Notes
    -----
    Skewness and kurtosis are the biased moment estimators (``scipy.stats.skew`` and
    ``scipy.stats.kurtosis(fisher=False)``), ``m3 / m2^1.5`` and ``m4 / m2^2``, as in Bailey &
    López de Prado (2012). A constant series has skew 0 and kurtosis 3 by convention
    (normal-like: it adds no higher-moment penalty to a Sharpe ratio that is 0 anyway).
    """
    arr = _as_array(returns)
    if _is_constant(arr):
        return ReturnMoments(0.0, arr.size, 0.0, 3.0)
    skew, kurtosis = _skew_kurtosis(arr)
    return ReturnMoments(_sharpe(arr), int(arr.size), skew, kurtosis)


def _skew_kurtosis(arr: np.ndarray) -> tuple[float, float]:
    """``m3 / m2^1.5`` and ``m4 / m2^2`` of the central moments ``m_k = mean((x - mean)^k)``.

    The operations of ``scipy.stats.skew`` and ``scipy.stats.kurtosis(fisher=False)`` in
    their order (so the same values to the last bit; the tests compare), from one demeaned
    array instead of one per statistic: at 1M returns a third of the time. NaN, as there,
    when ``m2`` is rounding noise relative to the mean.
    """
    mean = arr.mean()
    dev = arr - mean
    dev2 = dev**2
    m2 = dev2.mean()
    if m2 <= (np.finfo(np.float64).eps * mean) ** 2:
        return np.nan, np.nan
    m3 = (dev2 * dev).mean()
    m4 = (dev2**2).mean()
    return float(m3 / m2**1.5), float(m4 / m2**2.0)


def infer_periods_per_year(index: pd.DatetimeIndex, market: str = "crypto") -> float:
    """Bars per year from the median bar spacing and the market's calendar.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Bar timestamps, increasing; at least 2.
    market : str, default "crypto"
        ``"stock"`` for US equities (252 sessions of 6.5 h; bars of a day or longer count
        sessions); anything else trades around the clock (365 days of 24 h).

    Returns
    -------
    float
        ``periods_per_year`` for :func:`sharpe_ratio`: ``365 * 86400 / step`` around the
        clock, ``252 * 6.5 * 3600 / step`` for intraday stock bars and ``252 * 86400 / step``
        for daily or longer ones, with ``step`` the median spacing in seconds.

    Raises
    ------
    MetricsError
        If there are fewer than 2 timestamps or the median spacing is not positive.
    """
    if len(index) < 2:
        raise MetricsError("need at least 2 timestamps to infer the bar size")
    step = float(np.median(np.diff(index.as_unit("ns").asi8))) / 1e9
    if step <= 0:
        raise MetricsError("timestamps must be increasing to infer the bar size")
    if market == "stock":
        if step >= 86_400 * 0.99:
            return STOCK_SESSIONS_PER_YEAR * 86_400 / step
        return STOCK_SESSIONS_PER_YEAR * STOCK_SESSION_SECONDS / step
    return SECONDS_PER_YEAR_CRYPTO / step


def drawdown(equity: pd.Series | np.ndarray) -> np.ndarray:
    """Loss from the running peak at every point of an equity curve.

    Parameters
    ----------
    equity : pandas.Series or numpy.ndarray
        Account equity (or a price-like wealth index), positive.

    Returns
    -------
    numpy.ndarray
        ``1 - equity_t / max_{s<=t} equity_s``: a fraction >= 0, 0 at a new high.
    """
    eq = np.asarray(equity, dtype=float)
    return 1.0 - eq / np.maximum.accumulate(eq)


def max_drawdown(equity: pd.Series | np.ndarray) -> float:
    """Largest peak-to-trough loss of an equity curve, as a positive fraction.

    Parameters
    ----------
    equity : pandas.Series or numpy.ndarray
        Account equity, positive.

    Returns
    -------
    float
        ``max_t`` of :func:`drawdown`, in [0, 1); 0.0 for an empty curve.
    """
    if len(equity) == 0:
        return 0.0
    eq = np.asarray(equity, dtype=float)
    # max(1 - e / peak) is 1 - min(e / peak) exactly (rounding 1 - x is monotone in x); one
    # temporary instead of drawdown()'s three
    ratio = np.maximum.accumulate(eq)
    np.divide(eq, ratio, out=ratio)
    return float(1.0 - ratio.min())


def sortino_ratio(returns: pd.Series | np.ndarray, periods_per_year: float | None = None) -> float:
    """Sortino ratio: mean return over downside deviation, target return 0.

    Parameters
    ----------
    returns : pandas.Series or numpy.ndarray
        Simple (not log) returns, one per bar, 1-D, finite, at least 2.
    periods_per_year : float, optional
        ``None`` gives the per-period ratio; a number annualises it by
        ``sqrt(periods_per_year)``, like :func:`sharpe_ratio`.

    Returns
    -------
    float
        ``mean(r) / sqrt(mean(min(r, 0)^2))``. When no return is negative the downside
        deviation is 0 and, as in empyrical and quantstats, the ratio is the division's
        IEEE result: ``+inf`` for a positive mean, NaN when every return is 0.

    Raises
    ------
    MetricsError
        If `returns` is not 1-D, has fewer than 2 values, or contains NaN or infinity.

    Notes
    -----
    The downside deviation averages over **all** returns, not only the negative ones
    (Sortino & Price 1994, target 0).

    References
    ----------
    Sortino, F. A. and Price, L. N. (1994). "Performance Measurement in a Downside Risk
    Framework". Journal of Investing 3(3), 59-64.
    """
    arr = _as_array(returns)
    dd = float(np.sqrt(np.mean(np.minimum(arr, 0.0) ** 2)))
    mean = float(arr.mean())
    if dd == 0.0:
        return math.inf if mean > 0 else math.nan  # mean >= 0 here: no return is negative
    return annualised(mean / dd, periods_per_year)


def rolling_sharpe(
    returns: pd.Series, window: int, periods_per_year: float | None = None
) -> pd.Series:
    """Sharpe ratio ``mean / std`` (ddof 1) over a trailing window of bars.

    Parameters
    ----------
    returns : pandas.Series
        Simple returns, one per bar.
    window : int
        Number of bars in each window (the current bar included).
    periods_per_year : float, optional
        ``None`` gives per-period ratios; a number annualises them by
        ``sqrt(periods_per_year)``.

    Returns
    -------
    pandas.Series
        One ratio per bar, on the index of `returns`; NaN until the window fills and where
        the window is constant (not infinity).

    Notes
    -----
    A window is constant by :func:`sharpe_ratio`'s exact test on the values (its maximum
    equals its minimum): pandas' rolling std of identical values can be rounding noise, e.g.
    2e-8 after a stretch of unit-variance returns, which would give a ratio of 1e5.
    """
    roll = returns.rolling(window)
    constant = roll.max() == roll.min()
    sr = roll.mean() / roll.std(ddof=1).mask(constant)
    return sr * np.sqrt(periods_per_year) if periods_per_year else sr
