r"""Periodogram and Welch PSD, Fisher's g test for the dominant peak, spectral entropy.

Periodogram (the convention of ``scipy.signal.periodogram`` defaults): the mean is removed,
:math:`X_k = \sum_{j=0}^{n-1} x_j e^{-2\pi i jk/n}`, one-sided density
:math:`P_k = c_k |X_k|^2 / (f_s n)` at :math:`f_k = k f_s / n`, :math:`k = 0..\lfloor n/2\rfloor`,
with :math:`c_k = 2` except at 0 and at the Nyquist frequency (:math:`n` even).
Welch (1967): Hann-tapered segments of ``nperseg`` values overlapping by ``noverlap``, each
segment demeaned, :math:`P_k = c_k|\sum_j w_j x_j e^{-2\pi i jk/L}|^2 / (f_s\sum_j w_j^2)`,
averaged over segments (``scipy.signal.welch`` defaults).

Fisher's g (Fisher 1929). With the ordinates at the :math:`m = \lfloor (n-1)/2 \rfloor`
Fourier frequencies strictly between 0 and Nyquist,
:math:`g = \max_k P_k / \sum_k P_k`. Under Gaussian white noise the :math:`P_k` are i.i.d.
exponential and

.. math::  P(g > x) = \sum_{j=1}^{\lfloor 1/x \rfloor} (-1)^{j-1}\binom mj (1 - jx)^{m-1}

exactly. The alternating sum is evaluated in log space; when
:math:`\lambda = m(1 - x)^{m-1} > 15` (so :math:`p > 1 - 10^{-6}`) it would cancel
catastrophically, and :math:`1 - e^{-\lambda}` (its Poisson limit) is returned instead.
For a peak at :math:`k`, the least-squares sinusoid at :math:`\omega_k = 2\pi k/n` is
:math:`\hat a\cos\omega_k j + \hat b \sin \omega_k j` with
:math:`\hat a = 2\,\mathrm{Re}\,X_k/n`, :math:`\hat b = -2\,\mathrm{Im}\,X_k/n`; it has period
dividing :math:`n`, so its one-step-ahead value (at :math:`j = n`) is :math:`\hat a`
(``forecast``; the fitted cycle's mean-zero contribution to the next value).

Spectral entropy (Powell & Percival 1979; Inouye et al. 1991), in the convention of
``antropy.spectral_entropy(x, sf, method="fft", normalize=True)``: with the periodogram
:math:`P_0..P_{\lfloor n/2\rfloor}` normalised to :math:`p_k = P_k / \sum P`,
:math:`H = -\sum_k p_k \log_2 p_k / \log_2(\lfloor n/2\rfloor + 1)` (0 log 0 = 0). A pure sine
at a Fourier frequency gives 0. White noise does **not** give exactly 1: periodogram ordinates
are exponential, and :math:`E[H] \approx 1 - (1-\gamma)/\ln N` (:math:`\gamma` = Euler's
constant, :math:`N` bins), e.g. 0.913 for a 256-value window. A constant window has no
spectrum: NaN.

Rolling forms use strided windows in batches and one ``rfft`` per batch.

References
----------
Fisher, R. A. (1929). Tests of significance in harmonic analysis. Proc. R. Soc. A 125, 54–59.
Welch, P. D. (1967). The use of fast Fourier transform for the estimation of power spectra.
IEEE Trans. Audio Electroacoustics 15(2), 70–73.
Percival, D. B. and Walden, A. T. (1993). Spectral Analysis for Physical Applications, §10.9.
Inouye, T. et al. (1991). Quantification of EEG irregularity by use of the entropy of the power
spectrum. Electroencephalography and Clinical Neurophysiology 79, 204–210.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import entr, gammaln

from crypto_strategy_lab.stats._windows import (
    StatsInputError,
    as_series,
    check_window,
    sliding_windows,
    window_batches,
)

_POISSON_SWITCH = 15.0


class FisherG(NamedTuple):
    """Fisher's g of the dominant peak, its exact p-value, the peak's frequency (cycles per
    sample unless ``fs`` is given), its amplitude and the fitted cycle's one-step forecast."""

    g: float | np.ndarray
    pvalue: float | np.ndarray
    frequency: float | np.ndarray
    amplitude: float | np.ndarray
    forecast: float | np.ndarray


