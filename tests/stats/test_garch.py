"""GARCH(1,1): numba recursion == Python twin == arch; parameter recovery; causal rolling."""

from __future__ import annotations

import numpy as np
import pytest
from arch import arch_model

from crypto_strategy_lab.data.synthetic import garch11_returns
from crypto_strategy_lab.stats._windows import StatsInputError
from crypto_strategy_lab.stats.garch import (
    FIT_SCALE,
    arch_backcast,
    fit_garch11,
    garch11_variance,
    garch11_variance_python,
    rolling_garch11,
)


@pytest.fixture(scope="module")
def garch_path():
    return garch11_returns(3000, omega=1e-6, alpha=0.08, beta=0.9, seed=3).returns


def test_recursion_reproduces_arch_conditional_volatility(garch_path):
    y = garch_path * FIT_SCALE
    res = arch_model(y, mean="Constant", vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
    mu, omega, alpha, beta = res.params.to_numpy()
    backcast = arch_backcast(y - y.mean())
    sigma2 = garch11_variance(y - mu, omega, alpha, beta, backcast)
    assert np.max(np.abs(np.sqrt(sigma2) - res.conditional_volatility)) < 1e-8
    twin = garch11_variance_python(y - mu, omega, alpha, beta, backcast)
    np.testing.assert_allclose(sigma2, twin, rtol=1e-14)
    forecast = res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]
    ours = fit_garch11(garch_path)
    assert ours.forecast * FIT_SCALE**2 == pytest.approx(forecast, rel=1e-6)


def test_persistence_recovered_and_clustering_detected(garch_path):
    fit = fit_garch11(garch_path)
    assert fit.persistence == pytest.approx(0.98, abs=0.03)
    assert fit.alpha == pytest.approx(0.08, abs=0.04)
    assert fit.lr_pvalue < 1e-6


def test_no_clustering_on_iid_noise():
    pvals = [
        fit_garch11(np.random.default_rng(s).normal(0, 0.01, 1000)).lr_pvalue for s in range(40)
    ]
    assert np.mean(np.array(pvals) < 0.05) <= 0.15  # binomial: 5% nominal, 40 seeds


@pytest.mark.slow
def test_lr_size_on_iid_noise_many_seeds():
    pvals = np.array(
        [
            fit_garch11(np.random.default_rng(10_000 + s).normal(0, 0.01, 1000)).lr_pvalue
            for s in range(300)
        ]
    )
    assert 0.02 <= (pvals < 0.05).mean() <= 0.075


def test_rolling_uses_only_past_data(garch_path):
    window, every = 800, 400
    full = rolling_garch11(garch_path, window, every)
    part = rolling_garch11(garch_path[:1700], window, every)
    np.testing.assert_array_equal(part.forecast_vol, full.forecast_vol[:1700])
    assert np.isnan(full.forecast_vol[: window - 1]).all()
    # the first refit equals a one-shot fit on its window
    one = fit_garch11(garch_path[:window])
    assert full.forecast_vol[window - 1] == pytest.approx(np.sqrt(one.forecast), rel=1e-12)
    # between refits the variance is the recursion run forward with the same parameters
    t = window + 100
    e = garch_path[: t + 1] - one.mu
    s2 = garch11_variance(e, one.omega, one.alpha, one.beta, one.backcast)
    expected = one.omega + one.alpha * e[t] ** 2 + one.beta * s2[t]
    assert full.forecast_vol[t] == pytest.approx(np.sqrt(expected), rel=1e-12)


def test_bad_input():
    with pytest.raises(StatsInputError, match="constant"):
        fit_garch11(np.zeros(500))
    with pytest.raises(StatsInputError, match="at least"):
        fit_garch11(np.ones(20))
