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
    """Standard error of a per-period Sharpe ratio estimate, ``sqrt(factor / (n - 1))``."""
    if n_obs < 2:
        raise SharpeStatisticsError(f"n_obs must be at least 2, got {n_obs}")
    return math.sqrt(_variance_factor(sr, skew, kurtosis) / (n_obs - 1))


def probabilistic_sharpe_ratio(
    sr: float, sr_benchmark: float, n_obs: int, skew: float, kurtosis: float
) -> float:
    """Probability that the true Sharpe ratio exceeds ``sr_benchmark`` (per period).

    ``PSR = Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - skew SR + (kurtosis - 1)/4 SR^2))``
    (Bailey & López de Prado 2012).
    """
    return float(norm.cdf((sr - sr_benchmark) / sharpe_ratio_std(sr, n_obs, skew, kurtosis)))


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """Expected maximum of ``n_trials`` Sharpe ratios of unskilled strategies (true SR 0)
    whose estimates have variance ``sr_variance`` (per period).

    ``E[max] = sqrt(V) ((1 - gamma) Z^-1(1 - 1/N) + gamma Z^-1(1 - 1/(N e)))``; 0 for N = 1.
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
    """PSR against the expected maximum Sharpe ratio of ``n_trials`` unskilled trials.

    ``DSR = PSR(SR* = expected_max_sharpe(n_trials, sr_variance))`` (Bailey & López de Prado
    2014). ``n_trials`` and ``sr_variance`` should come from the trial log
    (:func:`crypto_strategy_lab.validation.trial_log.TrialLog.deflated_sharpe_ratio`).
    """
    sr0 = expected_max_sharpe(n_trials, sr_variance)
    return probabilistic_sharpe_ratio(sr, sr0, n_obs, skew, kurtosis)


def min_track_record_length(
    sr: float, sr_benchmark: float, skew: float, kurtosis: float, alpha: float = 0.05
) -> float:
    """Observations needed for ``PSR(sr_benchmark) >= 1 - alpha`` (per-period SRs).

    ``MinTRL = 1 + (1 - skew SR + (kurtosis - 1)/4 SR^2) (z_{1-alpha} / (SR - SR*))^2``;
    ``inf`` when ``SR <= SR*`` (no track record is long enough).
    """
    if not 0.0 < alpha < 1.0:
        raise SharpeStatisticsError(f"alpha must be in (0, 1), got {alpha}")
    if sr <= sr_benchmark:
        return math.inf
    z = norm.ppf(1.0 - alpha)
    return float(1.0 + _variance_factor(sr, skew, kurtosis) * (z / (sr - sr_benchmark)) ** 2)
