"""Durbin–Levinson PACF vs statsmodels; rolling == one-shot; AR-order spike and band size."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.regression.linear_model import yule_walker
from statsmodels.tsa.stattools import pacf as sm_pacf

from crypto_strategy_lab.data.synthetic import ar_returns
from crypto_strategy_lab.stats.pacf import (
    pacf,
    pacf_band,
    rolling_ar_forecast,
    rolling_pacf,
)


def test_matches_statsmodels(rng):
    x = ar_returns(1500, [0.2, -0.1, 0.25], seed=4)
    ours = pacf(x, 12)
    np.testing.assert_allclose(ours, sm_pacf(x, 12, method="ldb")[1:], atol=1e-12)
    np.testing.assert_allclose(ours, sm_pacf(x, 12, method="ywm")[1:], atol=1e-12)


def test_band():
    assert pacf_band(400, 0.05) == pytest.approx(1.959963984540054 / 20)


def test_rolling_equals_one_shot(rng):
    x = rng.standard_normal(1200)
    out = rolling_pacf(x, 250, 6)
    assert np.isnan(out[:249]).all()
    for t in range(249, 1200, 37):
        np.testing.assert_allclose(out[t], pacf(x[t - 249 : t + 1], 6), atol=1e-12)


def test_ar_forecast_matches_statsmodels_yule_walker():
    x = ar_returns(800, [0.0, 0.3], seed=5)
    orders = np.full(x.size, 2)
    f = rolling_ar_forecast(x, 300, orders)
    for t in (299, 500, 799):
        w = x[t - 299 : t + 1]
        rho, _ = yule_walker(w, 2, method="mle", result_object=False)
        assert f[t] == pytest.approx(w.mean() + rho @ (w[::-1][:2] - w.mean()), abs=1e-14)


@pytest.mark.parametrize("p", [1, 3])
def test_spike_at_true_order(p):
    coefs = [0.0] * (p - 1) + [0.3]
    x = ar_returns(2000, coefs, seed=p)
    phi = pacf(x, 10)
    assert int(np.argmax(np.abs(phi))) + 1 == p
    assert abs(phi[p - 1]) > pacf_band(x.size, 0.01)


def test_size_on_iid_noise():
    seeds, n = 500, 500
    band = pacf_band(n, 0.05)
    hits = np.array(
        [np.abs(pacf(np.random.default_rng(s).standard_normal(n), 5)) > band for s in range(seeds)]
    )
    rate = hits.mean()  # per-lag rejection rate, 2500 tests
    assert 0.035 <= rate <= 0.065


def test_fused_spike_pass_equals_pacf_argmax_and_ar_forecast():
    from scipy import stats as sps

    from crypto_strategy_lab.stats.pacf import rolling_pacf_spike

    rng = np.random.default_rng(12)
    e = rng.standard_normal(4000)
    x = e.copy()  # noise first, then an AR(3) stretch the band catches
    for t in range(2003, 4000):
        x[t] = 0.25 * x[t - 3] + e[t]
    x[500:530] = 0.7  # a constant stretch: degenerate windows stay NaN
    window, max_lag = 300, 8
    z_crit = sps.norm.isf(0.05 / (2 * max_lag))
    phi = rolling_pacf(x, window, max_lag)
    z = phi * np.sqrt(window)
    absz = np.where(np.isfinite(z), np.abs(z), -1.0)
    k_star = np.argmax(absz, axis=1)
    rows = np.arange(x.size)
    spiked = absz[rows, k_star] > z_crit
    order = np.where(spiked, k_star + 1, 0)
    forecast = rolling_ar_forecast(x, window, order)
    fused = rolling_pacf_spike(x, window, max_lag, z_crit)
    np.testing.assert_array_equal(fused.z, z[rows, k_star])
    np.testing.assert_array_equal(fused.lag, np.where(spiked, k_star + 1.0, np.nan))
    np.testing.assert_array_equal(fused.pacf, np.where(spiked, phi[rows, k_star], np.nan))
    np.testing.assert_array_equal(fused.forecast, forecast)
    assert spiked.sum() > 100  # the AR(3) stretch is found
