"""Hurst estimators on exact fractional Gaussian noise, the Anis–Lloyd formula by Monte Carlo,
rolling == one-shot.

Tolerances: with R independent series the mean estimate has standard error sd/sqrt(R)
(sd measured from the same estimates); we allow 3 standard errors plus the estimator's
finite-sample bias, measured once on 50 series of 4096 values and stated per test
(DFA-1: |bias| <= 0.015; R/S-AL shrinks toward 0.5: +0.035 at H = 0.3, -0.044 at H = 0.7).
"""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.data.synthetic import fractional_gaussian_noise
from crypto_strategy_lab.stats import (
    StatsInputError,
    expected_rescaled_range,
    hurst_dfa,
    hurst_null_moments,
    hurst_rs,
    rescaled_range,
    rolling_hurst_dfa,
    rolling_hurst_rs,
    sliding_windows,
)

N, REPS = 4096, 12


def _estimates(estimator, hurst: float) -> np.ndarray:
    return np.array(
        [estimator(fractional_gaussian_noise(N, hurst, seed=100 + s)) for s in range(REPS)]
    )


def _tolerance(est: np.ndarray, bias: float) -> float:
    return 3.0 * est.std(ddof=1) / np.sqrt(est.size) + bias


@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.7])
def test_dfa_recovers_h_on_exact_fgn(hurst):
    est = _estimates(hurst_dfa, hurst)
    assert abs(est.mean() - hurst) < _tolerance(est, 0.015)


@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.7])
def test_rs_anis_lloyd_recovers_h_on_exact_fgn(hurst):
    est = _estimates(hurst_rs, hurst)
    bias = {0.3: 0.04, 0.5: 0.01, 0.7: 0.05}[hurst]
    assert abs(est.mean() - hurst) < _tolerance(est, bias)
    assert (est.mean() - 0.5) * (hurst - 0.5) >= 0  # right side of 0.5
    if hurst != 0.5:
        assert abs(est.mean() - 0.5) > 0.1


def test_anis_lloyd_expectation_matches_monte_carlo():
    # 20 000 i.i.d. normal blocks per size: relative standard error of the mean R/S < 0.3 %.
    x = np.random.default_rng(3).standard_normal(20_000 * 64)
    for m in (8, 16, 64):
        blocks = x[: 20_000 * m].reshape(-1, m)
        rs = np.array([rescaled_range(b, m) for b in blocks[:4000]])
        se = rs.std(ddof=1) / np.sqrt(rs.size)
        assert abs(rs.mean() - expected_rescaled_range(m)[0]) < 4 * se
        if m == 8:  # Peters' (m - 1/2)/m factor is 6 % off for this (divisor-m) S
            assert abs(rs.mean() - expected_rescaled_range(m, peters=True)[0]) > 10 * se
    # the exact small-m expectation is far from its asymptote sqrt(pi m / 2)
    assert expected_rescaled_range(8)[0] < 0.9 * np.sqrt(np.pi * 8 / 2)


def test_rolling_equals_one_shot(rng):
    x = rng.standard_normal(700)
    for roll, one in ((rolling_hurst_rs, hurst_rs), (rolling_hurst_dfa, hurst_dfa)):
        got = roll(x, 200)
        ref = np.array([one(w) for w in sliding_windows(x, 200)])
        assert np.isnan(got[:199]).all()
        np.testing.assert_allclose(got[199:], ref, rtol=1e-10, atol=1e-12)


def test_rolling_rs_is_nan_exactly_where_a_window_holds_a_flat_block():
    # constant stretches of returns, zero (an unchanged price) and not zero: every window
    # holding a flat block has no R/S, as in the one-shot form, however far into the series
    x = np.random.default_rng(2).normal(0, 0.01, 3000)
    x[1000:1300] = 0.0
    x[2000:2300] = 0.00731
    got = rolling_hurst_rs(x, 256)[255:]
    ref = np.array([hurst_rs(w) for w in sliding_windows(x, 256)])
    assert np.isnan(ref).sum() > 500
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_null_moments_centre_near_half():
    mean, sd = hurst_null_moments(256, "rs", n_sims=500)
    assert abs(mean - 0.5) < 0.05 and 0.02 < sd < 0.15


def test_flat_blocks_and_short_input():
    x = np.concatenate([np.zeros(64), np.random.default_rng(1).standard_normal(64)])
    assert np.isnan(hurst_rs(x))  # an 8-block of zero returns has no R/S
    assert np.isnan(rolling_hurst_dfa(np.zeros(100), 64)[-1])
    with pytest.raises(StatsInputError, match="scales"):
        hurst_rs(np.random.default_rng(1).standard_normal(20))


@pytest.mark.slow
@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.7])
def test_dfa_on_long_fgn(hurst):
    est = np.array([hurst_dfa(fractional_gaussian_noise(2**15, hurst, seed=s)) for s in range(30)])
    assert abs(est.mean() - hurst) < _tolerance(est, 0.01)
