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

Rolling forms use strided windows in batches and one ``rfft`` per batch (the windows are not
demeaned: that only changes bin 0, which no statistic uses), then one compiled pass per
spectrum row; the entropy's logarithms are taken batch-wide. Windows holding one repeated
value are NaN by the exact :func:`constant_windows` test. Against ``scipy.signal.periodogram``
+ the formulas above, applied window by window, they agree to ~2e-15 relative (g, H).

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

from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
import scipy.fft
from scipy.special import entr, gammaln

from crypto_strategy_lab.stats._windows import (
    StatsInputError,
    as_series,
    check_window,
    constant_windows,
    sliding_windows,
    window_batches,
)

_POISSON_SWITCH = 15.0


class FisherG(NamedTuple):
    """Fisher's g of the dominant periodogram peak and the cycle fitted at it.

    Attributes
    ----------
    g : float or numpy.ndarray
        ``max_k P_k / sum_k P_k`` over the Fourier frequencies strictly between 0 and Nyquist.
    pvalue : float or numpy.ndarray
        Its exact p-value under Gaussian white noise (:func:`fisher_g_pvalue`).
    frequency : float or numpy.ndarray
        The peak's frequency ``k fs / n`` (cycles per sample for ``fs = 1``).
    amplitude : float or numpy.ndarray
        Amplitude ``2 |X_k| / n`` of the least-squares sinusoid at the peak.
    forecast : float or numpy.ndarray
        That sinusoid's value one step after the window, ``2 Re(X_k) / n``.
    """

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
    """Frequencies and one-sided periodogram density of `x` (mean removed, boxcar).

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 2 values.
    fs : float, default 1.0
        Sampling frequency (samples per unit of time); frequencies are in its units.

    Returns
    -------
    freqs, psd : numpy.ndarray
        ``f_k = k fs / n`` and ``P_k = c_k |X_k|^2 / (fs n)`` for ``k = 0 .. n // 2``, with
        ``c_k = 2`` except at 0 and Nyquist; equals ``scipy.signal.periodogram(x, fs)``.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite.
    """
    x = as_series(x)
    spec = np.fft.rfft(x - x.mean())
    psd = _one_sided(spec.real**2 + spec.imag**2, x.size) / (fs * x.size)
    return np.fft.rfftfreq(x.size, 1.0 / fs), psd


