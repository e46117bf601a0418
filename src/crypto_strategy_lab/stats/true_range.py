"""True range, Wilder's ATR, and the price–volatility divergence statistic.

True range (Wilder 1978): ``TR_0 = H_0 - L_0`` and, for ``t >= 1``,
``TR_t = max(H_t, C_{t-1}) - min(L_t, C_{t-1})``. Wilder's ATR over ``n`` bars is seeded with
the mean of the first ``n`` true ranges and then smoothed,
``ATR_t = ((n - 1) ATR_{t-1} + TR_t) / n`` (NaN for ``t < n - 1``).

Divergence statistic. Over a horizon of ``m`` bars we compare the move of the price with the
move of its volatility:

* price z: ``z^P_t = (ln C_t - ln C_{t-m}) / (s_t √m)``, with ``s_t`` the standard deviation of
  the one-bar log returns over the trailing ``calib`` bars. Under a driftless random walk with
  constant volatility ``z^P ≈ N(0, 1)``.
* volatility z: ``D_t = ln ATR_t - ln ATR_{t-m}`` standardised by its own trailing mean and
  standard deviation over ``calib`` bars, ``z^V_t = (D_t - mean) / sd``; under constant
  volatility ``z^V ≈ N(0, 1)`` (empirical standardisation: ATR is a smoothed, autocorrelated
  series whose change has no simple closed-form variance).
* divergence: ``Δ_t = |z^P_t| · z^V_t``. Positive when volatility *expands* with a large price
  move (confirmation), negative when the price moves while true ranges *contract* (a
  price–volatility divergence).

Null distribution: for a random walk with symmetric increments, the sign of the price move is
independent of the magnitudes that drive ATR, and ``z^P, z^V`` are (approximately) independent
standard normals, so ``Δ`` has the law of a product of two independent N(0, 1) variables
(``|X| Y`` and ``XY`` share it: ``Y`` is symmetric), density ``K_0(|d|)/π``, variance 1, and
``P(|Δ| > d) = 1 - (2/π) ∫_0^d K_0(u) du`` (Craig 1936), computed with ``scipy.special.iti0k0``.

References
----------
Wilder, J. W. (1978). New Concepts in Technical Trading Systems. Trend Research.
Craig, C. C. (1936). On the frequency function of xy. Annals of Mathematical Statistics 7, 1-15.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import special

from crypto_strategy_lab.stats._windows import (
    StatsInputError,
    as_series,
    check_window,
    rolling_mean_std,
)


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """Wilder's true range of every bar.

    Parameters
    ----------
    high, low, close : numpy.ndarray
        Bar highs, lows and closes, 1-D, finite, of one length; ``high >= low``.

    Returns
    -------
    numpy.ndarray
        ``TR_t = max(H_t, C_{t-1}) - min(L_t, C_{t-1})``, and ``H_0 - L_0`` for the first bar
        (Wilder 1978), in price units.

    Raises
    ------
    StatsInputError
        If the inputs differ in length, are not finite, or a high is below its low.
    """
    h = as_series(high, name="high", min_length=1)
    lo = as_series(low, name="low", min_length=1)
    c = as_series(close, name="close", min_length=1)
    if not h.shape == lo.shape == c.shape:
        raise StatsInputError("high, low and close must have the same length")
    if (h < lo).any():
        raise StatsInputError("high must be >= low on every bar")
    prev = np.concatenate(([np.nan], c[:-1]))
    tr = np.fmax(h, prev) - np.fmin(lo, prev)
    return tr


@numba.njit(cache=True)
def _wilder(tr: np.ndarray, n: int) -> np.ndarray:
    out = np.full(tr.shape[0], np.nan)
    if tr.shape[0] < n:
        return out
    acc = 0.0
    for t in range(n):
        acc += tr[t]
    a = acc / n
    out[n - 1] = a
    for t in range(n, tr.shape[0]):
        a = ((n - 1) * a + tr[t]) / n
        out[t] = a
    return out


def average_true_range(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int = 14
) -> np.ndarray:
    """Wilder's average true range.

    Parameters
    ----------
    high, low, close : numpy.ndarray
        Bar highs, lows and closes, 1-D, finite, of one length; ``high >= low``.
    period : int, default 14
        Smoothing period ``n``, >= 1.

    Returns
    -------
    numpy.ndarray
        ``ATR_{n-1} = mean(TR_0 .. TR_{n-1})``, then ``ATR_t = ((n - 1) ATR_{t-1} + TR_t) / n``
        (Wilder 1978; an exponential average with ``alpha = 1/n``); NaN for the first
        ``n - 1`` bars, all NaN for fewer than ``n`` bars.

    Raises
    ------
    StatsInputError
        As :func:`true_range`, or ``period < 1``.
    """
    period = check_window(period, minimum=1, name="period")
    return _wilder(true_range(high, low, close), period)


def product_normal_sf(d: np.ndarray) -> np.ndarray:
    """Two-sided tail ``P(|XY| > |d|)`` of the product of independent standard normals.

    Parameters
    ----------
    d : numpy.ndarray
        Observed products (any sign).

    Returns
    -------
    numpy.ndarray
        ``1 - (2/π) ∫_0^{|d|} K_0(u) du`` (Craig 1936; ``scipy.special.iti0k0``), clipped to
        [0, 1]; 1 at 0 and NaN where `d` is not finite.
    """
    a = np.abs(np.asarray(d, dtype=float))
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(a)
    out[ok] = 1.0 - (2.0 / np.pi) * special.iti0k0(a[ok])[1]
    out[ok & (a == 0)] = 1.0
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class Divergence:
    """Outputs of :func:`price_volatility_divergence` (arrays, NaN during warm-up)."""

    atr: np.ndarray
    price_z: np.ndarray
    vol_z: np.ndarray
    divergence: np.ndarray
    pvalue: np.ndarray


def price_volatility_divergence(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    atr_period: int = 14,
    horizon: int = 24,
    calib: int = 500,
) -> Divergence:
    """Price z, volatility z and the divergence ``|z^P| z^V`` with its two-sided p-value.

    Parameters
    ----------
    high, low, close : numpy.ndarray
        Bar highs, lows and closes, 1-D, finite, of one length; ``high >= low``. Closes > 0.
    atr_period : int, default 14
        Period of Wilder's ATR.
    horizon : int, default 24
        ``m``, the bars over which the price move and the ATR change are measured.
    calib : int, default 500
        Trailing bars for the return volatility ``s_t`` and the standardisation of the ATR
        change, >= 3.

    Returns
    -------
    Divergence
        The ATR, ``z^P``, ``z^V``, ``Δ = |z^P| z^V`` and :func:`product_normal_sf` of ``Δ``
        (module notes), NaN during the warm-up.

    Raises
    ------
    StatsInputError
        As :func:`true_range`, if a close is not positive, or a period is out of range.

    Notes
    -----
    Every output at ``t`` uses bars ``<= t`` only; the first non-NaN value is at
    ``t = atr_period - 1 + horizon + calib - 1``. The p-value assumes ``z^P`` and ``z^V``
    independent standard normals (a symmetric random walk with constant volatility).
    """
    atr_period = check_window(atr_period, minimum=1, name="atr_period")
    horizon = check_window(horizon, minimum=1, name="horizon")
    calib = check_window(calib, minimum=3, name="calib")
    atr = average_true_range(high, low, close, atr_period)
    c = np.asarray(close, dtype=float)
    if (c <= 0).any():
        raise StatsInputError("close prices must be > 0")
    n = c.size
    logc = np.log(c)
    ret = np.concatenate(([np.nan], np.diff(logc)))
    _, s = rolling_mean_std(ret, calib)
    move = np.full(n, np.nan)
    move[horizon:] = logc[horizon:] - logc[:-horizon]
    with np.errstate(divide="ignore", invalid="ignore"):
        price_z = move / (s * np.sqrt(horizon))
        log_atr = np.log(atr)
        d = np.full(n, np.nan)
        d[horizon:] = log_atr[horizon:] - log_atr[:-horizon]
        mu_d, sd_d = rolling_mean_std(d, calib)
        vol_z = (d - mu_d) / sd_d
    price_z = np.where(np.isfinite(price_z), price_z, np.nan)
    vol_z = np.where(np.isfinite(vol_z), vol_z, np.nan)
    div = np.abs(price_z) * vol_z
    return Divergence(atr, price_z, vol_z, div, product_normal_sf(div))
