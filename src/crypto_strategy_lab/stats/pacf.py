r"""Partial autocorrelation by the Durbin–Levinson recursion, with the ±z/√n band.

From the sample autocovariances ``γ_0..γ_K`` (divisor ``n``, :mod:`.autocorrelation`), the
recursion builds the AR(k) Yule–Walker coefficients ``φ_{k,1..k}`` order by order:

.. math::
    \phi_{k,k} = \frac{\gamma_k - \sum_{j=1}^{k-1}\phi_{k-1,j}\gamma_{k-j}}{v_{k-1}},\quad
    \phi_{k,j} = \phi_{k-1,j} - \phi_{k,k}\phi_{k-1,k-j},\quad
    v_k = v_{k-1}(1 - \phi_{k,k}^2),\ v_0 = \gamma_0 .

The PACF at lag ``k`` is ``φ_{k,k}`` (statsmodels ``pacf(method="ldb")``). For an AR(p) process
``φ_{k,k} = 0`` for ``k > p``, and under white noise (Quenouille 1949) ``√n φ̂_{k,k} → N(0, 1)``
independently across lags, hence the band ``±z_{1-α/2}/√n`` and the z statistic ``√n φ̂_{k,k}``.

By-products used by the strategy: ``φ_{p,1..p}`` give the one-step AR(p) forecast
``x̂_{t+1} = x̄ + Σ_j φ_{p,j}(x_{t+1-j} - x̄)``.

The rolling forms take the running-sum autocovariances (O(n K)) and run the recursion on every
row in one numba loop (O(n K²)); :func:`rolling_pacf_spike` does the whole spike rule (PACF,
largest |z|, its AR forecast) in that one pass over one autocovariance matrix.

References
----------
Durbin, J. (1960). The fitting of time-series models. Revue de l'Institut International de
Statistique 28(3), 233-244.
Brockwell, P. J. & Davis, R. A. (1991). Time Series: Theory and Methods, §5.2 and §8.2.
Quenouille, M. H. (1949). Approximate tests of correlation in time-series. JRSS B 11, 68-84.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from scipy import stats as sps

from crypto_strategy_lab.stats._windows import as_series, check_window
from crypto_strategy_lab.stats.autocorrelation import autocovariances, rolling_autocovariances


@numba.njit(cache=True)
def _levinson(
    gamma: np.ndarray, order: int, phi: np.ndarray, pacf: np.ndarray, prev: np.ndarray
) -> bool:
    """Fill ``pacf[:order]`` and ``phi[:order]`` (= ``φ_{order,1..order}``); False if degenerate.

    ``prev`` is scratch space of at least ``order`` values (reused across calls in the loops).
    """
    v = gamma[0]
    if not v > 0.0:
        return False
    prev[:order] = 0.0
    for k in range(1, order + 1):
        acc = gamma[k]
        for j in range(1, k):
            acc -= prev[j - 1] * gamma[k - j]
        a = acc / v
        pacf[k - 1] = a
        phi[k - 1] = a
        for j in range(1, k):
            phi[j - 1] = prev[j - 1] - a * prev[k - j - 1]
        v *= 1.0 - a * a
        for j in range(k):
            prev[j] = phi[j]
        if not v > 0.0:
            for j in range(k, order):
                pacf[j] = np.nan
            return False
    return True


def durbin_levinson(gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PACF and AR(K) Yule–Walker coefficients from autocovariances, by Durbin–Levinson.

    Parameters
    ----------
    gamma : numpy.ndarray
        Autocovariances ``γ_0 .. γ_K`` (at least 2 values, finite).

    Returns
    -------
    pacf : numpy.ndarray
        ``φ_{k,k}`` for ``k = 1..K``; NaN from the order where the innovation variance
        ``v_k`` stops being positive (a degenerate or constant series).
    phi : numpy.ndarray
        The AR(K) coefficients ``φ_{K,1..K}`` (meaningful only when every PACF is finite).

    Raises
    ------
    StatsInputError
        If `gamma` is too short or not finite.

    Notes
    -----
    The recursion of the module notes (Durbin 1960; Brockwell & Davis 1991, §5.2).
    """
    g = as_series(gamma, name="gamma", min_length=2)
    k = g.size - 1
    phi = np.zeros(k)
    pacf = np.full(k, np.nan)
    _levinson(g, k, phi, pacf, np.zeros(k))
    return pacf, phi


