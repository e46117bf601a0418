"""GARCH(1,1): numba recursion == Python twin == arch; parameter recovery; causal rolling."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from arch import arch_model

from crypto_strategy_lab.data.synthetic import garch11_returns
from crypto_strategy_lab.stats._windows import StatsInputError
from crypto_strategy_lab.stats.garch import (
    FIT_SCALE,
    arch_backcast,
    arch_problem,
    fit_garch11,
    garch11_nll_grad,
    garch11_nll_hess,
    garch11_variance,
    garch11_variance_python,
    rolling_garch11,
)


@pytest.fixture(scope="module")
def garch_path():
    return garch11_returns(3000, omega=1e-6, alpha=0.08, beta=0.9, seed=3).returns


def test_recursion_reproduces_arch_conditional_volatility(garch_path):
    y = garch_path * FIT_SCALE
    model = arch_model(y, mean="Constant", vol="GARCH", p=1, q=1, rescale=False)
    res = model.fit(disp="off", options={"ftol": 1e-14, "maxiter": 1000})  # to convergence
    mu, omega, alpha, beta = res.params.to_numpy()
    backcast = arch_backcast(y - y.mean())
    sigma2 = garch11_variance(y - mu, omega, alpha, beta, backcast)
    assert np.max(np.abs(np.sqrt(sigma2) - res.conditional_volatility)) < 1e-8
    twin = garch11_variance_python(y - mu, omega, alpha, beta, backcast)
    np.testing.assert_allclose(sigma2, twin, rtol=1e-14)
    forecast = res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0]
    ours = fit_garch11(garch_path)
    assert ours.forecast * FIT_SCALE**2 == pytest.approx(forecast, rel=1e-6)


def test_compiled_problem_equals_arch_backcast_bounds_and_variance_bounds(garch_path):
    # the compiled setup against arch's own GARCH methods, on a clustered path, on short noise,
    # on an outlier followed by calm (the lower bounds' floor var/1e8 binds) and on tiny
    # returns (the upper bounds' floor 1 + max e^2 binds)
    from arch.univariate import GARCH

    rng = np.random.default_rng(4)
    spiky = rng.normal(0, 0.001, 800)
    spiky[100] = 0.5
    tiny = rng.normal(0, 1e-5, 300)
    vol = GARCH(p=1, q=1)
    for r in (garch_path, rng.normal(0, 0.01, 120), spiky, tiny):
        y = r * FIT_SCALE
        resids = y - y.mean()
        backcast, lower, upper, omega_min, omega_max = arch_problem(resids)
        assert backcast == pytest.approx(vol.backcast(resids), rel=1e-14)
        bounds = vol.variance_bounds(resids)
        np.testing.assert_allclose(lower, bounds[:, 0], rtol=1e-13)
        np.testing.assert_allclose(upper, bounds[:, 1], rtol=1e-13)
        assert (omega_min, omega_max) == pytest.approx(vol.bounds(resids)[0], rel=1e-14)


def _arch_fit(window: np.ndarray, starting_values=None, options=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # arch's StartingValueWarning for the out-of-bounds case
        model = arch_model(
            window * FIT_SCALE, mean="Constant", vol="GARCH", p=1, q=1, rescale=False
        )
        res = model.fit(disp="off", starting_values=starting_values, options=options)
    return model, res


def _arch_loglik(model, params: np.ndarray, n: int) -> float:
    """arch's own likelihood (its recursion, bounds and backcast) at ``params``."""
    resids = model.resids(model.starting_values())
    vol = model.volatility
    backcast, var_bounds = vol.backcast(resids), vol.variance_bounds(resids)
    return -model._loglikelihood(params, np.zeros(n), backcast, var_bounds)


def _ours_params(fit) -> np.ndarray:
    return np.array([fit.mu * FIT_SCALE, fit.omega * FIT_SCALE**2, fit.alpha, fit.beta])


