"""Partial autocorrelation by the Durbin–Levinson recursion, with the ±z/√n band.

From the sample autocovariances ``γ_0..γ_K`` (divisor ``n``, :mod:`.autocorrelation`), the
recursion builds the AR(k) Yule–Walker coefficients ``φ_{k,1..k}`` order by order:

.. math::
    \\phi_{k,k} = \\frac{\\gamma_k - \\sum_{j=1}^{k-1}\\phi_{k-1,j}\\gamma_{k-j}}{v_{k-1}},\\quad
    \\phi_{k,j} = \\phi_{k-1,j} - \\phi_{k,k}\\phi_{k-1,k-j},\\quad
    v_k = v_{k-1}(1 - \\phi_{k,k}^2),\\ v_0 = \\gamma_0 .

The PACF at lag ``k`` is ``φ_{k,k}`` (statsmodels ``pacf(method="ldb")``). For an AR(p) process
``φ_{k,k} = 0`` for ``k > p``, and under white noise (Quenouille 1949) ``√n φ̂_{k,k} → N(0, 1)``
independently across lags, hence the band ``±z_{1-α/2}/√n`` and the z statistic ``√n φ̂_{k,k}``.

By-products used by the strategy: ``φ_{p,1..p}`` give the one-step AR(p) forecast
``x̂_{t+1} = x̄ + Σ_j φ_{p,j}(x_{t+1-j} - x̄)``.

The rolling forms take the running-sum autocovariances (O(n K)) and run the recursion on every
row in one numba loop (O(n K²)).

References
----------
Durbin, J. (1960). The fitting of time-series models. Revue de l'Institut International de
Statistique 28(3), 233-244.
Brockwell, P. J. & Davis, R. A. (1991). Time Series: Theory and Methods, §5.2 and §8.2.
Quenouille, M. H. (1949). Approximate tests of correlation in time-series. JRSS B 11, 68-84.
"""

from __future__ import annotations

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
    """PACF ``φ_{k,k}, k = 1..K`` and the AR(K) coefficients ``φ_{K,1..K}`` from ``γ_0..γ_K``."""
    g = as_series(gamma, name="gamma", min_length=2)
    k = g.size - 1
    phi = np.zeros(k)
    pacf = np.full(k, np.nan)
    _levinson(g, k, phi, pacf, np.zeros(k))
    return pacf, phi


def pacf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample PACF at lags ``1..max_lag`` (Durbin–Levinson on the biased autocovariances)."""
    return durbin_levinson(autocovariances(x, max_lag))[0]


def pacf_band(n: int, alpha: float = 0.05) -> float:
    """Half-width ``z_{1-α/2} / √n`` of the white-noise band."""
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
    """PACF of every trailing window, shape ``(n, max_lag)``; NaN before the window fills and
    on constant windows. ``out[t] == pacf(x[t - window + 1 : t + 1], max_lag)``."""
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
    """One-step AR forecast ``x̂_{t+1}`` from the Yule–Walker AR(``orders[t]``) fitted on the
    window ending at ``t`` (NaN where ``orders[t] <= 0`` or the window is not full)."""
    x = as_series(x)
    window = check_window(window)
    orders = np.asarray(orders, dtype=np.int64)
    max_order = max(int(orders.max(initial=0)), 1)
    gamma = rolling_autocovariances(x, window, max_order)
    csum = np.concatenate(([0.0], np.cumsum(x)))
    means = np.full(x.size, np.nan)
    means[window - 1 :] = (csum[window:] - csum[:-window]) / window
    return _ar_forecasts(x, gamma, means, orders)