def pacf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample PACF at lags ``1..max_lag``.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 2 values.
    max_lag : int
        Largest lag ``K``, in ``[1, len(x))``.

    Returns
    -------
    numpy.ndarray
        ``φ̂_{k,k}`` for ``k = 1..K``: :func:`durbin_levinson` on the biased (divisor ``n``)
        autocovariances, as ``statsmodels`` ``pacf(x, K, method="ldb")``; NaN for a constant
        series.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite, or `max_lag` is out of range.
    """
    return durbin_levinson(autocovariances(x, max_lag))[0]


def pacf_band(n: int, alpha: float = 0.05) -> float:
    """Half-width ``z_{1-α/2} / √n`` of the white-noise band of a PACF.

    Parameters
    ----------
    n : int
        Number of observations the PACF was estimated from.
    alpha : float, default 0.05
        Two-sided significance level.

    Returns
    -------
    float
        The band half-width; under white noise ``√n φ̂_{k,k} -> N(0, 1)`` (Quenouille 1949).
    """
    return float(sps.norm.isf(alpha / 2.0) / np.sqrt(n))


@numba.njit(cache=True)
def _rolling_levinson(gamma: np.ndarray) -> np.ndarray:
    n, k1 = gamma.shape
    k = k1 - 1
    out = np.full((n, k), np.nan)
    phi = np.zeros(k)
    prev = np.zeros(k)
    for t in range(n):
        if np.isnan(gamma[t, 0]):
            continue
        _levinson(gamma[t], k, phi, out[t], prev)
    return out


def rolling_pacf(x: np.ndarray, window: int, max_lag: int) -> np.ndarray:
    """PACF of every trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length, >= 2.
    max_lag : int
        Largest lag, in ``[1, window)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, max_lag)``; ``out[t]`` equals ``pacf(x[t - window + 1 : t + 1],
        max_lag)`` to rounding, NaN before the window fills and on constant windows.
    """
    return _rolling_levinson(rolling_autocovariances(x, window, max_lag))


@numba.njit(cache=True)
def _ar_forecasts(
    x: np.ndarray, gamma: np.ndarray, means: np.ndarray, orders: np.ndarray
) -> np.ndarray:
    n = x.shape[0]
    out = np.full(n, np.nan)
    k = gamma.shape[1] - 1
    phi = np.zeros(k)
    pac = np.zeros(k)
    prev = np.zeros(k)
    for t in range(n):
        p = orders[t]
        if p <= 0 or np.isnan(gamma[t, 0]) or t + 1 < p:
            continue
        if not _levinson(gamma[t], p, phi, pac, prev):
            continue
        f = 0.0
        for j in range(1, p + 1):
            f += phi[j - 1] * (x[t + 1 - j] - means[t])
        out[t] = means[t] + f
    return out


def rolling_ar_forecast(x: np.ndarray, window: int, orders: np.ndarray) -> np.ndarray:
    """One-step AR forecast from a Yule–Walker fit on each trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length, >= 2.
    orders : numpy.ndarray
        AR order per bar (integers, ``< window``); ``<= 0`` means no forecast.

    Returns
    -------
    numpy.ndarray
        ``out[t] = x̂_{t+1} = x̄ + Σ_{j=1}^{p} φ_{p,j} (x_{t+1-j} - x̄)`` with ``p = orders[t]``,
        ``x̄`` the window mean and ``φ_{p,·}`` fitted on the window ending at ``t``; NaN where
        ``orders[t] <= 0``, the window is not full or the fit is degenerate.
    """
    x = as_series(x)
    window = check_window(window)
    orders = np.asarray(orders, dtype=np.int64)
    max_order = max(int(orders.max(initial=0)), 1)
    gamma = rolling_autocovariances(x, window, max_order)
    csum = np.concatenate(([0.0], np.cumsum(x)))
    means = np.full(x.size, np.nan)
    means[window - 1 :] = (csum[window:] - csum[:-window]) / window
    return _ar_forecasts(x, gamma, means, orders)


class PACFSpike(NamedTuple):
    """The PACF spike of each trailing window and its AR forecast.

    Per window: the lag with the largest ``|z|`` if it clears the band (NaN if not), its PACF,
    that largest ``z`` (cleared or not) and the AR(lag) one-step forecast.
    """

    lag: np.ndarray
    pacf: np.ndarray
    z: np.ndarray
    forecast: np.ndarray


@numba.njit(cache=True)
def _pacf_spikes(
    x, gamma, means, scale, z_crit, lag, spike_pacf, spike_z, forecast
):  # pragma: no cover
    # One row at a time: the PACF to max_lag, the lag of the largest finite |z| (the first on
    # ties, as np.argmax), and when it clears z_crit the AR(lag) forecast from the recursion
    # stopped at that order; the same arithmetic as rolling_pacf + rolling_ar_forecast.
    n, k1 = gamma.shape
    k = k1 - 1
    phi = np.zeros(k)
    pac = np.empty(k)
    scratch = np.empty(k)
    prev = np.zeros(k)
    for t in range(n):
        if np.isnan(gamma[t, 0]):
            continue
        pac[:] = np.nan
        _levinson(gamma[t], k, phi, pac, prev)
        best = -1.0
        k_star = 0
        for j in range(k):
            z = pac[j] * scale
            size = abs(z) if np.isfinite(z) else -1.0
            if size > best:
                best = size
                k_star = j
        spike_z[t] = pac[k_star] * scale
        if not best > z_crit:
            continue
        p = k_star + 1
        lag[t] = p
        spike_pacf[t] = pac[k_star]
        if t + 1 < p or not _levinson(gamma[t], p, phi, scratch, prev):
            continue
        f = 0.0
        for j in range(1, p + 1):
            f += phi[j - 1] * (x[t + 1 - j] - means[t])
        forecast[t] = means[t] + f


def rolling_pacf_spike(x: np.ndarray, window: int, max_lag: int, z_crit: float) -> PACFSpike:
    """The PACF spike of every trailing window in one compiled pass.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length, >= 2.
    max_lag : int
        Largest lag searched, in ``[1, window)``.
    z_crit : float
        A spike is the largest ``|z_k|`` when it exceeds this.

    Returns
    -------
    PACFSpike
        Per bar: the spike's lag (NaN without a spike), its PACF, the largest ``z``
        (whether or not it clears `z_crit`) and the AR(lag) one-step forecast.

    Notes
    -----
    Row ``t``: ``z_k = √window φ̂_{k,k}`` for ``k = 1..max_lag`` on ``x[t - window + 1 : t + 1]``,
    the lag ``k*`` of the largest ``|z_k|``, and when ``|z_{k*}| > z_crit`` the Yule–Walker
    AR(``k*``) one-step forecast (as :func:`rolling_ar_forecast`). Equal, value for value, to
    :func:`rolling_pacf` followed by an argmax and :func:`rolling_ar_forecast`, with one
    autocovariance matrix and one recursion pass instead of two of each.
    """
    x = as_series(x)
    window = check_window(window)
    gamma = rolling_autocovariances(x, window, max_lag)
    csum = np.concatenate(([0.0], np.cumsum(x)))
    means = np.full(x.size, np.nan)
    means[window - 1 :] = (csum[window:] - csum[:-window]) / window
    lag, spike_pacf, spike_z, forecast = (np.full(x.size, np.nan) for _ in range(4))
    _pacf_spikes(
        x, gamma, means, np.sqrt(window), float(z_crit), lag, spike_pacf, spike_z, forecast
    )
    return PACFSpike(lag, spike_pacf, spike_z, forecast)
