"""Autocorrelation kernels against statsmodels, rolling == one-shot, power and size."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.diagnostic import acorr_ljungbox
from statsmodels.tsa.stattools import acf, acovf

from crypto_strategy_lab.data.synthetic import ar_returns
from crypto_strategy_lab.stats import (
    StatsInputError,
    autocorrelation_test,
    autocorrelations,
    autocovariances,
    ljung_box,
    rolling_autocorrelation_test,
    rolling_autocorrelations,
    rolling_autocovariances,
    rolling_ljung_box,
    sliding_windows,
)


def test_autocovariances_match_statsmodels(rng):
    x = rng.standard_normal(500) * 0.01 + 0.002
    np.testing.assert_allclose(autocovariances(x, 12), acovf(x, nlag=12), rtol=1e-12, atol=0)
    np.testing.assert_allclose(autocorrelations(x, 12), acf(x, nlags=12), rtol=1e-12, atol=1e-15)


def test_ljung_box_matches_statsmodels(rng):
    x = ar_returns(800, coefs=[0.15], sigma=1.0, seed=3)
    for lags in (1, 5, 20):
        ref = acorr_ljungbox(x, lags=[lags])
        q, p = ljung_box(x, lags)
        assert q == pytest.approx(float(ref["lb_stat"].iloc[0]), rel=1e-12)
        assert p == pytest.approx(float(ref["lb_pvalue"].iloc[0]), rel=1e-9, abs=1e-300)


def test_bartlett_confint_matches_statsmodels(rng):
    # statsmodels' Bartlett interval at lag 1 is rho_1 -/+ z / sqrt(n): our z = sqrt(n) rho_1.
    x = rng.standard_normal(400)
    rho, confint = acf(x, nlags=1, alpha=0.05, bartlett_confint=True, result_object=False)
    test = autocorrelation_test(x, 1)
    half = confint[1, 1] - rho[1]
    assert test.rho == pytest.approx(rho[1], rel=1e-12)
    assert test.z == pytest.approx(rho[1] / (half / 1.959963984540054), rel=1e-9)


def test_rolling_equals_one_shot_on_each_window(rng):
    x = rng.standard_normal(600) * 0.02 + 0.001
    window, lags = 64, 6
    gam = rolling_autocovariances(x, window, lags)
    rho = rolling_autocorrelations(x, window, lags)
    lb = rolling_ljung_box(x, window, lags)
    ref_g = np.array([autocovariances(w, lags) for w in sliding_windows(x, window)])
    ref_r = np.array([autocorrelations(w, lags) for w in sliding_windows(x, window)])
    ref_q = np.array([ljung_box(w, lags).statistic for w in sliding_windows(x, window)])
    assert np.isnan(gam[: window - 1]).all() and np.isnan(lb.statistic[: window - 1]).all()
    np.testing.assert_allclose(gam[window - 1 :], ref_g, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(rho[window - 1 :], ref_r, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lb.statistic[window - 1 :], ref_q, rtol=1e-9)


def test_rolling_on_price_levels_stays_accurate(rng):
    # A large offset (prices ~ 30 000) must not wreck the running sums.
    x = 30_000.0 + np.cumsum(rng.standard_normal(3000))
    got = rolling_autocorrelations(x, 100, 3)[-1]
    np.testing.assert_allclose(got, autocorrelations(x[-100:], 3), rtol=1e-6)


def test_constant_window_gives_nan_not_a_number(rng):
    x = np.concatenate([rng.standard_normal(50), np.full(40, 2.5), rng.standard_normal(50)])
    rho = rolling_autocorrelations(x, 20, 1)[:, 1]
    assert np.isnan(rho[69:90]).all()  # windows fully inside the flat stretch
    assert np.isfinite(rho[19:69]).all() and np.isfinite(rho[90:]).all()
    assert np.isnan(autocorrelations(np.full(30, 1.0), 2)).all()


def test_bad_input_raises_clear_error():
    with pytest.raises(StatsInputError, match="NaN"):
        autocovariances(np.array([1.0, np.nan, 2.0]), 1)
    with pytest.raises(StatsInputError, match="max_lag"):
        autocovariances(np.ones(5), 5)
    with pytest.raises(StatsInputError, match="at least"):
        ljung_box(np.ones(1), 1)
    with pytest.raises(StatsInputError, match="window"):
        rolling_autocovariances(np.ones(10), 1, 0)


def test_power_ar1_phi_01_detected():
    # n = 5000, phi = 0.1: E[z] = 0.1 sqrt(5000) = 7.1, power at 5% is ~1.
    detected = [
        autocorrelation_test(ar_returns(5000, coefs=[0.1], seed=s), 1).pvalue < 0.05
        for s in range(20)
    ]
    assert np.mean(detected) >= 0.95


def test_size_on_iid_noise_is_nominal():
    # 400 independent windows of 250 iid values: rejections ~ Binomial(400, 0.05), sd 4.4.
    x = np.random.default_rng(11).standard_normal(400 * 250)
    p = rolling_autocorrelation_test(x, 250, 1).pvalue[249::250]
    rate = np.mean(p < 0.05)
    assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 400) + 0.01  # bias O(1/n) allowed
    lb_p = rolling_ljung_box(x, 250, 10).pvalue[249::250]
    assert abs(np.mean(lb_p < 0.05) - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 400) + 0.01
