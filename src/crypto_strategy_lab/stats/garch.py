"""GARCH(1,1): a compiled Gaussian QMLE (arch's estimation problem), filtered by a numba recursion.

Model (Bollerslev 1986), constant mean and Gaussian quasi-likelihood:

.. math::
    r_t = \\mu + \\varepsilon_t,\\qquad \\varepsilon_t = \\sigma_t z_t,\\qquad
    \\sigma_t^2 = \\omega + \\alpha\\,\\varepsilon_{t-1}^2 + \\beta\\,\\sigma_{t-1}^2 .

``alpha + beta`` is the persistence (a variance shock decays like ``(alpha + beta)^h``; half-life
``ln 0.5 / ln(alpha + beta)``) and ``omega / (1 - alpha - beta)`` the unconditional variance.

The recursion is started exactly as arch does, so that with arch's parameters it reproduces
``arch_model(...).fit().conditional_volatility`` to rounding: ``sigma_0^2 = omega +
(alpha + beta) b`` with the backcast ``b = sum_{i<tau} w_i e_i^2``, ``w_i ∝ 0.94^i``,
``tau = min(75, n)`` and ``e = r - mean(r)`` (arch's backcast from the starting residuals).
arch's variance bounds (a guard for the optimiser) are not applied: they never bind at
fitted parameters of well-scaled data.

Clustering test: the likelihood ratio of GARCH(1,1) against a constant variance,
``LR = 2 (l_GARCH - l_const)``. Under the null ``alpha = 0`` sits on the boundary and ``beta`` is
then unidentified (Davies' problem), so no chi^2 law is exact; we refer LR to ``chi^2_2``. Its
measured size on i.i.d. Gaussian noise is close to nominal and slightly below it (4.0% and 4.3%
rejections at the 5% level for n = 1000 and 2000, 300 seeds each; see the tests).

Rolling use (:func:`rolling_garch11`): refits happen at ``t_k = window - 1 + k * refit_every``
on ``r[t_k - window + 1 : t_k + 1]`` only (strictly past-and-present data); between refits the
variance is filtered forward with the last fitted parameters. Each fit starts the optimiser
from the previous fit's parameters (a causal warm start that cuts the fit time ~3x).

Fitting (:func:`fit_garch11`) solves arch's estimation problem — its backcast, variance bounds,
parameter bounds, constraints and starting values — with a compiled likelihood and its analytic
gradient (:func:`garch11_nll_grad`) handed to SLSQP and run to convergence. arch differentiates
numerically and stops at ``ftol = 1e-6``, so its default fit stops up to ~1e-5 from the maximum;
ours matches arch's fit run to convergence within 1e-6 and its likelihood is never below that of
arch's default fit (the tests check both). One fit of 2000 returns takes ~0.5 ms, ~20x less
than ``arch_model(...).fit()``.

References
----------
Bollerslev, T. (1986). Generalized autoregressive conditional heteroskedasticity. Journal of
Econometrics 31, 307-327.
Fiorentini, G., Calzolari, G. and Panattoni, L. (1996). Analytic derivatives and the computation
of GARCH estimates. Journal of Applied Econometrics 11, 399-417.
Sheppard, K. et al. arch: ARCH models in Python (``arch.univariate``), recursions module.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np
from scipy import stats as sps
from scipy.optimize import minimize

from crypto_strategy_lab.stats._windows import StatsInputError, as_series, check_window

#: Returns are multiplied by this before fitting (percent units) for the optimiser's sake.
FIT_SCALE = 100.0
_MIN_FIT = 100


def arch_backcast(resid: np.ndarray) -> float:
    """arch's backcast: ``sum_{i<tau} w_i e_i^2`` with ``w_i ∝ 0.94^i``, ``tau = min(75, n)``."""
    tau = min(75, resid.shape[0])
    w = 0.94 ** np.arange(tau)
    w = w / w.sum()
    return float(np.sum(resid[:tau] ** 2 * w))


def garch11_variance_python(
    resid: np.ndarray, omega: float, alpha: float, beta: float, backcast: float
) -> np.ndarray:
    """Pure-Python twin of :func:`garch11_variance` (the reference the tests compare with)."""
    n = resid.shape[0]
    sigma2 = np.empty(n)
    for t in range(n):
        if t == 0:
            sigma2[t] = omega + alpha * backcast + beta * backcast
        else:
            sigma2[t] = omega + alpha * resid[t - 1] ** 2 + beta * sigma2[t - 1]
    return sigma2


