"""Spectral kernels against scipy.signal and antropy, Fisher's g p-value against exact rational
arithmetic and simulation, rolling == per-window scipy, power and size."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import antropy
import numpy as np
import pytest
from scipy import signal

from crypto_strategy_lab.data.synthetic import sine_plus_noise
from crypto_strategy_lab.stats import (
    StatsInputError,
    dominant_peaks,
    fisher_g_pvalue,
    fisher_g_test,
    periodogram,
    rolling_fisher_g,
    rolling_spectral_entropy,
    sliding_windows,
    spectral_entropy,
    welch_psd,
)


@pytest.mark.parametrize("n", [255, 256])
def test_periodogram_matches_scipy(n, rng):
    x = rng.standard_normal(n) + 3.0
    f, p = periodogram(x, fs=24.0)
    f_ref, p_ref = signal.periodogram(x, fs=24.0)
    np.testing.assert_allclose(f, f_ref, rtol=1e-15)
    np.testing.assert_allclose(p, p_ref, rtol=1e-10, atol=1e-14)


def test_welch_matches_scipy(rng):
    x = rng.standard_normal(2000)
    for nperseg, noverlap in ((256, None), (100, 30)):
        f, p = welch_psd(x, nperseg, noverlap)
        f_ref, p_ref = signal.welch(x, nperseg=nperseg, noverlap=noverlap)
        np.testing.assert_allclose(f, f_ref, rtol=1e-15)
        np.testing.assert_allclose(p, p_ref, rtol=1e-10)


def _exact_fisher(g: Fraction, m: int) -> float:
    return float(
        sum((-1) ** (j - 1) * comb(m, j) * (1 - j * g) ** (m - 1) for j in range(1, int(1 / g) + 1))
    )


@pytest.mark.parametrize("m", [10, 63, 127])
def test_fisher_pvalue_equals_exact_rational_sum(m):
    for g in (Fraction(3, 2 * m), Fraction(1, 10), Fraction(1, 4), Fraction(3, 5)):
        assert fisher_g_pvalue(float(g), m) == pytest.approx(
            _exact_fisher(g, m), rel=1e-9, abs=1e-12
        )


def test_fisher_pvalue_is_uniform_under_white_noise():
    # Kolmogorov–Smirnov-style check on 2000 independent windows: the exact null makes the
    # p-values uniform; the 5 % rejection rate has binomial sd 0.49 %.
    x = np.random.default_rng(4).standard_normal(2000 * 129)
    p = rolling_fisher_g(x, 129).pvalue[128::129]
    assert abs(np.mean(p < 0.05) - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 2000)
    assert abs(np.mean(p < 0.5) - 0.5) < 3 * np.sqrt(0.25 / 2000)


def test_sine_detected_with_right_frequency_and_forecast():
    n, period = 256, 16.0
    x = sine_plus_noise(n, period=period, amplitude=0.004, sigma=0.005, seed=2)
    res = fisher_g_test(x)
    assert res.pvalue < 1e-6
    assert res.frequency == pytest.approx(1 / period)
    assert res.amplitude == pytest.approx(0.004, rel=0.25)
    # the fitted cycle continues: its forecast equals the noiseless sine at t = n
    assert res.forecast == pytest.approx(0.004 * np.sin(2 * np.pi * n / period), abs=0.0015)
    freqs, _ = dominant_peaks(x, 2)
    assert freqs[0] == pytest.approx(1 / period)


def test_power_sine_detected_over_seeds():
    hits = [
        fisher_g_test(sine_plus_noise(256, 20.0, 0.003, 0.005, seed=s)).pvalue < 0.05
        for s in range(30)
    ]
    assert np.mean(hits) >= 0.9


def test_spectral_entropy_matches_antropy(rng):
    x = rng.standard_normal(500)
    ref = antropy.spectral_entropy(x, sf=1.0, method="fft", normalize=True)
    assert spectral_entropy(x) == pytest.approx(ref, rel=1e-12)


def test_spectral_entropy_closed_forms():
    t = np.arange(256)
    assert spectral_entropy(np.sin(2 * np.pi * 8 * t / 256)) < 1e-10
    # white noise: E[H] ~ 1 - (1 - gamma)/ln(129) = 0.913; 200 windows, sd of H ~ 0.01
    x = np.random.default_rng(1).standard_normal(256 * 200)
    h = rolling_spectral_entropy(x, 256)[255::256]
    assert h.mean() == pytest.approx(1 - (1 - np.euler_gamma) / np.log(129), abs=0.01)


def test_rolling_equals_scipy_per_window(rng):
    x = rng.standard_normal(300) * 0.01
    w = 64
    g = rolling_fisher_g(x, w)
    ent = rolling_spectral_entropy(x, w)
    ref_g, ref_h = [], []
    for win in sliding_windows(x, w):
        _, p = signal.periodogram(win)
        inner = p[1:32]
        ref_g.append(inner.max() / inner.sum())
        ref_h.append(antropy.spectral_entropy(win, 1.0, method="fft", normalize=True))
    assert np.isnan(g.g[: w - 1]).all() and np.isnan(ent[: w - 1]).all()
    np.testing.assert_allclose(g.g[w - 1 :], ref_g, rtol=1e-10)
    np.testing.assert_allclose(ent[w - 1 :], ref_h, rtol=1e-10)


def test_constant_and_bad_input():
    assert np.isnan(fisher_g_test(np.full(64, 0.5)).pvalue)
    assert np.isnan(spectral_entropy(np.full(64, 0.5)))
    assert np.isnan(rolling_spectral_entropy(np.zeros(80), 32)[-1])
    with pytest.raises(StatsInputError, match="nperseg"):
        welch_psd(np.ones(10), 20)
    with pytest.raises(StatsInputError, match="NaN"):
        periodogram(np.array([1.0, np.nan, 2.0]))


@pytest.mark.parametrize(("window", "n_sims"), [(64, 300), (256, 1500)])
def test_null_moments_are_those_of_the_disjoint_windows_of_the_rolling_pass(window, n_sims):
    # the definition: every window-th value of the rolling entropy over one Gaussian draw
    # (window ends window-1, 2 window-1, ...); computed from those windows alone
    from crypto_strategy_lab.stats.spectral import spectral_entropy_null_moments

    x = np.random.default_rng(5).standard_normal(window * n_sims)
    h = rolling_spectral_entropy(x, window)[window - 1 :: window]
    mean, sd = spectral_entropy_null_moments.__wrapped__(window, n_sims, seed=5)
    assert mean == pytest.approx(float(h.mean()), rel=1e-13)
    assert sd == pytest.approx(float(h.std(ddof=1)), rel=1e-10)
    # and each disjoint window's entropy is antropy's
    w0 = x[:window]
    assert h[0] == pytest.approx(antropy.spectral_entropy(w0, 1.0, method="fft", normalize=True))