@pytest.fixture(scope="module")
def cross_check_set(garch_path):
    noise = np.random.default_rng(8).normal(0, 0.01, 1000)  # flat likelihood: path-sensitive
    bad_start = np.array([0.0, 1e-12, 0.05, 0.9])  # omega below arch's lower bound
    previous = _arch_fit(garch_path[:1000])[1].params.to_numpy()
    return [
        (garch_path[:1000], None),
        (garch_path[1000:2000], previous),
        (noise, None),
        (noise, bad_start),
        (garch_path[2000:], bad_start),
    ]


def test_analytic_gradient_matches_arch_likelihood_and_central_differences(garch_path):
    y = garch_path[:1000] * FIT_SCALE
    model, _ = _arch_fit(garch_path[:1000])
    resids = y - y.mean()
    backcast = float(model.volatility.backcast(resids))
    bounds = model.volatility.variance_bounds(resids)
    lower, upper = bounds[:, 0].copy(), bounds[:, 1].copy()
    x = np.array([0.01, 0.05, 0.08, 0.88])
    nll, grad = garch11_nll_grad(x, y, backcast, lower, upper)
    assert nll == pytest.approx(-_arch_loglik(model, x, y.size), rel=1e-13)
    h = 1e-6
    central = [
        (
            garch11_nll_grad(x + h * u, y, backcast, lower, upper)[0]
            - garch11_nll_grad(x - h * u, y, backcast, lower, upper)[0]
        )
        / (2 * h)
        for u in np.eye(4)
    ]
    np.testing.assert_allclose(grad, central, rtol=1e-6)


def test_exact_hessian_matches_central_differences_of_the_gradient(garch_path):
    y = garch_path[:1000] * FIT_SCALE
    resids = y - y.mean()
    model, _ = _arch_fit(garch_path[:1000])
    backcast = float(model.volatility.backcast(resids))
    bounds = model.volatility.variance_bounds(resids)
    args = (y, backcast, bounds[:, 0].copy(), bounds[:, 1].copy())
    x = np.array([0.01, 0.05, 0.08, 0.88])
    nll, grad, hess = garch11_nll_hess(x, *args)
    nll_g, grad_g = garch11_nll_grad(x, *args)
    assert nll == nll_g
    np.testing.assert_allclose(grad, grad_g, rtol=1e-12, atol=1e-10)
    h = 1e-6
    central = np.array(
        [
            (garch11_nll_grad(x + h * u, *args)[1] - garch11_nll_grad(x - h * u, *args)[1])
            / (2 * h)
            for u in np.eye(4)
        ]
    )
    np.testing.assert_allclose(hess, central, rtol=1e-6, atol=1e-6 * np.abs(hess).max())
    np.testing.assert_allclose(hess, hess.T, rtol=1e-13)


def test_fit_equals_converged_arch_fit_within_1e6(cross_check_set):
    # arch differentiates numerically and stops SLSQP at ftol=1e-6; run to convergence its
    # estimate is the maximum up to its finite-difference error, and ours must agree within 1e-6
    # (percent units, as arch fits them), cold, warm and from out-of-bounds starting values.
    for window, start in cross_check_set:
        _, converged = _arch_fit(window, start, options={"ftol": 1e-14, "maxiter": 1000})
        fit = fit_garch11(window, start)
        np.testing.assert_allclose(_ours_params(fit), converged.params.to_numpy(), atol=1e-6)
        loglik = fit.loglik - window.size * np.log(FIT_SCALE)
        assert loglik == pytest.approx(converged.loglikelihood, abs=1e-8)


def test_fit_likelihood_never_below_arch_default_fit(cross_check_set):
    # the likelihood at our estimate, evaluated by arch's own code, is at least that of
    # arch_model(...).fit() (which stops up to ~1e-5 from the maximum); the estimates agree
    # to that stopping error
    for window, start in cross_check_set:
        model, default = _arch_fit(window, start)
        ours = _ours_params(fit_garch11(window, start))
        assert _arch_loglik(model, ours, window.size) >= default.loglikelihood - 1e-10
        np.testing.assert_allclose(ours, default.params.to_numpy(), atol=2e-5)


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
