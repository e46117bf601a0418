"""Probabilistic, deflated and minimum-track-record Sharpe statistics.

All Sharpe ratios here are **per period** (not annualised) and kurtosis is **raw** (3 for a
normal). With ``SR`` the observed per-period Sharpe ratio of ``n`` returns with skewness
``g3`` and kurtosis ``g4``, the estimator's standard error is (Mertens 2002; Bailey & López de
Prado 2012, eq. 8)

    sigma(SR) = sqrt((1 - g3 * SR + (g4 - 1) / 4 * SR^2) / (n - 1)).

* PSR  (Bailey & López de Prado 2012, "The Sharpe Ratio Efficient Frontier", J. of Risk 15(2)):
  ``PSR(SR*) = Phi((SR - SR*) * sqrt(n - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2))``.
* MinTRL (same paper): ``1 + (1 - g3 SR + (g4 - 1)/4 SR^2) * (z_{1-alpha} / (SR - SR*))^2``,
  the number of observations at which ``PSR(SR*) = 1 - alpha``.
* Expected maximum of N unskilled Sharpe ratios with variance ``V`` (Bailey & López de Prado
  2014, "The Deflated Sharpe Ratio", J. of Portfolio Management 40(5), eq. 2, via the
  Euler-Mascheroni constant gamma):
  ``E[max SR] = sqrt(V) * ((1 - gamma) * Z^-1(1 - 1/N) + gamma * Z^-1(1 - 1/(N e)))``.
* DSR = PSR with ``SR* = E[max SR]``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from crypto_strategy_lab.core.errors import CSLError

EULER_MASCHERONI = float(np.euler_gamma)


class SharpeStatisticsError(CSLError):
    """Arguments outside the domain of PSR/DSR/MinTRL (too few observations, bad kurtosis)."""


def _variance_factor(sr: float, skew: float, kurtosis: float) -> float:
    factor = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    if not factor > 0.0:
        raise SharpeStatisticsError(
            f"1 - skew*SR + (kurtosis-1)/4*SR^2 = {factor:.4g} <= 0 (SR={sr}, skew={skew}, "
            f"kurtosis={kurtosis}); kurtosis is raw (3 = normal), SR per period"
        )
    return factor


def sharpe_ratio_std(sr: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0) -> float:
    """Standard error of a per-period Sharpe ratio estimate.

    Parameters
    ----------
    sr : float
        Observed Sharpe ratio, per period (not annualised).
    n_obs : int
        Number of returns the ratio was estimated from; at least 2.
    skew : float, default 0.0
        Skewness of the returns.
    kurtosis : float, default 3.0
        Raw (non-excess) kurtosis of the returns; 3 for a normal distribution.

    Returns
    -------
    float
        ``sigma(SR)``, in the same per-period units as `sr`.

    Raises
    ------
    SharpeStatisticsError
        If ``n_obs < 2`` or the variance factor below is not positive.

    Notes
    -----
    With ``g3`` the skewness and ``g4`` the raw kurtosis (Mertens 2002; Bailey & López de
    Prado 2012)::

        sigma(SR) = sqrt((1 - g3 SR + (g4 - 1)/4 SR^2) / (n - 1))

    For normal returns (``g3 = 0``, ``g4 = 3``) it reduces to ``sqrt((1 + SR^2/2) / (n - 1))``.

    References
    ----------
    Bailey, D. H. and López de Prado, M. (2012). "The Sharpe Ratio Efficient Frontier".
    Journal of Risk 15(2), 3-44.
    """
    if n_obs < 2:
        raise SharpeStatisticsError(f"n_obs must be at least 2, got {n_obs}")
    return math.sqrt(_variance_factor(sr, skew, kurtosis) / (n_obs - 1))


def probabilistic_sharpe_ratio(
    sr: float, sr_benchmark: float, n_obs: int, skew: float, kurtosis: float
) -> float:
    """Probability that the true Sharpe ratio exceeds a benchmark (PSR).

    Parameters
    ----------
    sr : float
        Observed Sharpe ratio, per period (not annualised).
    sr_benchmark : float
        Benchmark Sharpe ratio ``SR*``, per period, in the units of `sr`.
    n_obs : int
        Number of returns `sr` was estimated from; at least 2.
    skew : float
        Skewness of the returns.
    kurtosis : float
        Raw (non-excess) kurtosis of the returns; 3 for a normal distribution.

    Returns
    -------
    float
        ``PSR(SR*)`` in [0, 1].

    Raises
    ------
    SharpeStatisticsError
        If ``n_obs < 2`` or ``1 - skew SR + (kurtosis - 1)/4 SR^2 <= 0``.

    Notes
    -----
    With ``Phi`` the standard normal CDF, ``g3`` the skewness and ``g4`` the raw kurtosis
    (Bailey & López de Prado 2012)::

        PSR(SR*) = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2))

    The standard error uses the observed ``SR``, not ``SR*`` (see :func:`sharpe_ratio_std`).

    References
    ----------
    Bailey, D. H. and López de Prado, M. (2012). "The Sharpe Ratio Efficient Frontier".
    Journal of Risk 15(2), 3-44.
    """
    return float(norm.cdf((sr - sr_benchmark) / sharpe_ratio_std(sr, n_obs, skew, kurtosis)))


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """Expected maximum Sharpe ratio of unskilled trials (the DSR benchmark).

    The expected largest of `n_trials` Sharpe ratio estimates whose true value is 0 and whose
    estimates have variance `sr_variance` across trials.

    Parameters
    ----------
    n_trials : int
        Number of independent trials ``N`` (from the trial log); at least 1.
    sr_variance : float
        Variance ``V`` of the trials' Sharpe ratio estimates, per period squared; >= 0.

    Returns
    -------
    float
        ``E[max SR]``, per period; 0.0 for a single trial.

    Raises
    ------
    SharpeStatisticsError
        If ``n_trials < 1`` or ``sr_variance`` is negative or NaN.

    Notes
    -----
    With ``Z^-1`` the standard normal quantile and ``gamma`` the Euler-Mascheroni constant
    (Bailey & López de Prado 2014, eq. 2; the extreme-value approximation of the maximum of
    ``N`` normal draws)::

        E[max SR] = sqrt(V) ((1 - gamma) Z^-1(1 - 1/N) + gamma Z^-1(1 - 1/(N e)))

    References
    ----------
    Bailey, D. H. and López de Prado, M. (2014). "The Deflated Sharpe Ratio: Correcting
    for Selection Bias, Backtest Overfitting and Non-Normality". Journal of Portfolio
    Management 40(5), 94-107.
    """
    if n_trials < 1:
        raise SharpeStatisticsError(f"n_trials must be at least 1, got {n_trials}")
    if not sr_variance >= 0.0:
        raise SharpeStatisticsError(f"sr_variance must be >= 0, got {sr_variance}")
    if n_trials == 1:
        return 0.0
    g = EULER_MASCHERONI
    z = (1.0 - g) * norm.ppf(1.0 - 1.0 / n_trials) + g * norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(sr_variance) * z)


def deflated_sharpe_ratio(
    sr: float, n_obs: int, skew: float, kurtosis: float, n_trials: int, sr_variance: float
) -> float:
    """Deflated Sharpe ratio: PSR against the best of `n_trials` unskilled trials.

    Parameters
    ----------
    sr : float
        Observed Sharpe ratio of the selected strategy, per period (not annualised).
    n_obs : int
        Number of returns `sr` was estimated from; at least 2.
    skew : float
        Skewness of the selected strategy's returns.
    kurtosis : float
        Raw (non-excess) kurtosis of its returns; 3 for a normal distribution.
    n_trials : int
        Number of trials the strategy was selected from; should come from the trial log
        (:meth:`crypto_strategy_lab.validation.trial_log.TrialLog.deflation`, as the gate
        does).
    sr_variance : float
        Variance of the trials' Sharpe ratios, per period of the selected strategy's bars,
        also from the trial log.

    Returns
    -------
    float
        The probability in [0, 1] that the true Sharpe ratio exceeds the expected maximum of
        `n_trials` unskilled ones; equals the PSR against 0 when ``n_trials == 1``.

    Raises
    ------
    SharpeStatisticsError
        If any argument is outside the domain of :func:`expected_max_sharpe` or
        :func:`probabilistic_sharpe_ratio`.

    Notes
    -----
    The PSR of :func:`probabilistic_sharpe_ratio` with the benchmark deflated for selection
    (Bailey & López de Prado 2014)::

        DSR = PSR(SR* = E[max SR]),  E[max SR] = expected_max_sharpe(n_trials, sr_variance)

    References
    ----------
    Bailey, D. H. and López de Prado, M. (2014). "The Deflated Sharpe Ratio: Correcting
    for Selection Bias, Backtest Overfitting and Non-Normality". Journal of Portfolio
    Management 40(5), 94-107.
    """
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    return probabilistic_sharpe_ratio(sr, sr0, n_obs, skew, kurtosis)


def min_track_record_length(
    sr: float, sr_benchmark: float, skew: float, kurtosis: float, alpha: float = 0.05
) -> float:
    """Minimum track record length for ``PSR(sr_benchmark) >= 1 - alpha`` (MinTRL).

    Parameters
    ----------
    sr : float
        Observed Sharpe ratio, per period (not annualised).
    sr_benchmark : float
        Benchmark Sharpe ratio ``SR*``, per period.
    skew : float
        Skewness of the returns.
    kurtosis : float
        Raw (non-excess) kurtosis of the returns; 3 for a normal distribution.
    alpha : float, default 0.05
        Significance level, in (0, 1).

    Returns
    -------
    float
        The number of observations (periods, not years; fractional), or ``inf`` when
        ``sr <= sr_benchmark`` (no track record is long enough).

    Raises
    ------
    SharpeStatisticsError
        If `alpha` is outside (0, 1) or the variance factor is not positive.

    Notes
    -----
    The ``n`` at which :func:`probabilistic_sharpe_ratio` equals ``1 - alpha`` (Bailey & López
    de Prado 2012), with ``z`` the standard normal quantile::

        MinTRL = 1 + (1 - g3 SR + (g4 - 1)/4 SR^2) (z_{1-alpha} / (SR - SR*))^2

    References
    ----------
    Bailey, D. H. and López de Prado, M. (2012). "The Sharpe Ratio Efficient Frontier".
    Journal of Risk 15(2), 3-44.
    """
    if not 0.0 < alpha < 1.0:
        raise SharpeStatisticsError(f"alpha must be in (0, 1), got {alpha}")
    if sr <= sr_benchmark:
        return math.inf
    z = norm.ppf(1.0 - alpha)
    return float(1.0 + _variance_factor(sr, skew, kurtosis) * (z / (sr - sr_benchmark)) ** 2)
