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
    """``TR_t = max(H_t, C_{t-1}) - min(L_t, C_{t-1})`` (``H_0 - L_0`` for the first bar)."""
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

    An SMA seed over the first ``period`` true ranges, then ``1/period`` smoothing; NaN for
    the first ``period - 1`` bars.
    """
    period = check_window(period, minimum=1, name="period")
    return _wilder(true_range(high, low, close), period)


def product_normal_sf(d: np.ndarray) -> np.ndarray:
    """``P(|XY| > |d|)`` for independent standard normals X, Y: ``1 - (2/π)∫_0^{|d|} K_0``."""
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

    Every output at ``t`` uses bars ``<= t`` only; the first non-NaN value is at
    ``t = atr_period - 1 + horizon + calib - 1``.
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
