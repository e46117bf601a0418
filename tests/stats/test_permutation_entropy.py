"""Permutation entropy vs ordpy and antropy; rolling == one-shot; power and size of the G test."""

from __future__ import annotations

import antropy
import numpy as np
import ordpy
import pytest

from crypto_strategy_lab.data.synthetic import ar_returns, sine_plus_noise
from crypto_strategy_lab.stats._windows import StatsInputError
from crypto_strategy_lab.stats.permutation_entropy import (
    ordinal_patterns,
    overlapping_null_scaling,
    permutation_entropy,
    permutation_entropy_pvalue,
    permutation_entropy_test,
    rolling_pattern_share,
    rolling_permutation_entropy,
    rolling_untied_count,
    tied_vectors,
)


@pytest.mark.parametrize(("order", "delay"), [(3, 1), (4, 2), (5, 1)])
def test_matches_ordpy_and_antropy(rng, order, delay):
    x = rng.standard_normal(800)
    ours = permutation_entropy(x, order, delay)
    assert ours == pytest.approx(ordpy.permutation_entropy(x, dx=order, taux=delay), abs=1e-12)
    assert ours == pytest.approx(
        antropy.perm_entropy(x, order=order, delay=delay, normalize=True), abs=1e-12
    )


def test_ties_follow_ordpy_convention(rng):
    x = np.round(rng.standard_normal(600))  # many ties
    assert permutation_entropy(x, 3) == pytest.approx(ordpy.permutation_entropy(x, dx=3), abs=1e-12)


def test_lehmer_codes_of_monotone_runs():
    assert ordinal_patterns(np.arange(5.0), 3).tolist() == [0, 0, 0]
    assert ordinal_patterns(-np.arange(5.0), 3).tolist() == [5, 5, 5]


def test_rolling_equals_one_shot(rng):
    x = rng.standard_normal(1500)
    window = 300
    out = rolling_permutation_entropy(x, window, order=4, delay=2)
    assert np.isnan(out[: window - 1]).all()
    ref = [permutation_entropy(x[t - window + 1 : t + 1], 4, 2) for t in range(window - 1, x.size)]
    np.testing.assert_allclose(out[window - 1 :], ref, atol=1e-12)
    share = rolling_pattern_share(x, window, (0, 5), order=3)
    t = 900
    codes = ordinal_patterns(x[t - window + 1 : t + 1], 3)
    assert share[t] == pytest.approx(np.isin(codes, (0, 5)).mean())


def test_null_scaling_mean_matches_simulation():
    # E[G] = c * nu = sum(lambda) = trace of the long-run covariance: check it by simulation
    c, nu = overlapping_null_scaling(3)
    g = [
        permutation_entropy_test(np.random.default_rng(s).standard_normal(2000), 3)[1]
        for s in range(300)
    ]
    assert np.mean(g) == pytest.approx(c * nu, rel=0.12)
    assert c * nu < 5.0  # the naive chi2_5 mean would be 5: overlap matters


def test_power_on_ar_and_sine():
    seeds = 40
    ar = [permutation_entropy_test(ar_returns(1000, 0.3, seed=s), 3)[2] for s in range(seeds)]
    sine = [
        permutation_entropy_test(sine_plus_noise(1000, 12, 0.008, 0.004, seed=s), 3)[2]
        for s in range(seeds)
    ]
    assert np.mean(np.array(ar) < 0.05) >= 0.9
    assert np.mean(np.array(sine) < 0.05) >= 0.9


@pytest.mark.parametrize("order", [3, 4])
def test_size_on_iid_noise(order):
    seeds = 400
    pvals = np.array(
        [
            permutation_entropy_test(np.random.default_rng(s).standard_normal(500), order)[2]
            for s in range(seeds)
        ]
    )
    rate = (pvals < 0.05).mean()
    assert 0.025 <= rate <= 0.08  # binomial sd at 5%, 400 seeds: 1.1%


def test_bad_input():
    with pytest.raises(StatsInputError, match="NaN"):
        permutation_entropy(np.array([1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(StatsInputError, match="order"):
        permutation_entropy(np.arange(100.0), order=6)
    with pytest.raises(StatsInputError, match="at least"):
        permutation_entropy(np.arange(2.0), order=3)


def test_dropping_ties_keeps_the_null_on_iid_grid_returns():
    """I.i.d. returns on a grid (39 % zeros): ties coded as rises reject almost always; left
    out, the level is nominal. Without ties both codings agree exactly."""
    rng = np.random.default_rng(5)
    r = np.round(rng.standard_normal(20_000))  # integer grid, ~38 % zeros
    rates = {}
    for ties in ("rank", "drop"):
        h = rolling_permutation_entropy(r, 500, 3, 1, ties=ties)
        n = rolling_untied_count(r, 500, 3, 1) if ties == "drop" else 498
        rates[ties] = np.mean(permutation_entropy_pvalue(h, n, 3)[499:] < 0.01)
    assert rates["rank"] > 0.9 and rates["drop"] < 0.05
    x = rng.standard_normal(3000)
    np.testing.assert_array_equal(
        rolling_permutation_entropy(x, 300, 3, ties="drop"), rolling_permutation_entropy(x, 300, 3)
    )
    assert np.all(rolling_untied_count(x, 300, 3)[299:] == 298)
    share = rolling_pattern_share(r, 500, (0, 5), 3, ties="drop")
    codes, tied = ordinal_patterns(r[:500], 3), tied_vectors(r[:500], 3)
    assert share[499] == pytest.approx(np.isin(codes[~tied], (0, 5)).mean())
    p = np.bincount(codes[~tied], minlength=6) / (~tied).sum()
    p = p[p > 0]
    h = rolling_permutation_entropy(r, 500, 3, ties="drop")[499]
    assert h == pytest.approx(-(p * np.log(p)).sum() / np.log(6))
