"""Each synthetic generator must produce data with the parameters it was given.

Tolerances follow from the sample size: ``k`` standard errors of the estimator, where the
standard error is either the estimator's own (statsmodels / arch) or the textbook asymptotic
one (e.g. ``sqrt((1 - phi^2) / n)`` for an AR(1) coefficient).
"""

from __future__ import annotations

import numpy as np
import pytest
from arch import arch_model
from scipy import signal
from statsmodels.tsa.ar_model import AutoReg

from crypto_strategy_lab.data import synthetic as syn
from crypto_strategy_lab.data import validate_ohlcv, validate_trades

K = 4.0  # standard errors allowed: a false failure has probability < 1e-4 per check


def test_gbm_drift_and_volatility() -> None:
    n, mu, sigma = 20_000, 0.0005, 0.01
    r = syn.gbm_returns(n, mu=mu, sigma=sigma, seed=1)
    assert abs(r.mean() - (mu - sigma**2 / 2)) < K * sigma / np.sqrt(n)
    assert abs(r.std(ddof=1) - sigma) < K * sigma / np.sqrt(2 * n)


def test_gbm_bars_are_valid_and_carry_the_returns() -> None:
    bars = syn.gbm_bars(500, mu=0.0, sigma=0.02, seed=3)
    validate_ohlcv(bars)
    r = np.log(bars["close"]).diff().dropna()
    assert np.allclose(bars["open"].iloc[1:].to_numpy(), bars["close"].iloc[:-1].to_numpy())
    assert abs(r.std() - 0.02) < K * 0.02 / np.sqrt(2 * 499)


def test_random_walk_has_no_autocorrelation() -> None:
    n = 10_000
    r = syn.random_walk_returns(n, sigma=0.01, seed=2)
    rho1 = np.corrcoef(r[:-1], r[1:])[0, 1]
    assert abs(rho1) < K / np.sqrt(n)


def test_ar1_coefficient_recovered_within_asymptotic_se() -> None:
    n, phi = 5_000, 0.3
    r = syn.ar_returns(n, phi, sigma=0.01, seed=4)
    fit = AutoReg(r, lags=1, trend="c").fit()
    assert abs(fit.params[1] - phi) < K * np.sqrt((1 - phi**2) / n)


def test_ar2_coefficients_recovered_by_statsmodels() -> None:
    n, coefs = 8_000, [0.25, -0.15]
    r = syn.ar_returns(n, coefs, sigma=0.01, seed=5)
    fit = AutoReg(r, lags=2, trend="c").fit()
    for est, se, true in zip(fit.params[1:], fit.bse[1:], coefs, strict=True):
        assert abs(est - true) < K * se


def test_ar_rejects_non_stationary_coefficients() -> None:
    with pytest.raises(ValueError, match="not stationary"):
        syn.ar_returns(100, 1.0)


@pytest.mark.parametrize("method", ["davies-harte", "cholesky"])
@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.75])
def test_fgn_autocovariance_matches_closed_form(method: str, hurst: float) -> None:
    reps, n, lags = 400, 128, 6
    rng = np.random.default_rng(11)
    x = np.array(
        [syn.fractional_gaussian_noise(n, hurst, seed=rng, method=method) for _ in range(reps)]
    )
    # Known zero mean: the lag-k product averaged over positions, one value per replication.
    per_rep = np.array([[np.mean(row[: n - k] * row[k:]) for k in range(lags)] for row in x])
    mean, se = per_rep.mean(axis=0), per_rep.std(axis=0, ddof=1) / np.sqrt(reps)
    expected = syn.fgn_autocovariance(np.arange(lags), hurst)
    assert np.all(np.abs(mean - expected) < K * se + 1e-12)


def test_fgn_closed_form_values() -> None:
    # H = 0.5 is white noise; gamma(1) = 2^(2H-1) - 1 for any H.
    assert np.allclose(syn.fgn_autocovariance([0, 1, 5], 0.5), [1, 0, 0])
    assert np.isclose(syn.fgn_autocovariance(1, 0.8), 2 ** (2 * 0.8 - 1) - 1)


def test_fbm_variance_scales_as_n_to_2h() -> None:
    reps, n, hurst = 600, 256, 0.7
    rng = np.random.default_rng(12)
    ends = np.array([syn.fbm_path(n, hurst, seed=rng)[-1] for _ in range(reps)])
    # Var(B_H(n)) = n^{2H}; the sample variance of a Gaussian has relative se sqrt(2/reps).
    assert abs(ends.var(ddof=1) / n ** (2 * hurst) - 1) < K * np.sqrt(2 / reps)


def test_fgn_rejects_bad_hurst() -> None:
    with pytest.raises(ValueError, match="hurst"):
        syn.fractional_gaussian_noise(10, 1.0)