@numba.njit(cache=True)
def garch11_variance(
    resid: np.ndarray, omega: float, alpha: float, beta: float, backcast: float
) -> np.ndarray:
    """Conditional variances ``sigma_t^2 = omega + alpha e_{t-1}^2 + beta sigma_{t-1}^2``,
    ``t = 0..n-1``, with ``e_{-1}^2 = sigma_{-1}^2 = backcast`` (arch's convention)."""
    n = resid.shape[0]
    sigma2 = np.empty(n)
    prev_e2 = backcast
    prev_s2 = backcast
    for t in range(n):
        s2 = omega + alpha * prev_e2 + beta * prev_s2
        sigma2[t] = s2
        prev_e2 = resid[t] * resid[t]
        prev_s2 = s2
    return sigma2


@dataclass(frozen=True)
class Garch11Fit:
    """Parameters (in the units of the input returns) and fit diagnostics.

    ``variance`` holds ``sigma_t^2`` for each input return and ``forecast`` the one-step-ahead
    ``sigma_{n}^2`` made after the last return.
    """

    mu: float
    omega: float
    alpha: float
    beta: float
    backcast: float
    loglik: float
    lr_stat: float
    lr_pvalue: float
    variance: np.ndarray
    forecast: float

    @property
    def persistence(self) -> float:
        return self.alpha + self.beta

    @property
    def unconditional_variance(self) -> float:
        """``omega / (1 - alpha - beta)``; NaN when the persistence is >= 1."""
        p = self.persistence
        return self.omega / (1.0 - p) if p < 1.0 else float("nan")


@numba.njit(cache=True)
def garch11_nll_grad(
    x: np.ndarray, y: np.ndarray, backcast: float, lower: np.ndarray, upper: np.ndarray
) -> tuple[float, np.ndarray]:
    """Gaussian negative log-likelihood of GARCH(1,1) with a constant mean, and its gradient.

    ``x = [mu, omega, alpha, beta]``; ``-l = 1/2 sum_t (ln 2 pi + ln sigma_t^2 + e_t^2 /
    sigma_t^2)`` with ``e_t = y_t - mu`` and the variance recursion of :func:`garch11_variance`,
    whose values are kept inside arch's loose variance bounds ``[lower_t, upper_t]`` exactly as
    arch's ``bounds_check`` does (below: ``lower_t``; above: ``upper_t + ln(sigma^2/upper_t)``).

    The gradient is the analytic one, propagated through the recursion in the same pass
    (Fiorentini, Calzolari and Panattoni 1996):

    .. math::
        \\frac{\\partial \\sigma_t^2}{\\partial \\theta} = \\frac{\\partial h_t}{\\partial \\theta}
        + \\beta\\,\\frac{\\partial \\sigma_{t-1}^2}{\\partial \\theta},\\qquad
        h_t = \\omega + \\alpha e_{t-1}^2 + \\beta \\sigma_{t-1}^2,

    so ``d/d omega = 1``, ``d/d alpha = e_{t-1}^2``, ``d/d beta = sigma_{t-1}^2``,
    ``d/d mu = -2 alpha e_{t-1}`` (all ``backcast`` terms at ``t = 0``), and
    ``d(-l_t) = 1/2 (1/sigma_t^2 - e_t^2/sigma_t^4) d sigma_t^2 - e_t/sigma_t^2 d mu``.
    """
    mu, omega, alpha, beta = x[0], x[1], x[2], x[3]
    n = y.shape[0]
    s2 = omega + (alpha + beta) * backcast
    d_mu, d_omega, d_alpha, d_beta = 0.0, 1.0, backcast, backcast
    total = 0.0
    g_mu = g_omega = g_alpha = g_beta = 0.0
    for t in range(n):
        if t > 0:
            e_prev = y[t - 1] - mu
            d_mu = -2.0 * alpha * e_prev + beta * d_mu
            d_omega = 1.0 + beta * d_omega
            d_alpha = e_prev * e_prev + beta * d_alpha
            d_beta = s2 + beta * d_beta  # s2 is still sigma_{t-1}^2 here
            s2 = omega + alpha * e_prev * e_prev + beta * s2
        if s2 < lower[t]:  # clamped: locally constant in the parameters
            s2 = lower[t]
            d_mu = d_omega = d_alpha = d_beta = 0.0
        elif s2 > upper[t]:
            k = 1.0 / s2
            s2 = upper[t] + np.log(s2 / upper[t])
            d_mu *= k
            d_omega *= k
            d_alpha *= k
            d_beta *= k
        e = y[t] - mu
        inv = 1.0 / s2
        total += np.log(s2) + e * e * inv
        c = 0.5 * (inv - e * e * inv * inv)
        g_mu += c * d_mu - e * inv
        g_omega += c * d_omega
        g_alpha += c * d_alpha
        g_beta += c * d_beta
    grad = np.empty(4)
    grad[0], grad[1], grad[2], grad[3] = g_mu, g_omega, g_alpha, g_beta
    return 0.5 * (total + n * np.log(2.0 * np.pi)), grad