def welch_psd(
    x: np.ndarray, nperseg: int = 256, noverlap: int | None = None, fs: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectral density with periodic Hann segments.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least `nperseg` values.
    nperseg : int, default 256
        Segment length ``L``, >= 2.
    noverlap : int, optional
        Overlap between segments, in ``[0, nperseg)``; default ``nperseg // 2``.
    fs : float, default 1.0
        Sampling frequency (samples per unit of time); frequencies are in its units.

    Returns
    -------
    freqs, psd : numpy.ndarray
        ``k fs / L`` for ``k = 0 .. L // 2`` and the segment-averaged one-sided density;
        equals ``scipy.signal.welch(x, fs, nperseg=nperseg, noverlap=noverlap)``.

    Raises
    ------
    StatsInputError
        If `x` is shorter than `nperseg`, or `nperseg` / `noverlap` are out of range.

    Notes
    -----
    Each segment is demeaned and tapered by ``w_j = 0.5 - 0.5 cos(2 pi j / L)``;
    ``P_k = c_k |sum_j w_j x_j e^{-2 pi i jk/L}|^2 / (fs sum_j w_j^2)`` (Welch 1967). Values
    after the last full segment are not used.

    References
    ----------
    Welch, P. D. (1967). The use of fast Fourier transform for the estimation of power
    spectra. IEEE Trans. Audio Electroacoustics 15(2), 70–73.
    """
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


@numba.njit(cache=True, nogil=True)
def _fisher_pvalues(g, m, log_binom):  # pragma: no cover - compiled
    # log_binom[j] = ln C(m, j); see fisher_g_pvalue for the cases.
    out = np.full(g.shape[0], np.nan)
    for i in range(g.shape[0]):
        gi = g[i]
        if not np.isfinite(gi):
            continue
        gi = min(max(gi, 1.0 / m), 1.0)
        lam = m * np.exp((m - 1) * np.log1p(-min(gi, 1.0 - 1e-300)))
        if lam > _POISSON_SWITCH:
            p = -np.expm1(-lam)
        else:
            # only terms with 1 - j g > 0 are non-zero: j <= floor(1/g). Consecutive terms
            # have ratio <= lam / (j + 1) (since (1 - (j+1) g) / (1 - j g) <= 1 - g), so past
            # j + 1 >= lam they decrease and the alternating tail is below the next term:
            # stop once that bound is under 1e-17 of the sum (it can no longer change it).
            p = 0.0
            for j in range(1, m + 1):
                base = 1.0 - gi * j
                if not base > 0.0:
                    break
                term = np.exp(log_binom[j] + (m - 1) * np.log(base))
                p += term if j % 2 == 1 else -term
                if j + 1 >= lam and term * lam < 1e-17 * (j + 1) * abs(p):
                    break
        out[i] = min(max(p, 0.0), 1.0)
    return out


def fisher_g_pvalue(g: np.ndarray | float, m: int) -> np.ndarray | float:
    """Exact upper-tail p-value ``P(G > g)`` of Fisher's statistic over `m` ordinates.

    Parameters
    ----------
    g : float or numpy.ndarray
        Observed statistics, in ``[1/m, 1]``.
    m : int
        Number of Fourier ordinates pooled, >= 2.

    Returns
    -------
    float or numpy.ndarray
        The p-values, of the shape of `g`; NaN where `g` is not finite.

    Raises
    ------
    StatsInputError
        If ``m < 2``.

    Notes
    -----
    Under Gaussian white noise (Fisher 1929)::

        P(G > x) = sum_{j=1}^{floor(1/x)} (-1)^(j-1) C(m, j) (1 - j x)^(m-1)

    summed in log space in one compiled loop; where ``lambda = m (1 - x)^(m-1) > 15``
    (``p > 1 - 1e-6``) the sum would cancel and its Poisson limit ``1 - exp(-lambda)`` is
    returned.

    References
    ----------
    Fisher, R. A. (1929). Tests of significance in harmonic analysis. Proc. R. Soc. A 125,
    54–59.
    """
    m = check_window(m, 2, "m")
    scalar = np.ndim(g) == 0
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    j = np.arange(m + 1, dtype=np.float64)
    log_binom = gammaln(m + 1) - gammaln(j + 1) - gammaln(m - j + 1)
    out = _fisher_pvalues(g.ravel(), m, log_binom).reshape(g.shape)
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
    """Fisher's g test for the dominant periodogram peak of `x`.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 5 values.
    fs : float, default 1.0
        Sampling frequency (samples per unit of time); frequencies are in its units.

    Returns
    -------
    FisherG
        ``g``, its exact p-value over ``m = (n - 1) // 2`` ordinates, the peak's frequency,
        amplitude and one-step forecast; all NaN if `x` is constant.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite.

    Notes
    -----
    ``g = max_k P_k / sum_k P_k`` over ``k = 1 .. m``, the ordinates strictly between 0 and
    Nyquist (module notes; Fisher 1929). A small p-value rejects white noise in favour of a
    periodic component at the peak; it is not a test of predictability of returns.

    References
    ----------
    Fisher, R. A. (1929). Tests of significance in harmonic analysis. Proc. R. Soc. A 125,
    54–59.
    """
    x = as_series(x, min_length=5)
    res = _fisher_from_spectrum(np.fft.rfft(x - x.mean())[None, :], x.size, fs)
    return FisherG(*(float(v[0]) for v in res))


def dominant_peaks(
    x: np.ndarray, n_peaks: int = 3, fs: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and periodogram powers of the largest local maxima of the periodogram.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 2 values.
    n_peaks : int, default 3
        Maximum number of peaks returned, >= 1.
    fs : float, default 1.0
        Sampling frequency (samples per unit of time); frequencies are in its units.

    Returns
    -------
    freqs, powers : numpy.ndarray
        Up to `n_peaks` local maxima (``P_k`` >= both neighbours and > 0) among the
        ordinates strictly between 0 and Nyquist, strongest first. The strongest one is what
        :func:`fisher_g_test` tests.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite, or ``n_peaks < 1``.
    """
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
    """Normalised Shannon entropy of the periodogram of `x`.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, at least 2 values.
    fs : float, default 1.0
        Sampling frequency; it scales every ordinate alike and so does not change the result.

    Returns
    -------
    float
        ``H`` in [0, 1]: 0 for a pure sine at a Fourier frequency, about
        ``1 - (1 - gamma) / ln N`` for white noise (not 1); NaN if `x` is constant.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite.

    Notes
    -----
    With the periodogram ``P_0 .. P_{n//2}`` normalised to ``p_k = P_k / sum P``::

        H = -sum_k p_k log2 p_k / log2(n // 2 + 1)      (0 log 0 = 0)

    as ``antropy.spectral_entropy(x, sf, method="fft", normalize=True)`` (Powell & Percival
    1979; Inouye et al. 1991).

    References
    ----------
    Inouye, T. et al. (1991). Quantification of EEG irregularity by use of the entropy of the
    power spectrum. Electroencephalography and Clinical Neurophysiology 79, 204–210.
    """
    return float(_entropy_from_psd(periodogram(x, fs)[1]))


@numba.njit(cache=True, nogil=True)
def _fisher_rows(spec, n, fs, out_g, out_freq, out_amp, out_fc):  # pragma: no cover - compiled
    # Fisher's g of each spectrum row over bins 1..m (NaN when that power is all 0), the
    # peak's frequency, amplitude 2|X_k|/n and one-step forecast 2 Re X_k / n.
    m = (n - 1) // 2
    for i in range(spec.shape[0]):
        total = 0.0
        peak = -1.0
        k_peak = 1
        for k in range(1, m + 1):
            c = spec[i, k]
            power = c.real * c.real + c.imag * c.imag
            total += power
            if power > peak:
                peak = power
                k_peak = k
        if total > 0.0:
            c = spec[i, k_peak]
            out_g[i] = peak / total
            out_freq[i] = k_peak * fs / n
            out_amp[i] = 2.0 * abs(c) / n
            out_fc[i] = 2.0 * c.real / n


@numba.njit(cache=True, nogil=True)
def _normalised_psd(spec, n, p):  # pragma: no cover - compiled
    # p[i] = one-sided periodogram of row i normalised to sum 1 (bin 0 is 0: the windows are
    # demeaned); all NaN when the row has no power.
    nb = spec.shape[1]
    for i in range(spec.shape[0]):
        total = 0.0
        p[i, 0] = 0.0
        for k in range(1, nb):
            c = spec[i, k]
            power = c.real * c.real + c.imag * c.imag
            if k < nb - 1 or n % 2 == 1:
                power *= 2.0
            p[i, k] = power
            total += power
        if total > 0.0:
            for k in range(1, nb):
                p[i, k] /= total
        else:
            p[i, :] = np.nan


@numba.njit(cache=True, nogil=True)
def _entropy_rows(p, log_p, out):  # pragma: no cover - compiled
    # out[i] = -sum_k p_ik ln p_ik / ln(nb), with 0 ln 0 = 0.
    nb = p.shape[1]
    norm = np.log(nb)
    for i in range(p.shape[0]):
        h = 0.0
        for k in range(nb):
            if p[i, k] > 0.0:
                h -= p[i, k] * log_p[i, k]
        out[i] = h / norm if np.isfinite(p[i, 0]) else np.nan


@numba.njit(cache=True, nogil=True)
def _slide_dft(x, first_end, window, twiddle, out):  # pragma: no cover - compiled
    # Sliding DFT: the window ending at t+1 drops x[t+1-N] and adds x[t+1], so each bin
    # X_k(t+1) = e^{2 pi i k/N} (X_k(t) - x[t+1-N] + x[t+1]); out[0] holds the exact
    # spectrum of the window ending at first_end (the anchor).
    for i in range(1, out.shape[0]):
        end = first_end + i
        delta = x[end] - x[end - window]
        for k in range(out.shape[1]):
            out[i, k] = twiddle[k] * (out[i - 1, k] + delta)


def _window_spectra(x: np.ndarray, window: int, batch: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(first_end_index, rfft of the windows)`` batch by batch; bin 0 is not to be used.

    The first window of each batch is transformed exactly (``rfft``) and the others follow by
    the sliding-DFT update (:func:`_slide_dft`, ``O(N)`` per window instead of the FFT's
    ``O(N log N)``). Re-anchoring every ``batch`` windows bounds the update's rounding drift
    to a few ulps of the spectrum (the tests hold every window to 1e-10 of scipy), and since
    anchors sit at fixed offsets from the start, a truncated series gives the same values.

    ``rfft(w - mean(w))`` and ``rfft(w)`` agree at every bin but 0, where the demeaned value
    is 0; so the windows are transformed as they are (shifted by ``x[0]``, which moves only
    bin 0 too), saving a demeaning pass.
    """
    shifted = x - x[0]
    twiddle = np.exp(2j * np.pi * np.arange(window // 2 + 1) / window)
    out = np.empty((batch, window // 2 + 1), dtype=np.complex128)
    for end0, views in window_batches(shifted, window, batch):
        spec = out[: views.shape[0]]
        spec[0] = scipy.fft.rfft(views[0])
        _slide_dft(shifted, end0, window, twiddle, spec)
        yield end0, spec


def rolling_fisher_g(x: np.ndarray, window: int, fs: float = 1.0, batch: int = 1024) -> FisherG:
    """:func:`fisher_g_test` of every trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length ``n``, >= 5.
    fs : float, default 1.0
        Sampling frequency (samples per unit of time); frequencies are in its units.
    batch : int, default 1024
        Windows per batched ``rfft`` (bounds the memory to ``batch * window`` values).

    Returns
    -------
    FisherG
        Arrays, one value per bar; NaN until the window fills and on constant windows.

    Raises
    ------
    StatsInputError
        If `x` is not finite or ``window < 5``.

    Notes
    -----
    One batched ``rfft`` per `batch` windows, then a compiled pass per spectrum row. The
    windows are not demeaned (that changes only bin 0, which g does not use).
    """
    window = check_window(window, 5)
    x = as_series(x, min_length=1)
    n = x.size
    g, freq, amp, fc = (np.full(n, np.nan) for _ in range(4))
    if window > n:
        return FisherG(g, g.copy(), freq, amp, fc)
    for end0, spec in _window_spectra(x, window, batch):
        rows = slice(end0, end0 + spec.shape[0])
        _fisher_rows(spec, window, float(fs), g[rows], freq[rows], amp[rows], fc[rows])
    flat = constant_windows(x, window)
    for arr in (g, freq, amp, fc):
        arr[flat] = np.nan
    return FisherG(g, fisher_g_pvalue(g, (window - 1) // 2), freq, amp, fc)


def _entropy_of_spectra(spec: np.ndarray, window: int, out: np.ndarray) -> None:
    """Write the normalised spectral entropy of each row of ``spec`` into ``out``.

    ``spec`` holds rffts of windows of ``window`` values (bin 0 unused); the logarithms are
    taken batch-wide (SIMD).
    """
    p = np.empty((spec.shape[0], window // 2 + 1))
    _normalised_psd(spec, window, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.log(p)
    _entropy_rows(p, log_p, out)


def rolling_spectral_entropy(x: np.ndarray, window: int, batch: int = 1024) -> np.ndarray:
    """:func:`spectral_entropy` of every trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Window length, >= 4.
    batch : int, default 1024
        Windows per batched ``rfft``.

    Returns
    -------
    numpy.ndarray
        One entropy per bar; NaN until the window fills and on constant windows.

    Raises
    ------
    StatsInputError
        If `x` is not finite or ``window < 4``.

    Notes
    -----
    One batched ``rfft`` per `batch` windows, then compiled normalisation and entropy passes.
    """
    window = check_window(window, 4)
    x = as_series(x, min_length=1)
    n = x.size
    out = np.full(n, np.nan)
    if window > n:
        return out
    for end0, spec in _window_spectra(x, window, batch):
        _entropy_of_spectra(spec, window, out[end0 : end0 + spec.shape[0]])
    out[constant_windows(x, window)] = np.nan
    return out


@lru_cache(maxsize=32)
def spectral_entropy_null_moments(
    window: int, n_sims: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Mean and standard deviation of :func:`spectral_entropy` on i.i.d. Gaussian windows.

    Parameters
    ----------
    window : int
        Window length, >= 4.
    n_sims : int, default 1000
        Number of simulated windows.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    mean, sd : float
        Sample mean and standard deviation (ddof 1) of the ``n_sims`` entropies.

    Raises
    ------
    StatsInputError
        If ``window < 4``.

    Notes
    -----
    Simulated once per window with a fixed seed (deterministic); the closed-form mean
    ``1 - (1 - gamma)/ln N`` is only asymptotic, the simulation is exact for the window.
    The ``n_sims`` disjoint windows of one Gaussian draw are transformed directly (each
    entropy is the one :func:`rolling_spectral_entropy` gives at that window's end, to
    rounding), not all the overlapping windows of which only one in ``window`` is used.
    """
    window = check_window(window, 4)
    x = np.random.default_rng(seed).standard_normal(window * n_sims)
    rows = (x - x[0]).reshape(n_sims, window)
    h = np.empty(n_sims)
    for start in range(0, n_sims, 1024):
        block = rows[start : start + 1024]
        _entropy_of_spectra(scipy.fft.rfft(block, axis=1), window, h[start : start + 1024])
    return float(h.mean()), float(h.std(ddof=1))