def test_garch_parameters_recovered_by_arch() -> None:
    omega, alpha, beta = 0.05, 0.1, 0.85  # percent-return scale, unit unconditional variance
    path = syn.garch11_returns(6_000, omega, alpha, beta, seed=6)
    res = arch_model(path.returns, mean="Zero", vol="GARCH", p=1, q=1).fit(disp="off")
    for name, true in (("omega", omega), ("alpha[1]", alpha), ("beta[1]", beta)):
        assert abs(res.params[name] - true) < K * res.std_err[name], name
    assert np.all(path.variance > 0)


def test_sine_frequency_is_the_periodogram_peak() -> None:
    n, period = 4_096, 64
    r = syn.sine_plus_noise(n, period, amplitude=0.003, sigma=0.005, seed=7)
    freqs, power = signal.periodogram(r)
    assert freqs[np.argmax(power)] == pytest.approx(1 / period)


def test_regime_switching_durations_and_regime_parameters() -> None:
    n, p_stay, mu, phi, sigma = 60_000, (0.98, 0.98), 0.002, -0.4, 0.01
    path = syn.regime_switching_returns(n, p_stay, trend_mu=mu, revert_phi=phi, sigma=sigma, seed=8)
    s, r = path.state, path.returns
    switches = np.count_nonzero(np.diff(s))
    # Switch probability 1 - p = 0.02 per step; a binomial count has se sqrt(n p (1-p)).
    assert abs(switches - 0.02 * (n - 1)) < K * np.sqrt(n * 0.02 * 0.98)
    trend = r[s == 0]
    assert abs(trend.mean() - mu) < K * sigma / np.sqrt(trend.size)
    both = (s[1:] == 1) & (s[:-1] == 1)
    x, y = r[:-1][both], r[1:][both]
    phi_hat = (x @ y) / (x @ x)
    assert abs(phi_hat - phi) < K * np.sqrt((1 - phi**2) / both.sum())
    bars = syn.regime_switching_bars(500, seed=8)
    validate_ohlcv(bars)
    assert set(np.unique(bars["regime"])) <= {0, 1}


def test_informed_trade_stream_matches_pin_model() -> None:
    alpha, mu, eps = 0.4, 60.0, 40.0
    stream = syn.informed_trade_stream(2_000, alpha=alpha, delta=0.5, mu=mu, eps=eps, seed=9)
    validate_trades(stream.trades)
    ev = stream.events
    n = len(ev)
    assert abs((ev["event"] != 0).mean() - alpha) < K * np.sqrt(alpha * (1 - alpha) / n)
    quiet = ev[ev["event"] == 0]
    good = ev[ev["event"] == 1]
    assert abs(quiet["buys"].mean() - eps) < K * np.sqrt(eps / len(quiet))
    assert abs(good["buys"].mean() - (eps + mu)) < K * np.sqrt((eps + mu) / len(good))
    assert abs(good["sells"].mean() - eps) < K * np.sqrt(eps / len(good))
    assert stream.pin == pytest.approx(alpha * mu / (alpha * mu + 2 * eps))
    trades = stream.trades
    assert len(trades) == int(ev["buys"].sum() + ev["sells"].sum())
    assert (trades["side"] == "buy").sum() == ev["buys"].sum()
    # Informed buying moves the price up: good-news periods have higher mean log return.
    period = trades["timestamp"].dt.floor("5min")
    logp = np.log(trades.groupby(period)["price"].last())
    ret = logp.diff().reindex(ev.index)
    assert ret[ev["event"] == 1].mean() > 0 > ret[ev["event"] == -1].mean()


def test_bars_from_returns_rejects_nan() -> None:
    with pytest.raises(ValueError, match="finite"):
        syn.bars_from_returns(np.array([0.01, np.nan]))


def test_generators_are_deterministic_given_seed() -> None:
    a = syn.fbm_bars(300, 0.6, seed=42)
    b = syn.fbm_bars(300, 0.6, seed=42)
    assert a.equals(b)
    assert not a.equals(syn.fbm_bars(300, 0.6, seed=43))


@pytest.mark.parametrize(
    "make",
    [
        lambda: syn.gbm_bars(300, seed=1),
        lambda: syn.ar_bars(300, [0.2], seed=1),
        lambda: syn.fbm_bars(300, 0.3, seed=1),
        lambda: syn.garch_bars(300, seed=1),
        lambda: syn.sine_bars(300, 24, seed=1, freq="15min"),
        lambda: syn.regime_switching_bars(300, seed=1),
    ],
)
def test_every_bar_generator_returns_a_valid_frame(make) -> None:
    bars = make()
    validate_ohlcv(bars)
    assert len(bars) == 300