def _one_sided(power: np.ndarray, n: int) -> np.ndarray:
    power[..., 1:] *= 2.0
    if n % 2 == 0:
        power[..., -1] /= 2.0
    return power


def periodogram(x: np.ndarray, fs: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and one-sided periodogram density of ``x`` (mean removed, boxcar).

    Equals ``scipy.signal.periodogram(x, fs)``.
    """
    x = as_series(x)
    spec = np.fft.rfft(x - x.mean())
    psd = _one_sided(spec.real**2 + spec.imag**2, x.size) / (fs * x.size)
    return np.fft.rfftfreq(x.size, 1.0 / fs), psd


def welch_psd(
    x: np.ndarray, nperseg: int = 256, noverlap: int | None = None, fs: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD with periodic Hann segments (equals ``scipy.signal.welch(x, fs, nperseg=...)``
    when ``nperseg <= len(x)``)."""
    x = as_series(x)
    nperseg = check_window(nperseg, 2, "nperseg")
    if nperseg > x.size:
        raise StatsInputError(f"nperseg ({nperseg}) exceeds the series length ({x.size})")
    noverlap = nperseg // 2 if noverlap is None else int(noverlap)
    if not 0 <= noverlap < nperseg:
        raise StatsInputError(f"noverlap must be in [0, nperseg), got {noverlap}")
    taper = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nperseg) / nperseg)
    segments = sliding_windows(x, nperseg)[:: nperseg - noverlap]
    segments = segments - segments.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(segments * taper, axis=1)
    power = _one_sided(spec.real**2 + spec.imag**2, nperseg) / (fs * (taper @ taper))
    return np.fft.rfftfreq(nperseg, 1.0 / fs), power.mean(axis=0)


def fisher_g_pvalue(g: np.ndarray | float, m: int) -> np.ndarray | float:
    """Exact ``P(G > g)`` for Fisher's statistic over ``m`` Fourier ordinates (module notes)."""
    m = check_window(m, 2, "m")
    scalar = np.ndim(g) == 0
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    out = np.full(g.shape, np.nan)
    ok = np.isfinite(g)
    gv = np.clip(g[ok], 1.0 / m, 1.0)
    lam = m * np.exp((m - 1) * np.log1p(-np.minimum(gv, 1.0 - 1e-300)))
    p = -np.expm1(-lam)
    exact = lam <= _POISSON_SWITCH
    if exact.any():
        ge = gv[exact]
        # only terms with 1 - j g > 0 are non-zero: j <= floor(1/g)
        j = np.arange(1, min(m, int(1.0 / ge.min())) + 1, dtype=np.float64)
        base = 1.0 - np.outer(ge, j)
        with np.errstate(divide="ignore"):
            log_terms = (gammaln(m + 1) - gammaln(j + 1) - gammaln(m - j + 1)) + (m - 1) * np.log(
                np.where(base > 0, base, 0.0)
            )
        signs = np.where(j % 2 == 1, 1.0, -1.0)
        p[exact] = (signs * np.exp(log_terms)).sum(axis=1)
    out[ok] = np.clip(p, 0.0, 1.0)
    return float(out[0]) if scalar else out


