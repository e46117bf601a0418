r"""Drift significance: the drift MLE, its Cramér–Rao bound, t/z statistics and Newey–West HAC.

Model (geometric Brownian motion sampled at a fixed step): log returns
:math:`r_t \overset{iid}{\sim} N(\mu, \sigma^2)`. The log-likelihood
:math:`\ell = -\frac n2 \log(2\pi\sigma^2) - \frac1{2\sigma^2}\sum (r_t - \mu)^2` gives

.. math::

    \hat\mu = \bar r, \qquad \hat\sigma^2_{ML} = \frac1n \sum (r_t - \bar r)^2, \qquad
    I(\mu) = \frac{n}{\sigma^2} \;\Rightarrow\; \operatorname{Var}(\tilde\mu) \ge
    \frac{\sigma^2}{n} \quad\text{(Cramér–Rao)},

a bound the sample mean attains. With the plug-in bound
:math:`\widehat{\text{CRLB}} = \hat\sigma^2_{ML}/n`,
:math:`z = \hat\mu / \sqrt{\widehat{\text{CRLB}}}` is asymptotically :math:`N(0,1)` under
:math:`\mu = 0`; the exact small-sample version is
Student's :math:`t = \hat\mu\sqrt n / s \sim t_{n-1}` (:math:`s` with divisor :math:`n-1`),
which is what we report (identical to ``scipy.stats.ttest_1samp``).

Returns are not i.i.d. (volatility clustering, serial correlation), so we also report the
heteroskedasticity- and autocorrelation-consistent version (Newey & West 1987): the
long-run variance with Bartlett weights

.. math::

    \hat\Omega = \hat\gamma_0 + 2 \sum_{k=1}^{L} \Big(1 - \frac{k}{L+1}\Big) \hat\gamma_k,
    \qquad z_{HAC} = \hat\mu \Big/ \sqrt{\hat\Omega / n} \to N(0, 1),

with :math:`\hat\gamma_k` the divisor-``n`` autocovariances. This equals
``statsmodels.OLS(r, 1).fit(cov_type="HAC", cov_kwds={"maxlags": L})``. The default
:math:`L = \lfloor 4 (n/100)^{2/9} \rfloor` is Newey & West's (1994) rule. :math:`\hat\Omega`
is non-negative by construction; a window of identical returns gives NaN statistics.

References
----------
Cramér, H. (1946). Mathematical Methods of Statistics. Princeton; Rao, C. R. (1945).
Information and the accuracy attainable in the estimation of statistical parameters.
Newey, W. K. and West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity and
autocorrelation consistent covariance matrix. Econometrica 55(3), 703–708.
Newey, W. K. and West, K. D. (1994). Automatic lag selection in covariance matrix estimation.
Review of Economic Studies 61(4), 631–653.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special, stats

from crypto_strategy_lab.stats._windows import (
    StatsInputError,
    as_series,
    check_window,
    constant_windows,
    rolling_sum,
)
from crypto_strategy_lab.stats.autocorrelation import autocovariances, rolling_autocovariances


class DriftTest(NamedTuple):
    """Drift MLE, plug-in Cramér–Rao standard error, t-test and Newey–West HAC z-test."""

    mu: float | np.ndarray
    crlb_se: float | np.ndarray
    t: float | np.ndarray
    pvalue: float | np.ndarray
    hac_se: float | np.ndarray
    hac_z: float | np.ndarray
    hac_pvalue: float | np.ndarray


def newey_west_lags(n: int) -> int:
    """Newey–West (1994) automatic bandwidth for a Bartlett-kernel HAC variance.

    Parameters
    ----------
    n : int
        Number of observations.

    Returns
    -------
    int
        ``L = floor(4 (n / 100)^(2/9))`` (e.g. 4 for 100 observations, 6 for 1000).

    References
    ----------
    Newey, W. K. and West, K. D. (1994). Automatic lag selection in covariance matrix
    estimation. Review of Economic Studies 61(4), 631–653.
    """
    return int(np.floor(4.0 * (n / 100.0) ** (2.0 / 9.0)))


def _bartlett(lags: int) -> np.ndarray:
    return np.concatenate(([1.0], 2.0 * (1.0 - np.arange(1, lags + 1) / (lags + 1))))


def _assemble(mu, gamma, n, lags) -> DriftTest:
    var_ml = gamma[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        crlb_se = np.sqrt(var_ml / n)
        t = mu / (crlb_se * np.sqrt(n / (n - 1.0)))
        hac_se = np.sqrt(np.maximum(gamma @ _bartlett(lags), 0.0) / n)
        hac_z = mu / hac_se
    return DriftTest(
        mu,
        crlb_se,
        t,
        2.0 * stats.t.sf(np.abs(t), n - 1),
        hac_se,
        hac_z,
        2.0 * special.ndtr(-np.abs(hac_z)),  # = 2 norm.sf(|z|), without scipy.stats' checks
    )


def drift_test(returns: np.ndarray, hac_lags: int | None = None) -> DriftTest:
    """Test of zero drift of log returns: Student's t and the Newey–West HAC z.

    Parameters
    ----------
    returns : numpy.ndarray
        1-D finite **log** returns at a fixed step, at least 3.
    hac_lags : int, optional
        Bartlett bandwidth ``L`` of the HAC variance, in ``[0, len(returns))``; default
        :func:`newey_west_lags` of the sample size.

    Returns
    -------
    DriftTest
        ``mu`` (the sample mean, per step, not annualised), ``crlb_se = sqrt(sigma2_ML / n)``,
        ``t = mu sqrt(n) / s`` with its two-sided Student-t(n - 1) p-value (as
        ``scipy.stats.ttest_1samp``), and ``hac_se``, ``hac_z = mu / hac_se`` with its
        two-sided normal p-value. All but ``mu`` are NaN for constant returns.

    Raises
    ------
    StatsInputError
        If `returns` has fewer than 3 values or non-finite ones, or `hac_lags` is out of
        range.

    Notes
    -----
    With ``gamma_k`` the divisor-``n`` autocovariances (:func:`autocovariances`), the
    long-run variance with Bartlett weights is (Newey & West 1987)::

        Omega = gamma_0 + 2 sum_{k=1}^{L} (1 - k / (L + 1)) gamma_k,  hac_se = sqrt(Omega / n)

    which equals ``statsmodels`` OLS on a constant with ``cov_type="HAC"`` and
    ``maxlags=L``. ``L = 0`` gives the heteroskedasticity-only (White) standard error, equal
    to ``crlb_se``.

    References
    ----------
    Newey, W. K. and West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity
    and autocorrelation consistent covariance matrix. Econometrica 55(3), 703–708.
    """
    r = as_series(returns, "returns", min_length=3)
    lags = newey_west_lags(r.size) if hac_lags is None else check_window(hac_lags, 0, "hac_lags")
    if lags >= r.size:
        raise StatsInputError(f"hac_lags must be < the number of returns ({r.size}), got {lags}")
    gamma = autocovariances(r, lags)
    if np.ptp(r) == 0.0:
        gamma = np.full_like(gamma, np.nan)
    res = _assemble(float(r.mean()), gamma, r.size, lags)
    return DriftTest(*(float(v) for v in res))


def rolling_drift_test(returns: np.ndarray, window: int, hac_lags: int | None = None) -> DriftTest:
    """:func:`drift_test` on every trailing window of `window` returns.

    Parameters
    ----------
    returns : numpy.ndarray
        1-D finite log returns.
    window : int
        Window length ``n`` of each test, >= 3.
    hac_lags : int, optional
        Bartlett bandwidth, in ``[0, window)``; default :func:`newey_west_lags` of `window`.

    Returns
    -------
    DriftTest
        Arrays, one value per bar; NaN until the window fills and (except ``mu``) on
        constant windows.

    Raises
    ------
    StatsInputError
        If `returns` is not finite, `window` < 3 or `hac_lags` is out of range.

    Notes
    -----
    Row ``t`` equals ``drift_test(returns[t - window + 1 : t + 1], hac_lags)`` to rounding;
    cost ``O(n * hac_lags)`` (running sums, :func:`rolling_autocovariances`).
    """
    r = as_series(returns, "returns", min_length=1)
    window = check_window(window, 3)
    lags = newey_west_lags(window) if hac_lags is None else check_window(hac_lags, 0, "hac_lags")
    if lags >= window:
        raise StatsInputError(f"hac_lags must be < window ({window}), got {lags}")
    mu = rolling_sum(r, window) / window
    gamma = rolling_autocovariances(r, window, lags)
    gamma[constant_windows(r, window)] = np.nan
    return _assemble(mu, gamma, window, lags)
