r"""Sample autocovariances and autocorrelations, Ljung–Box and Bartlett significance.

Definitions (the ``adjusted=False`` convention of ``statsmodels.tsa.stattools.acf``):

.. math::

    \hat\gamma_k = \frac1n \sum_{t=1}^{n-k} (x_t - \bar x)(x_{t+k} - \bar x), \qquad
    \hat\rho_k = \hat\gamma_k / \hat\gamma_0 .

Under i.i.d. noise (Bartlett 1946) :math:`\sqrt n\,\hat\rho_k \to N(0, 1)`, so
:math:`z_k = \sqrt n\,\hat\rho_k` is the Bartlett-band statistic (the band is
:math:`\pm z_{1-\alpha/2}/\sqrt n`), and the Ljung–Box (1978) portmanteau statistic

.. math::  Q(m) = n (n + 2) \sum_{k=1}^m \frac{\hat\rho_k^2}{n - k} \sim \chi^2_m .

A window with zero variance (constant input) has undefined autocorrelations: they are NaN,
documented, never a silent number.

The rolling forms expand the window-demeaned cross products into running sums
(:math:`\sum (x_s - m)(x_{s+k} - m) = \sum x_s x_{s+k} - m(H_k + T_k) + (w - k) m^2` with
:math:`H_k, T_k` the sums of the first and last :math:`w - k` values of the window), which
costs :math:`O(n \cdot \text{max\_lag})` whatever the window. The input is first shifted by
its first value (autocovariances are shift invariant) to limit cancellation.

References
----------
Bartlett, M. S. (1946). On the theoretical specification and sampling properties of
autocorrelated time-series. JRSS Supplement 8(1), 27–41.
Ljung, G. M. and Box, G. E. P. (1978). On a measure of lack of fit in time series models.
Biometrika 65(2), 297–303.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from scipy import special, stats

from crypto_strategy_lab.stats._windows import (
    StatsInputError,
    _prefix_sum,
    as_series,
    check_window,
    constant_windows,
)


class LjungBox(NamedTuple):
    """Ljung–Box statistic ``Q(m)`` and its chi-square(m) upper-tail p-value."""

    statistic: float | np.ndarray
    pvalue: float | np.ndarray


class AutocorrelationTest(NamedTuple):
    """Lag-k autocorrelation, its Bartlett z (``sqrt(n) rho_k``) and two-sided p-value."""

    rho: float | np.ndarray
    z: float | np.ndarray
    pvalue: float | np.ndarray


def _check_lag(max_lag: int, n: int) -> int:
    max_lag = check_window(max_lag, minimum=0, name="max_lag")
    if max_lag >= n:
        raise StatsInputError(f"max_lag must be < the number of values ({n}), got {max_lag}")
    return max_lag


def autocovariances(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocovariances at lags ``0 .. max_lag`` (divisor ``n``, mean removed).

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 2 values.
    max_lag : int
        Largest lag, in ``[0, len(x))``.

    Returns
    -------
    numpy.ndarray
        ``gamma_0 .. gamma_max_lag``, length ``max_lag + 1``.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite, or `max_lag` is out of range.

    Notes
    -----
    ``gamma_k = (1/n) sum_{t=1}^{n-k} (x_t - mean)(x_{t+k} - mean)``, the biased (divisor
    ``n``) estimator, which keeps the autocovariance sequence positive semi-definite; as
    ``statsmodels.tsa.stattools.acovf(x, adjusted=False)``.
    """
    x = as_series(x)
    max_lag = _check_lag(max_lag, x.size)
    d = x - x.mean()
    n = d.size
    return np.array([d[: n - k] @ d[k:] for k in range(max_lag + 1)]) / n