def _fisher_from_spectrum(spec: np.ndarray, n: int, fs: float) -> FisherG:
    m = (n - 1) // 2
    inner = spec[..., 1 : m + 1]
    power = inner.real**2 + inner.imag**2
    total = power.sum(axis=-1)
    k = power.argmax(axis=-1)
    peak = np.take_along_axis(power, k[..., None], axis=-1)[..., 0]
    coef = np.take_along_axis(inner, k[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.where(total > 0, peak / total, np.nan)
    flat = ~np.isfinite(g)
    forecast = np.where(flat, np.nan, 2.0 * coef.real / n)
    amplitude = np.where(flat, np.nan, 2.0 * np.abs(coef) / n)
    frequency = np.where(flat, np.nan, (k + 1) * fs / n)
    return FisherG(g, fisher_g_pvalue(g, m), frequency, amplitude, forecast)


def fisher_g_test(x: np.ndarray, fs: float = 1.0) -> FisherG:
    """Fisher's g test for the dominant periodogram peak of ``x`` (NaN if ``x`` is constant)."""
    x = as_series(x, min_length=5)
    res = _fisher_from_spectrum(np.fft.rfft(x - x.mean())[None, :], x.size, fs)
    return FisherG(*(float(v[0]) for v in res))


def dominant_peaks(
    x: np.ndarray, n_peaks: int = 3, fs: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and periodogram powers of the ``n_peaks`` largest local maxima (strictly
    between 0 and Nyquist), strongest first. The strongest one is what :func:`fisher_g_test`
    tests."""
    freqs, psd = periodogram(x, fs)
    m = (as_series(x).size - 1) // 2
    inner = psd[1 : m + 1]
    left = np.concatenate(([-np.inf], inner[:-1]))
    right = np.concatenate((inner[1:], [-np.inf]))
    idx = np.flatnonzero((inner >= left) & (inner >= right) & (inner > 0))
    idx = idx[np.argsort(inner[idx])[::-1][: check_window(n_peaks, 1, "n_peaks")]]
    return freqs[1 + idx], inner[idx]


def _entropy_from_psd(psd: np.ndarray) -> np.ndarray:
    # entr(p) = -p ln p with entr(0) = 0; dividing by ln N gives the same ratio as log2.
    total = psd.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = entr(psd / total).sum(axis=-1) / np.log(psd.shape[-1])
    return np.where(total[..., 0] > 0, h, np.nan)


def spectral_entropy(x: np.ndarray, fs: float = 1.0) -> float:
    """Normalised Shannon entropy of the periodogram of ``x`` in [0, 1] (NaN if constant)."""
    return float(_entropy_from_psd(periodogram(x, fs)[1]))


def _rolling(x: np.ndarray, window: int, batch: int, reduce) -> list[np.ndarray]:
    x = as_series(x, min_length=1)
    n = x.size
    outs = None
    for end0, views in window_batches(x, window, batch):
        spec = np.fft.rfft(views - views.mean(axis=1, keepdims=True), axis=1)
        res = reduce(spec)
        if outs is None:
            outs = [np.full(n, np.nan) for _ in res]
        for out, val in zip(outs, res, strict=True):
            out[end0 : end0 + views.shape[0]] = val
    return outs if outs is not None else [np.full(n, np.nan)]


def rolling_fisher_g(x: np.ndarray, window: int, fs: float = 1.0, batch: int = 4096) -> FisherG:
    """:func:`fisher_g_test` of every trailing window (NaN until it fills / if constant)."""
    window = check_window(window, 5)
    n = np.asarray(x).shape[0]
    if window > n:
        return FisherG(*(np.full(n, np.nan) for _ in FisherG._fields))
    return FisherG(*_rolling(x, window, batch, lambda s: _fisher_from_spectrum(s, window, fs)))


def rolling_spectral_entropy(x: np.ndarray, window: int, batch: int = 4096) -> np.ndarray:
    """:func:`spectral_entropy` of every trailing window (NaN until it fills / if constant)."""
    window = check_window(window, 4)

    def reduce(spec: np.ndarray) -> tuple[np.ndarray]:
        return (_entropy_from_psd(_one_sided(spec.real**2 + spec.imag**2, window)),)

    return _rolling(x, window, batch, reduce)[0]


@lru_cache(maxsize=32)
def spectral_entropy_null_moments(
    window: int, n_sims: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Mean and standard deviation of :func:`spectral_entropy` on i.i.d. Gaussian windows.

    Simulated once per window with a fixed seed (deterministic); the closed-form mean
    ``1 - (1 - gamma)/ln N`` is only asymptotic, the simulation is exact for the window.
    """
    window = check_window(window, 4)
    x = np.random.default_rng(seed).standard_normal(window * n_sims)
    h = rolling_spectral_entropy(x, window)[window - 1 :: window]
    return float(h.mean()), float(h.std(ddof=1))
