"""PSR, DSR, MinTRL and E[max SR] against the papers' numbers, closed forms and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from crypto_strategy_lab.validation import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    return_moments,
    sharpe_ratio,
)
from crypto_strategy_lab.validation.sharpe import SharpeStatisticsError


def test_deflated_sharpe_ratio_paper_example() -> None:
    # Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", section "A numerical
    # example": annualised SR 2.5 over T = 1250 daily observations (250 a year), N = 100
    # trials with annualised V[SR] = 0.5, skewness -3, kurtosis 10.
    sr = 2.5 / math.sqrt(250)  # 0.1581 per day
    variance = 0.5 / 250  # 0.002 per day
    sr0 = expected_max_sharpe(100, variance)
    assert sr0 == pytest.approx(0.1132, abs=1e-4)  # paper: E[max SR] = 0.1132 per day
    assert sr0 * math.sqrt(250) == pytest.approx(1.7894, abs=1e-4)  # annualised
    dsr = deflated_sharpe_ratio(sr, 1250, -3.0, 10.0, 100, variance)
    assert dsr == pytest.approx(0.9004, abs=1e-4)  # paper: DSR = 0.9004
    # written out: (0.15811 - 0.11317) * sqrt(1249) / sqrt(1 + 3 * 0.15811 + 9/4 * 0.15811^2)
    z = (sr - sr0) * math.sqrt(1249) / math.sqrt(1 + 3 * sr + 9 / 4 * sr**2)
    assert z == pytest.approx(1.2838, abs=1e-4)
    assert dsr == pytest.approx(stats.norm.cdf(z), rel=1e-12)


def test_psr_closed_form_written_out() -> None:
    # SR = 0.1, SR* = 0, n = 101, skew 0, kurtosis 3:
    # z = 0.1 * sqrt(100) / sqrt(1 + 0.5 * 0.01) = 1 / 1.0024969 = 0.9975093
    psr = probabilistic_sharpe_ratio(0.1, 0.0, 101, 0.0, 3.0)
    assert psr == pytest.approx(stats.norm.cdf(0.9975093), abs=1e-7)
    assert psr == pytest.approx(0.840741, abs=1e-6)
    # negative skew and fat tails widen the standard error and lower PSR
    assert probabilistic_sharpe_ratio(0.1, 0.0, 101, -2.0, 9.0) < psr
    assert probabilistic_sharpe_ratio(0.1, 0.1, 101, 0.0, 3.0) == pytest.approx(0.5)


def test_psr_is_calibrated_under_the_null_monte_carlo(rng: np.random.Generator) -> None:
    # true SR = 0.05 per period, normal returns; PSR(SR* = 0.05) of the estimate is ~U(0, 1),
    # so P(PSR > 0.95) ~ 5 %; with 4000 samples the 3-sigma band is +- 1.0 %.
    n, sims, true_sr = 500, 4000, 0.05
    x = rng.normal(true_sr, 1.0, size=(sims, n))
    sr_hat = x.mean(axis=1) / x.std(axis=1, ddof=1)
    psr = np.array([probabilistic_sharpe_ratio(s, true_sr, n, 0.0, 3.0) for s in sr_hat])
    assert np.mean(psr > 0.95) == pytest.approx(0.05, abs=0.011)
    # and the standard error in the PSR denominator matches the spread of the estimates
    assert sr_hat.std() == pytest.approx(math.sqrt((1 + true_sr**2 / 2) / (n - 1)), rel=0.04)


def test_min_track_record_length_inverts_psr() -> None:
    for sr, bench, skew, kurt, alpha in [(0.1, 0.0, 0.0, 3.0, 0.05), (0.08, 0.02, -1.5, 8.0, 0.01)]:
        mintrl = min_track_record_length(sr, bench, skew, kurt, alpha)
        assert probabilistic_sharpe_ratio(sr, bench, mintrl, skew, kurt) == pytest.approx(
            1 - alpha, abs=1e-10
        )
    # written out: 1 + (1 + 0.01 / 2) * (1.644854 / 0.1)^2 = 1 + 1.005 * 270.5543 = 272.907
    assert min_track_record_length(0.1, 0.0, 0.0, 3.0) == pytest.approx(272.907, abs=1e-3)
    assert min_track_record_length(0.0, 0.0, 0.0, 3.0) == math.inf


def test_min_track_record_length_monte_carlo(rng: np.random.Generator) -> None:
    # With n = MinTRL(SR, 0, alpha=0.05) observations of returns whose true Sharpe ratio is SR,
    # the estimate lies above 0 with probability Phi(SR sqrt(n-1) / sqrt(factor)) = 0.95:
    # that many observations separate SR from 0 at the 5 % level.
    sr = 0.1
    n = math.ceil(min_track_record_length(sr, 0.0, 0.0, 3.0, alpha=0.05))
    x = rng.normal(sr, 1.0, size=(4000, n))
    sr_hat = x.mean(axis=1) / x.std(axis=1, ddof=1)
    assert np.mean(sr_hat > 0) == pytest.approx(0.95, abs=0.011)


def test_expected_max_sharpe_against_monte_carlo(rng: np.random.Generator) -> None:
    # The Euler-Mascheroni form approximates E[max of N iid N(0, V)] (extreme value theory)
    variance = 0.004
    for n_trials in (10, 100, 1000):
        draws = rng.normal(0.0, math.sqrt(variance), size=(4000, n_trials)).max(axis=1)
        assert expected_max_sharpe(n_trials, variance) == pytest.approx(draws.mean(), rel=0.03)
    assert expected_max_sharpe(1, variance) == 0.0


def test_sharpe_ratio_and_moments_conventions(rng: np.random.Generator) -> None:
    x = rng.standard_t(5, size=20_000) * 0.01 + 0.001
    assert sharpe_ratio(x) == pytest.approx(x.mean() / x.std(ddof=1))
    assert sharpe_ratio(x, 365) == pytest.approx(sharpe_ratio(x) * math.sqrt(365))
    m = return_moments(x)
    assert m.kurtosis == pytest.approx(stats.kurtosis(x, fisher=False))  # raw: ~9 for t(5)
    assert m.kurtosis > 5
    assert return_moments(rng.normal(size=50_000)).kurtosis == pytest.approx(3.0, abs=0.1)
    assert sharpe_ratio(np.zeros(10)) == 0.0


def test_domain_errors() -> None:
    with pytest.raises(SharpeStatisticsError, match="raw"):
        probabilistic_sharpe_ratio(1.0, 0.0, 100, 3.0, 3.0)
    with pytest.raises(SharpeStatisticsError, match="n_obs"):
        probabilistic_sharpe_ratio(0.1, 0.0, 1, 0.0, 3.0)
    with pytest.raises(SharpeStatisticsError, match="n_trials"):
        expected_max_sharpe(0, 0.1)