def autocorrelations(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations at lags ``0 .. max_lag``.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 2 values.
    max_lag : int
        Largest lag, in ``[0, len(x))``.

    Returns
    -------
    numpy.ndarray
        ``rho_0 = 1, rho_1 .. rho_max_lag``, with ``rho_k = gamma_k / gamma_0`` from
        :func:`autocovariances`; all NaN for a constant series.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite, or `max_lag` is out of range.
    """
    gamma = autocovariances(x, max_lag)
    with np.errstate(invalid="ignore", divide="ignore"):
        return gamma / gamma[0] if gamma[0] > 0 else np.full_like(gamma, np.nan)


def _ljung_box(rho: np.ndarray, n: int | float, lags: int) -> LjungBox:
    k = np.arange(1, lags + 1)
    q = n * (n + 2.0) * np.sum(rho[..., 1 : lags + 1] ** 2 / (n - k), axis=-1)
    return LjungBox(q, stats.chi2.sf(q, lags))


def ljung_box(x: np.ndarray, lags: int) -> LjungBox:
    """Ljung–Box portmanteau test of no autocorrelation up to lag `lags`.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 2 values.
    lags : int
        Number of autocorrelations pooled, in ``[1, len(x))``.

    Returns
    -------
    LjungBox
        ``Q(lags)`` and its chi-square(``lags``) upper-tail p-value (no fitted-model degrees
        of freedom removed), as ``statsmodels`` ``acorr_ljungbox(x, [lags])``; NaN for a
        constant series.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite, or `lags` is out of range.

    Notes
    -----
    ``Q(m) = n (n + 2) sum_{k=1}^m rho_k^2 / (n - k)``, asymptotically chi-square(m) under
    i.i.d. noise (Ljung & Box 1978).

    References
    ----------
    Ljung, G. M. and Box, G. E. P. (1978). On a measure of lack of fit in time series models.
    Biometrika 65(2), 297–303.
    """
    x = as_series(x)
    lags = _check_lag(check_window(lags, 1, "lags"), x.size)
    q, p = _ljung_box(autocorrelations(x, lags), x.size, lags)
    return LjungBox(float(q), float(p))


def autocorrelation_test(x: np.ndarray, lag: int = 1) -> AutocorrelationTest:
    """Bartlett test of zero autocorrelation at one lag under i.i.d. noise.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 2 values.
    lag : int, default 1
        The lag tested, in ``[1, len(x))``.

    Returns
    -------
    AutocorrelationTest
        ``rho_lag``, ``z = sqrt(n) rho_lag`` and the two-sided normal p-value; NaN for a
        constant series.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite, or `lag` is out of range.

    Notes
    -----
    Under i.i.d. noise ``sqrt(n) rho_k -> N(0, 1)`` (Bartlett 1946), so the band is
    ``+-z_{1-alpha/2} / sqrt(n)``. Under serial dependence or heteroskedasticity (e.g.
    volatility clustering) the variance is larger and the test over-rejects.

    References
    ----------
    Bartlett, M. S. (1946). On the theoretical specification and sampling properties of
    autocorrelated time-series. JRSS Supplement 8(1), 27–41.
    """
    x = as_series(x)
    lag = _check_lag(check_window(lag, 1, "lag"), x.size)
    rho = float(autocorrelations(x, lag)[lag])
    z = np.sqrt(x.size) * rho
    return AutocorrelationTest(rho, z, float(2.0 * stats.norm.sf(abs(z))))


@numba.njit(cache=True, nogil=True)
def _rolling_autocovariances(x, window, max_lag):  # pragma: no cover - compiled
    # The running-sum identity of the module notes, with the prefix sums accumulated left to
    # right (as np.cumsum does): c[i] = x_0 + ... + x_{i-1}, p_k[i] = sum_{s<i} x_s x_{s+k}.
    n = x.shape[0]
    out = np.full((n, max_lag + 1), np.nan)
    if window > n:
        return out
    c = _prefix_sum(x)
    p = np.empty(n + 1)
    for k in range(max_lag + 1):
        p[0] = 0.0
        acc = 0.0
        for s in range(n - k):
            acc += x[s] * x[s + k]
            p[s + 1] = acc
        for t in range(window - 1, n):
            total = c[t + 1] - c[t + 1 - window]
            mean = total / window
            cross = p[t - k + 1] - p[t + 1 - window]
            if k == 0:
                head = total
                tail = total
            else:
                tail = c[t + 1] - c[t + 1 - window + k]  # last window - k values
                head = c[t + 1 - k] - c[t + 1 - window]  # first window - k values
            out[t, k] = (cross - mean * (head + tail) + (window - k) * (mean * mean)) / window
    return out


def rolling_autocovariances(x: np.ndarray, window: int, max_lag: int) -> np.ndarray:
    """Autocovariances of every trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length, >= 2.
    max_lag : int
        Largest lag, in ``[0, window)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, max_lag + 1)``; row ``t`` equals
        ``autocovariances(x[t - window + 1 : t + 1], max_lag)`` (to rounding), rows before
        the window fills are NaN.

    Raises
    ------
    StatsInputError
        If `x` is not finite, `window` < 2 or `max_lag` is out of range.

    Notes
    -----
    Cost ``O(n * max_lag)`` whatever the window: running sums in one compiled loop (the
    identity of the module notes), on the input shifted by its first value to limit
    cancellation.
    """
    x = as_series(x)
    window = check_window(window)
    max_lag = _check_lag(max_lag, window)
    return _rolling_autocovariances(x - x[0], window, max_lag)


def rolling_autocorrelations(x: np.ndarray, window: int, max_lag: int) -> np.ndarray:
    """Autocorrelations of every trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length, >= 2.
    max_lag : int
        Largest lag, in ``[0, window)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, max_lag + 1)``; row ``t`` is :func:`autocorrelations` of the window
        ending at ``t``. NaN before the window fills and on windows holding one repeated
        value (exact test, :func:`constant_windows`).

    Raises
    ------
    StatsInputError
        If `x` is not finite, `window` < 2 or `max_lag` is out of range.
    """
    gamma = rolling_autocovariances(x, window, max_lag)
    flat = constant_windows(as_series(x), window)
    with np.errstate(invalid="ignore", divide="ignore"):
        gamma /= np.where(flat, np.nan, gamma[:, 0])[:, None]  # in place: rho
    return gamma


def rolling_ljung_box(x: np.ndarray, window: int, lags: int) -> LjungBox:
    """:func:`ljung_box` of every trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length ``n`` of each test, >= 2.
    lags : int
        Number of autocorrelations pooled, in ``[1, window)``.

    Returns
    -------
    LjungBox
        Arrays of ``Q(lags)`` and p-values, one per bar; NaN until the window fills and on
        constant windows.

    Raises
    ------
    StatsInputError
        If `x` is not finite or `window` / `lags` are out of range.
    """
    lags = check_window(lags, 1, "lags")
    rho = rolling_autocorrelations(x, window, lags)
    return _ljung_box(rho, window, lags)


def rolling_autocorrelation_test(x: np.ndarray, window: int, lag: int = 1) -> AutocorrelationTest:
    """:func:`autocorrelation_test` on every trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length ``n`` of each test, >= 2.
    lag : int, default 1
        The lag tested, in ``[1, window)``.

    Returns
    -------
    AutocorrelationTest
        Arrays of ``rho_lag``, ``z = sqrt(window) rho_lag`` and two-sided p-values, one per
        bar; NaN until the window fills and on constant windows.

    Raises
    ------
    StatsInputError
        If `x` is not finite or `window` / `lag` are out of range.
    """
    lag = check_window(lag, 1, "lag")
    rho = rolling_autocorrelations(x, window, lag)[:, lag]
    z = np.sqrt(window) * rho
    pvalue = 2.0 * special.ndtr(-np.abs(z))  # = 2 norm.sf(|z|), without scipy.stats' checks
    return AutocorrelationTest(rho, z, pvalue)