#: arch's linear constraints of GARCH(1,1) on ``[mu, omega, alpha, beta]``: ``A x - b >= 0``
#: (``omega, alpha, beta >= 0`` and ``alpha + beta <= 1``); the Jacobian is ``A`` itself.
_CONSTRAINT_A = np.array(
    [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, -1.0, -1.0]]
)
_CONSTRAINT_B = np.array([0.0, 0.0, 0.0, -1.0])
_CONSTRAINTS = {
    "type": "ineq",
    "fun": lambda x: _CONSTRAINT_A @ x - _CONSTRAINT_B,
    "jac": lambda x: _CONSTRAINT_A,
}
#: SLSQP's stopping tolerance on the objective: far below arch's default (1e-6), so the fit is
#: the maximum itself and not a point where a looser search happened to stop.
_FTOL = 1e-12


def _qmle(y: np.ndarray, starting_values: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Gaussian QMLE of ``y`` (percent units): the estimate ``[mu, omega, alpha, beta]`` and
    the maximised log-likelihood.

    The problem is arch's (``arch_model(y, mean="Constant", vol="GARCH", p=1, q=1,
    rescale=False).fit()``): its backcast, variance bounds, parameter bounds, linear
    constraints and, without a warm start, its grid-search starting values, all taken from
    arch's own ``GARCH`` process. The search differs: SLSQP is given the analytic gradient of
    the compiled likelihood (:func:`garch11_nll_grad`) and run to ``ftol = 1e-12``, where
    arch differentiates numerically and stops at ``1e-6``. ``tests/stats/test_garch.py``
    checks the estimates against arch's fit run to convergence (within 1e-6) and that the
    likelihood, evaluated by arch itself, is never below that of arch's default fit.
    """
    from arch.univariate import GARCH  # arch's import is slow; only a fit needs it

    vol = GARCH(p=1, q=1)
    resids = y - y.mean()  # arch's starting residuals: the constant mean's OLS fit
    backcast = float(vol.backcast(resids))
    var_bounds = vol.variance_bounds(resids)
    bounds = [(-np.inf, np.inf), *vol.bounds(resids)]
    if starting_values is None:
        sv = np.hstack([y.mean(), vol.starting_values(resids)])
    else:  # as arch does, even when they break a bound (SLSQP clips them in)
        sv = np.asarray(starting_values, dtype=float)
    opt = minimize(
        garch11_nll_grad,
        sv,
        args=(y, backcast, var_bounds[:, 0].copy(), var_bounds[:, 1].copy()),
        jac=True,
        method="SLSQP",
        bounds=bounds,
        constraints=_CONSTRAINTS,
        options={"ftol": _FTOL, "maxiter": 500},
    )
    return opt.x, -float(opt.fun)


def fit_garch11(returns: np.ndarray, starting_values: np.ndarray | None = None) -> Garch11Fit:
    """Fit GARCH(1,1) with a constant mean by Gaussian QMLE (arch's problem, see :func:`_qmle`).

    Parameters
    ----------
    returns:
        Returns (e.g. log returns), at least 100 finite values, not constant.
    starting_values:
        Optional ``[mu, omega, alpha, beta]`` in *percent* units (as :attr:`FIT_SCALE`) to start
        the optimiser from (used by :func:`rolling_garch11` for warm starts).
    """
    r = as_series(returns, name="returns", min_length=_MIN_FIT)
    if np.ptp(r) == 0.0:
        raise StatsInputError("returns are constant: GARCH variance is not identified")
    y = r * FIT_SCALE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SLSQP's bound-clipping notes; judged by the LR test
        params, loglik = _qmle(y, starting_values)
    mu, omega, alpha, beta = (float(v) for v in params)
    backcast = arch_backcast(y - y.mean())
    e = y - mu
    sigma2 = garch11_variance(e, omega, alpha, beta, backcast)
    forecast = omega + alpha * e[-1] ** 2 + beta * sigma2[-1]
    s2_const = float(np.mean((y - y.mean()) ** 2))
    ll_const = -0.5 * y.size * (np.log(2 * np.pi) + np.log(s2_const) + 1.0)
    lr = max(2.0 * (loglik - ll_const), 0.0)
    s2 = FIT_SCALE**2
    return Garch11Fit(
        mu=mu / FIT_SCALE,
        omega=omega / s2,
        alpha=alpha,
        beta=beta,
        backcast=backcast / s2,
        loglik=loglik + y.size * np.log(FIT_SCALE),
        lr_stat=lr,
        lr_pvalue=float(sps.chi2.sf(lr, 2)),
        variance=sigma2 / s2,
        forecast=float(forecast / s2),
    )


@dataclass(frozen=True)
class RollingGarch:
    """Causal rolling GARCH(1,1) output, one value per input return (NaN before the first fit).

    Attributes
    ----------
    forecast_vol:
        ``sigma_{t+1|t}``: next-period volatility forecast made with data up to ``t``.
    std_resid:
        ``(r_t - mu) / sigma_{t|t-1}``, the standardised residual.
    persistence, omega, alpha, beta, lr_pvalue:
        Of the fit in force at ``t`` (the last refit at or before ``t``).
    vol_ratio:
        ``sigma_{t+1|t}^2 / (omega / (1 - alpha - beta))``: forecast over unconditional variance.
    """

    forecast_vol: np.ndarray
    std_resid: np.ndarray
    persistence: np.ndarray
    omega: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    lr_pvalue: np.ndarray
    vol_ratio: np.ndarray


def rolling_garch11(returns: np.ndarray, window: int, refit_every: int) -> RollingGarch:
    """GARCH(1,1) refitted every ``refit_every`` periods on the trailing ``window`` returns.

    Row ``t`` uses only ``returns[: t + 1]``: the fit in force was made at ``t_k <= t`` on
    ``returns[t_k - window + 1 : t_k + 1]`` and the variance is filtered forward from it with
    :func:`garch11_variance` (restarted on the fit window at each refit).
    """
    window = check_window(window, minimum=_MIN_FIT)
    refit_every = check_window(refit_every, minimum=1, name="refit_every")
    r = as_series(returns, name="returns", min_length=1)
    n = r.size
    cols = {name: np.full(n, np.nan) for name in RollingGarch.__dataclass_fields__}
    start_values = None
    for t_k in range(window - 1, n, refit_every):
        fit_window = r[t_k - window + 1 : t_k + 1]
        if np.ptp(fit_window) == 0.0:
            continue  # constant stretch (e.g. exchange outage): no fit, outputs stay NaN
        fit = fit_garch11(fit_window, start_values)
        start_values = np.array([fit.mu * FIT_SCALE, fit.omega * FIT_SCALE**2, fit.alpha, fit.beta])
        stop = min(t_k + refit_every, n)
        e = r[t_k - window + 1 : stop] - fit.mu
        sigma2 = garch11_variance(e, fit.omega, fit.alpha, fit.beta, fit.backcast)
        seg = slice(t_k, stop)
        s2_now = sigma2[window - 1 :]
        e_now = e[window - 1 :]
        forecast = fit.omega + fit.alpha * e_now**2 + fit.beta * s2_now
        cols["forecast_vol"][seg] = np.sqrt(forecast)
        cols["std_resid"][seg] = e_now / np.sqrt(s2_now)
        cols["persistence"][seg] = fit.persistence
        cols["omega"][seg] = fit.omega
        cols["alpha"][seg] = fit.alpha
        cols["beta"][seg] = fit.beta
        cols["lr_pvalue"][seg] = fit.lr_pvalue
        cols["vol_ratio"][seg] = forecast / fit.unconditional_variance
    return RollingGarch(**cols)
