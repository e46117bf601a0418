"""Performance metrics on a series of simple per-period returns.

Conventions (DESIGN.md): a Sharpe ratio is **per period** unless ``periods_per_year`` is given,
in which case it is annualised by ``sqrt(periods_per_year)``; no risk-free rate is subtracted
(crypto has no agreed one and the bar returns are excess returns of a fully-funded book to
first order). Kurtosis is **raw** (3 for a normal), skewness is the sample third standardised
moment (both via :mod:`scipy.stats`, biased estimators as in Bailey & López de Prado 2012).

Annualisation: crypto trades 24/7/365, so ``periods_per_year = 365 * 86400 / bar_seconds``;
US equities trade about 252 sessions of 6.5 h a year (daily bars: 252).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps

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


def sharpe_ratio(returns: pd.Series | np.ndarray, periods_per_year: float | None = None) -> float:
    """Sharpe ratio ``mean / std`` (``ddof=1``) of per-period returns.

    Parameters
    ----------
    returns:
        Simple returns per bar.
    periods_per_year:
        ``None`` (default) gives the **per-period** ratio used by PSR/DSR/MinTRL; a number
        annualises it: ``SR_annual = SR * sqrt(periods_per_year)``.

    Returns
    -------
    float
        ``0.0`` for a constant series (no risk, no reward: nothing to rank).
    """
    arr = _as_array(returns)
    if _is_constant(arr):
        return 0.0
    sd = arr.std(ddof=1)
    sr = float(arr.mean() / sd)
    return sr * float(np.sqrt(periods_per_year)) if periods_per_year else sr


class ReturnMoments(NamedTuple):
    """What PSR/DSR need from a return series: per-period SR, length, skew, raw kurtosis."""

    sr: float
    n_obs: int
    skew: float
    kurtosis: float


def return_moments(returns: pd.Series | np.ndarray) -> ReturnMoments:
    """Per-period Sharpe ratio, number of observations, skewness and raw kurtosis.

    A constant series has skew 0 and kurtosis 3 by convention (normal-like: it adds no
    higher-moment penalty to a Sharpe ratio that is 0 anyway).
    """
    arr = _as_array(returns)
    if _is_constant(arr):
        return ReturnMoments(0.0, arr.size, 0.0, 3.0)
    return ReturnMoments(
        sharpe_ratio(arr),
        int(arr.size),
        float(sps.skew(arr)),
        float(sps.kurtosis(arr, fisher=False)),
    )


def infer_periods_per_year(index: pd.DatetimeIndex, market: str = "crypto") -> float:
    """Bars per year from the median bar spacing and the market's calendar.

    ``market`` is ``"stock"`` for US equities (252 sessions of 6.5 h; daily or longer bars
    count sessions), anything else trades around the clock (365 days).
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
    """Loss from the running peak at every point, ``1 - equity_t / max_{s<=t} equity_s``
    (a positive fraction; 0 at a new high)."""
    eq = np.asarray(equity, dtype=float)
    return 1.0 - eq / np.maximum.accumulate(eq)


def max_drawdown(equity: pd.Series | np.ndarray) -> float:
    """Largest peak-to-trough loss of an equity curve, as a positive fraction."""
    if len(equity) == 0:
        return 0.0
    return float(np.max(drawdown(equity)))


def sortino_ratio(returns: pd.Series | np.ndarray, periods_per_year: float | None = None) -> float:
    """``mean / downside deviation`` with the downside deviation ``sqrt(mean(min(r, 0)^2))``
    (Sortino & Price 1994, target 0); annualised like :func:`sharpe_ratio`."""
    arr = _as_array(returns)
    dd = float(np.sqrt(np.mean(np.minimum(arr, 0.0) ** 2)))
    if dd == 0.0:
        return 0.0
    ratio = float(arr.mean()) / dd
    return ratio * float(np.sqrt(periods_per_year)) if periods_per_year else ratio


def rolling_sharpe(
    returns: pd.Series, window: int, periods_per_year: float | None = None
) -> pd.Series:
    """Sharpe ratio ``mean / std`` (ddof 1) over a trailing window of ``window`` bars,
    annualised when ``periods_per_year`` is given; NaN until the window fills and where it has
    no volatility (not infinity)."""
    roll = returns.rolling(window)
    std = roll.std(ddof=1)
    sr = roll.mean() / std.where(std > 0)
    return sr * np.sqrt(periods_per_year) if periods_per_year else sr
