r"""VPIN, the volume-synchronised probability of informed trading.

Easley, López de Prado & O'Hara (2012).

1. **Classification.** Each observation ``i`` (a bar, or a time bar built from trades) has
   volume ``V_i`` split into buy and sell volume. From trades that carry the aggressor side the
   split is exact (``source = "trades"``). Otherwise *bulk volume classification* (BVC) is used
   (``source = "bars"``):

   .. math:: V^B_i = V_i\,\Phi\!\left(\frac{\Delta p_i}{\sigma_{\Delta p}}\right),
             \qquad V^S_i = V_i - V^B_i,

   with ``Δp_i = ln P_i - ln P_{i-1}`` and ``σ_Δp`` the standard deviation of the price changes.
   The paper takes ``σ_Δp`` over the whole sample, which looks ahead; here it is the trailing
   standard deviation of the last ``sigma_window`` changes (known at the close of ``i``), and
   observations before it exists are not classified.
2. **Volume buckets.** Classified volume is poured, in time order, into buckets of equal volume
   ``V`` (an observation that overflows a bucket is split pro rata, keeping its buy share).
   Bucket ``τ`` is *completed* at the observation whose volume fills it.
3. **VPIN** over the last ``n`` completed buckets:

   .. math:: \mathrm{VPIN}_\tau = \frac{1}{n V}\sum_{j=\tau-n+1}^{\tau} |V^S_j - V^B_j| .

   We also report the signed order imbalance ``OI_τ = (1 / nV) Σ (V^B_j - V^S_j)``, the
   direction of the (presumed informed) flow.
4. **Mapping back to bars (causal).** Bar ``t`` carries the VPIN of the last bucket completed at
   or before ``t``: every unit of volume in it traded no later than bar ``t``'s close.

Under uninformed flow (buys and sells equally likely, independent of news) ``E|V^S - V^B|`` is
small and VPIN is low; informed flow concentrates volume on one side and raises it. The
statistic has no closed-form null for real flow; strategies standardise it by its own
trailing history (in bucket time).

References
----------
Easley, D., López de Prado, M. & O'Hara, M. (2012). Flow toxicity and liquidity in a
high-frequency world. Review of Financial Studies 25(5), 1457-1493.
Easley, D., López de Prado, M. & O'Hara, M. (2016). Discerning information from trade data.
Journal of Financial Economics 120(2), 269-285 (bulk volume classification).
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
    rolling_sum,
)


def bulk_volume_classification(
    price_change: np.ndarray, volume: np.ndarray, sigma: np.ndarray | float
) -> np.ndarray:
    """Bulk volume classification: the buy volume of each observation.

    Parameters
    ----------
    price_change : numpy.ndarray
        ``Δp_i = ln P_i - ln P_{i-1}``.
    volume : numpy.ndarray
        ``V_i``, of the same length.
    sigma : numpy.ndarray or float
        Standard deviation of the price changes (trailing, to stay causal).

    Returns
    -------
    numpy.ndarray
        ``V^B_i = V_i Φ(Δp_i / σ)`` (Easley, López de Prado & O'Hara 2016); NaN where ``σ``
        is NaN, ``V_i / 2`` where ``σ == 0``.
    """
    dp = np.asarray(price_change, dtype=float)
    sig = np.broadcast_to(np.asarray(sigma, dtype=float), dp.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sig > 0, dp / sig, 0.0)
    share = special.ndtr(z)
    return np.where(np.isnan(sig), np.nan, np.asarray(volume, dtype=float) * share)


@numba.njit(cache=True)
def _fill_buckets(
    buy: np.ndarray, volume: np.ndarray, bucket_volume: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = volume.shape[0]
    total = 0.0
    for i in range(n):
        if not np.isnan(buy[i]):
            total += volume[i]
    cap = int(total / bucket_volume) + 1
    b_buy = np.zeros(cap)
    b_sell = np.zeros(cap)
    b_end = np.full(cap, -1, dtype=np.int64)
    k = 0
    filled = 0.0
    tol = bucket_volume * 1e-12
    for i in range(n):
        if np.isnan(buy[i]) or volume[i] <= 0.0:
            continue
        share = buy[i] / volume[i]
        remaining = volume[i]
        while remaining > tol and k < cap:
            take = min(bucket_volume - filled, remaining)
            b_buy[k] += take * share
            b_sell[k] += take * (1.0 - share)
            filled += take
            remaining -= take
            if filled >= bucket_volume - tol:
                b_end[k] = i
                k += 1
                filled = 0.0
    return b_buy[:k], b_sell[:k], b_end[:k]


@dataclass(frozen=True)
class VolumeBuckets:
    """Completed equal-volume buckets: buy and sell volume and the completing observation."""

    buy: np.ndarray
    sell: np.ndarray
    end_index: np.ndarray
    bucket_volume: float


def volume_buckets(
    buy_volume: np.ndarray, volume: np.ndarray, bucket_volume: float
) -> VolumeBuckets:
    """Pour classified volume into buckets of ``bucket_volume``.

    Observations with NaN buy volume are skipped; a partly filled last bucket is not
    returned.

    Parameters
    ----------
    buy_volume : numpy.ndarray
        Buy volume per observation (NaN: not classified).
    volume : numpy.ndarray
        Total volume per observation, >= 0, finite.
    bucket_volume : float
        Volume per bucket ``V``, > 0.

    Returns
    -------
    VolumeBuckets
        Buy and sell volume of every completed bucket and the observation that completed
        it; an observation that overflows a bucket is split pro rata, keeping its buy share.

    Raises
    ------
    StatsInputError
        If the lengths differ, a volume is negative, or `bucket_volume` is not positive.
    """
    vol = as_series(volume, name="volume", min_length=1)
    buy = np.ascontiguousarray(np.asarray(buy_volume, dtype=float))
    if buy.shape != vol.shape:
        raise StatsInputError(f"buy_volume shape {buy.shape} != volume shape {vol.shape}")
    if (vol < 0).any():
        raise StatsInputError("volume must be >= 0")
    if not np.isfinite(bucket_volume) or bucket_volume <= 0:
        raise StatsInputError(f"bucket_volume must be > 0, got {bucket_volume!r}")
    b, s, end = _fill_buckets(buy, vol, float(bucket_volume))
    return VolumeBuckets(b, s, end, float(bucket_volume))


def vpin(bucket_buy: np.ndarray, bucket_sell: np.ndarray) -> float:
    """One-shot VPIN of the given buckets.

    Parameters
    ----------
    bucket_buy, bucket_sell : numpy.ndarray
        Buy and sell volume per bucket.

    Returns
    -------
    float
        ``Σ |V^S - V^B| / Σ (V^S + V^B)``, which is ``(1 / nV) Σ |V^S - V^B|`` for ``n`` full
        buckets of volume ``V`` (Easley, López de Prado & O'Hara 2012).
    """
    b = as_series(bucket_buy, name="bucket_buy", min_length=1)
    s = as_series(bucket_sell, name="bucket_sell", min_length=1)
    return float(np.abs(s - b).sum() / (s + b).sum())


def rolling_vpin(
    bucket_buy: np.ndarray, bucket_sell: np.ndarray, n_buckets: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-bucket VPIN and signed order imbalance over the last ``n_buckets`` buckets.

    NaN until ``n_buckets`` are completed.

    Parameters
    ----------
    bucket_buy, bucket_sell : numpy.ndarray
        Buy and sell volume per completed bucket, in bucket order.
    n_buckets : int
        Buckets per estimate ``n``, >= 1.

    Returns
    -------
    vpin, order_imbalance : numpy.ndarray
        Per bucket, ``Σ |V^S - V^B| / Σ (V^S + V^B)`` and the signed ``Σ (V^B - V^S) /
        Σ (V^S + V^B)`` over the last ``n`` buckets (positive: buyers dominate).
    """
    n_buckets = check_window(n_buckets, minimum=1, name="n_buckets")
    b = np.asarray(bucket_buy, dtype=float)
    s = np.asarray(bucket_sell, dtype=float)
    total = rolling_sum(b + s, n_buckets)
    return rolling_sum(np.abs(s - b), n_buckets) / total, rolling_sum(b - s, n_buckets) / total


@dataclass(frozen=True)
class BarVPIN:
    """VPIN mapped to observations (bars): value of the last bucket completed by each close.

    ``bucket_index`` is the index of that bucket (-1 before the first); ``source`` is
    ``"trades"`` (aggressor-side classification) or ``"bars"`` (BVC).
    """

    vpin: np.ndarray
    order_imbalance: np.ndarray
    bucket_index: np.ndarray
    buckets: VolumeBuckets
    source: str


def bar_vpin(
    close: np.ndarray,
    volume: np.ndarray,
    bucket_volume: float,
    n_buckets: int = 50,
    sigma_window: int = 100,
    buy_volume: np.ndarray | None = None,
) -> BarVPIN:
    """VPIN for each bar, strictly causal.

    Parameters
    ----------
    close, volume : numpy.ndarray
        Bar closes (> 0) and volumes (>= 0, base units), 1-D, finite, at least 2 bars.
    bucket_volume : float
        Volume per bucket ``V`` (fixed; choose it from past volume only).
    n_buckets : int, default 50
        Buckets per VPIN estimate ``n`` (50 in the paper: about one day).
    sigma_window : int, default 100
        Trailing price changes for ``σ_Δp`` in BVC, the current bar's included (ignored
        with ``buy_volume``); bars are unclassified (skipped) until it fills.
    buy_volume : numpy.ndarray or None, default None
        Exact aggressor buy volume per bar (e.g. from
        :func:`crypto_strategy_lab.data.trades.trades_to_bars`); when given, BVC
        is skipped and ``source == "trades"``.

    Returns
    -------
    BarVPIN
        Per bar, the VPIN and order imbalance of the last bucket completed at or before its
        close (NaN before ``n_buckets`` buckets are complete), that bucket's index, the
        buckets and the classification source.

    Raises
    ------
    StatsInputError
        If the lengths differ, a close is not positive, a volume is negative, or
        `buy_volume` lies outside ``[0, volume]``.
    """
    px = as_series(close, name="close", min_length=2)
    vol = as_series(volume, name="volume", min_length=2)
    if px.shape != vol.shape:
        raise StatsInputError(f"close shape {px.shape} != volume shape {vol.shape}")
    if (px <= 0).any():
        raise StatsInputError("close prices must be > 0")
    if buy_volume is not None:
        buy = as_series(buy_volume, name="buy_volume", min_length=2)
        if ((buy < 0) | (buy > vol * (1 + 1e-9))).any():
            raise StatsInputError("buy_volume must lie in [0, volume]")
        source = "trades"
    else:
        sigma_window = check_window(sigma_window, minimum=2, name="sigma_window")
        dp = np.concatenate(([np.nan], np.diff(np.log(px))))
        sigma = np.full(px.size, np.nan)
        if px.size > sigma_window:
            sigma[1:] = rolling_mean_std(dp[1:], sigma_window)[1]
        buy = bulk_volume_classification(dp, vol, sigma)
        source = "bars"
    buckets = volume_buckets(buy, vol, bucket_volume)
    v, oi = rolling_vpin(buckets.buy, buckets.sell, n_buckets)
    # bucket_index[t] = last bucket whose end_index <= t
    idx = np.searchsorted(buckets.end_index, np.arange(px.size), side="right") - 1
    has = idx >= 0
    out_v = np.full(px.size, np.nan)
    out_oi = np.full(px.size, np.nan)
    out_v[has] = v[idx[has]]
    out_oi[has] = oi[idx[has]]
    return BarVPIN(out_v, out_oi, idx, buckets, source)
