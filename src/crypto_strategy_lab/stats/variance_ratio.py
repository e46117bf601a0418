r"""Lo–MacKinlay variance ratio with overlapping q-period returns and the robust z*(q).

For one-period (log) returns :math:`r_1, \dots, r_n` with mean :math:`\hat\mu` and the
overlapping q-period sums :math:`r_t^{(q)} = r_t + \dots + r_{t-q+1}` (:math:`t = q..n`):

.. math::

    \hat\sigma_1^2 = \frac{1}{n-1} \sum_t (r_t - \hat\mu)^2, \qquad
    \hat\sigma_q^2 = \frac{1}{m} \sum_{t=q}^{n} (r_t^{(q)} - q\hat\mu)^2, \quad
    m = q (n - q + 1)\Big(1 - \frac qn\Big),

    VR(q) = \hat\sigma_q^2 / \hat\sigma_1^2 \;\approx\; 1 + 2\sum_{k=1}^{q-1}
    \Big(1 - \frac kq\Big)\rho_k .

Under the martingale-difference null with heteroskedasticity (Lo & MacKinlay 1988, eq. 20):

.. math::

    z^*(q) = \frac{\sqrt n\,(VR(q) - 1)}{\sqrt{\hat\theta(q)}} \to N(0, 1), \qquad
    \hat\theta(q) = \sum_{k=1}^{q-1} \Big[\frac{2(q-k)}{q}\Big]^2 \hat\delta_k, \quad
    \hat\delta_k = \frac{n \sum_{t} (r_t-\hat\mu)^2 (r_{t+k}-\hat\mu)^2}
                        {\big[\sum_t (r_t-\hat\mu)^2\big]^2}.

This is exactly ``arch.unitroot.VarianceRatio(y, q, trend="c", debiased=True, robust=True,
overlap=True)`` applied to the log-price ``y = cumsum(r)``. ``VR > 1`` means positively
autocorrelated returns (trending), ``VR < 1`` negatively (mean reverting).

Rolling form: every sum above is a running sum (the fourth-moment cross products expand into
sums of :math:`r_t^i r_{t+k}^j`, :math:`i, j \le 2`), so the cost is :math:`O(n q)` for any
window (one compiled pass per lag forms all nine sums). A window of identical returns has
:math:`\hat\sigma_1 = 0`: VR is NaN there.

References
----------
Lo, A. W. and MacKinlay, A. C. (1988). Stock market prices do not follow random walks:
evidence from a simple specification test. Review of Financial Studies 1(1), 41–66.
Campbell, Lo and MacKinlay (1997). The Econometrics of Financial Markets, §2.4.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from scipy import special, stats

from crypto_strategy_lab.stats._windows import (
    StatsInputError,
    as_series,
    check_window,
    constant_windows,
    rolling_sum,
)


class VarianceRatio(NamedTuple):
    """``VR(q)``, the robust ``z*(q)`` and its two-sided normal p-value."""

    vr: float | np.ndarray
    z: float | np.ndarray
    pvalue: float | np.ndarray


def _check_q(q: int, n: int) -> int:
    q = check_window(q, 2, "q")
    if q >= n:
        raise StatsInputError(f"q must be smaller than the number of returns ({n}), got {q}")
    return q


def variance_ratio(returns: np.ndarray, q: int) -> VarianceRatio:
    """Lo–MacKinlay variance ratio ``VR(q)`` with the heteroskedasticity-robust ``z*(q)``.

    Parameters
    ----------
    returns : numpy.ndarray
        1-D finite one-period (log) returns, at least 3.
    q : int
        Aggregation horizon in periods, in ``[2, len(returns))``.

    Returns
    -------
    VarianceRatio
        ``VR(q)`` (> 1: positively autocorrelated, trending; < 1: mean reverting), ``z*(q)``
        and its two-sided normal p-value; NaN (not an error) when the returns are all equal.

    Raises
    ------
    StatsInputError
        If `returns` is too short or not finite, or `q` is out of range.

    Notes
    -----
    With overlapping q-period sums and the bias-corrected variances of the module notes::

        VR(q) = sigma_q^2 / sigma_1^2,   z*(q) = sqrt(n) (VR(q) - 1) / sqrt(theta(q))
        theta(q) = sum_{k=1}^{q-1} (2 (q - k) / q)^2 delta_k

    (Lo & MacKinlay 1988, eq. 20); equal to ``arch.unitroot.VarianceRatio(cumsum(returns),
    q, trend="c", debiased=True, robust=True, overlap=True)``.

    References
    ----------
    Lo, A. W. and MacKinlay, A. C. (1988). Stock market prices do not follow random walks:
    evidence from a simple specification test. Review of Financial Studies 1(1), 41–66.
    """
    r = as_series(returns, "returns", min_length=3)
    q = _check_q(q, r.size)
    n = r.size
    d = r - r.mean()
    z2 = d * d
    ss = z2.sum()
    if np.ptp(r) == 0.0:
        return VarianceRatio(np.nan, np.nan, np.nan)
    csum = np.concatenate(([0.0], np.cumsum(d)))
    dq = csum[q:] - csum[:-q]
    m = q * (n - q + 1) * (1.0 - q / n)
    vr = (dq @ dq / m) / (ss / (n - 1))
    theta = sum(4.0 * (1.0 - k / q) ** 2 * n * (z2[k:] @ z2[:-k]) / ss**2 for k in range(1, q))
    z = np.sqrt(n) * (vr - 1.0) / np.sqrt(theta)
    return VarianceRatio(float(vr), float(z), float(2.0 * stats.norm.sf(abs(z))))


@numba.njit(cache=True, nogil=True)
def _theta_numerator(r, r2, mu, window, weights):  # pragma: no cover - compiled
    # sum_k weights[k-1] * sum_t (r_t - mu)^2 (r_{t+k} - mu)^2 over the pairs inside the window
    # ending at each bar, with mu the window's mean: the cross product expands into
    # sum_{i,j} c_i c_j S_ij, c = (mu^2, -2 mu, 1), S_ij = windowed sum of r_s^i r_{s+k}^j.
    # Each S_ij is the difference of a running prefix sum two window-lengths apart, kept in a
    # ring of window - k + 1 slots; one pass per lag forms all nine (no array per S_ij).
    n = r.shape[0]
    out = np.zeros(n)
    acc = np.zeros(9)
    for k in range(1, weights.shape[0] + 1):
        span = window - k
        ring = np.zeros((span + 1, 9))
        acc[:] = 0.0
        for s in range(n - k):
            a0, a1, a2 = 1.0, r[s], r2[s]
            b0, b1, b2 = 1.0, r[s + k], r2[s + k]
            acc[0] += a0 * b0
            acc[1] += a0 * b1
            acc[2] += a0 * b2
            acc[3] += a1 * b0
            acc[4] += a1 * b1
            acc[5] += a1 * b2
            acc[6] += a2 * b0
            acc[7] += a2 * b1
            acc[8] += a2 * b2
            now = (s + 1) % (span + 1)
            ring[now] = acc
            t = s + k
            if t < window - 1:
                continue
            old = ring[(s + 1 - span) % (span + 1)]
            m = mu[t]
            c0, c1 = m * m, -2.0 * m
            cross = 0.0
            cross += c0 * c0 * (acc[0] - old[0])
            cross += c0 * c1 * (acc[1] - old[1])
            cross += c0 * (acc[2] - old[2])
            cross += c1 * c0 * (acc[3] - old[3])
            cross += c1 * c1 * (acc[4] - old[4])
            cross += c1 * (acc[5] - old[5])
            cross += c0 * (acc[6] - old[6])
            cross += c1 * (acc[7] - old[7])
            cross += acc[8] - old[8]
            out[t] += weights[k - 1] * cross
    out[: window - 1] = np.nan
    return out


def rolling_variance_ratio(returns: np.ndarray, window: int, q: int) -> VarianceRatio:
    """:func:`variance_ratio` of every trailing window of `window` returns.

    Parameters
    ----------
    returns : numpy.ndarray
        1-D finite one-period (log) returns.
    window : int
        Window length ``n`` of each test, >= 3.
    q : int
        Aggregation horizon, in ``[2, window)``.

    Returns
    -------
    VarianceRatio
        Arrays, one value per bar: row ``t`` equals
        ``variance_ratio(returns[t - window + 1 : t + 1], q)`` to rounding; NaN before the
        window fills and on constant windows.

    Raises
    ------
    StatsInputError
        If `returns` is not finite, or `window` / `q` are out of range.

    Notes
    -----
    Cost ``O(n q)`` whatever the window: every sum is a running sum (module notes).
    """
    r = as_series(returns, "returns", min_length=1)
    window = check_window(window, 3)
    q = _check_q(q, window)
    n, w = r.size, window
    nan = np.full(n, np.nan)
    if w > n:
        return VarianceRatio(nan, nan.copy(), nan.copy())
    s1 = rolling_sum(r, w)
    s2 = rolling_sum(r * r, w)
    mu = s1 / w
    ss = s2 - w * mu * mu  # sum (r - mu)^2
    # overlapping q-sums ending at t (0 before they exist: those are never used)
    qsum = np.nan_to_num(rolling_sum(r, q))
    n_q = w - q + 1
    sq1 = rolling_sum(qsum, n_q)
    sq2 = rolling_sum(qsum * qsum, n_q)
    dev_q = sq2 - 2.0 * q * mu * sq1 + n_q * (q * mu) ** 2
    m = q * (w - q + 1) * (1.0 - q / w)
    flat = constant_windows(r, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        vr = np.where(flat, np.nan, (dev_q / m) / (ss / (w - 1)))
    weights = np.array([4.0 * (1.0 - k / q) ** 2 * w for k in range(1, q)])
    theta = _theta_numerator(r, r * r, mu, w, weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta /= ss * ss
        z = np.sqrt(w) * (vr - 1.0) / np.sqrt(theta)
    pvalue = 2.0 * special.ndtr(-np.abs(z))  # = 2 norm.sf(|z|), without scipy.stats' checks
    return VarianceRatio(vr, z, pvalue)
