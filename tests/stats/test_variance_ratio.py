"""Variance ratio against arch's VarianceRatio, rolling == one-shot, power and size."""

from __future__ import annotations

import numpy as np
import pytest
from arch.unitroot import VarianceRatio as ArchVR

from crypto_strategy_lab.data.synthetic import ar_returns
from crypto_strategy_lab.stats import (
    StatsInputError,
    rolling_variance_ratio,
    sliding_windows,
    variance_ratio,
)


def _arch(r: np.ndarray, q: int) -> ArchVR:
    y = np.concatenate(([0.0], np.cumsum(r)))
    return ArchVR(y, lags=q, trend="c", debiased=True, robust=True, overlap=True)


@pytest.mark.parametrize("q", [2, 5, 16])
def test_matches_arch_overlapping_robust(q):
    r = ar_returns(1500, coefs=[0.05], sigma=0.01, seed=q) + 0.0003
    ref = _arch(r, q)
    got = variance_ratio(r, q)
    assert got.vr == pytest.approx(ref.vr, rel=1e-12)
    assert got.z == pytest.approx(ref.stat, rel=1e-10)
    assert got.pvalue == pytest.approx(ref.pvalue, rel=1e-8)


def test_rolling_equals_arch_on_each_window(rng):
    r = rng.standard_normal(400) * 0.01 * (1 + (np.arange(400) > 200))  # a volatility break
    window, q = 80, 4
    roll = rolling_variance_ratio(r, window, q)
    wins = sliding_windows(r, window)
    ref_vr = np.array([_arch(w, q).vr for w in wins])
    ref_z = np.array([_arch(w, q).stat for w in wins])
    assert np.isnan(roll.vr[: window - 1]).all()
    np.testing.assert_allclose(roll.vr[window - 1 :], ref_vr, rtol=1e-9)
    np.testing.assert_allclose(roll.z[window - 1 :], ref_z, rtol=1e-8, atol=1e-10)


def test_constant_returns_give_nan_and_bad_q_raises():
    assert np.isnan(variance_ratio(np.full(50, 0.001), 2).vr)
    roll = rolling_variance_ratio(np.r_[np.full(30, 0.0), np.arange(30.0)], 10, 2)
    assert np.isnan(roll.vr[9:30]).all() and np.isfinite(roll.vr[39:]).all()
    with pytest.raises(StatsInputError, match="q"):
        variance_ratio(np.ones(5), 5)
    with pytest.raises(StatsInputError, match="NaN"):
        rolling_variance_ratio(np.array([0.1, np.nan, 0.2, 0.3]), 3, 2)


def test_power_ar1_phi_01():
    # VR(2) - 1 ~ rho_1 = 0.1; with n = 3000, E[z] ~ 0.1 sqrt(3000) = 5.5: power ~1.
    detected = [
        variance_ratio(ar_returns(3000, coefs=[0.1], seed=s), 2).pvalue < 0.05 for s in range(20)
    ]
    assert np.mean(detected) >= 0.95
    mean_reverting = variance_ratio(ar_returns(3000, coefs=[-0.1], seed=1), 4)
    assert mean_reverting.vr < 1 and mean_reverting.pvalue < 0.05


def test_size_on_iid_noise():
    # 400 independent windows of 500 returns; Binomial(400, .05) sd = 1.1 %; allow 3 sd plus
    # 1 % for the O(1/sqrt(n)) skew of VR in finite samples.
    x = np.random.default_rng(5).standard_normal(400 * 500)
    p = rolling_variance_ratio(x, 500, 4).pvalue[499::500]
    assert abs(np.mean(p < 0.05) - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 400) + 0.01
