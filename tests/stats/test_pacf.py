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
