"""VPIN (flow toxicity): when VPIN is high against its own history, trade with the net flow.

See README.md in this folder for the derivation. Bars built from trades with
:func:`crypto_strategy_lab.data.trades.trades_to_bars` carry a ``buy_volume`` column; then the
exact aggressor split is used (``vpin_source == "trades"``), otherwise bulk volume
classification (``"bars"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field, model_validator

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import strategy_frame

if TYPE_CHECKING:
    import pandas as pd

    from crypto_strategy_lab.stats.vpin import VolumeBuckets


class VPINParams(StrategyParams):
    """Parameters of :class:`VPINSignal` (defaults tuned for 15m bars).

    Attributes
    ----------
    timeframe : str, default "15m"
        Bar size the spans are converted for.
    calibration_bars : Span, default "125h"
        Leading span whose mean bar volume sets the bucket size (500 bars at 15m; at least
        10); bars before its end are not bucketed.
    bars_per_bucket : float, default 2.0
        Bucket volume ``V`` in mean-bar volumes of the calibration span.
    n_buckets : int, default 50
        Buckets ``n`` per VPIN estimate (at least 5).
    sigma_window : Span, default "25h"
        Trailing window of the price-change sd of bulk volume classification (100 bars at
        15m; at least 10).
    zscore_buckets : int, default 500
        Buckets of VPIN history its z is taken against (at least 20).
    z_entry : float, default 1.0
        VPIN z above which the rule trades.
    z_full : float, default 3.0
        VPIN z that takes a full position; must exceed `z_entry`.
    """

    timeframe: str = "15m"
    calibration_bars: Span = span(
        "125h", min_obs=10, description="Leading span whose mean bar volume sets the bucket size"
    )
    bars_per_bucket: float = Field(2.0, gt=0, description="Bucket volume in mean-bar volumes.")
    n_buckets: int = Field(50, ge=5, description="Buckets per VPIN estimate.")
    sigma_window: Span = span("25h", min_obs=10, description="Window of the BVC price-change sd")
    zscore_buckets: int = Field(500, ge=20, description="Buckets of VPIN history for its z.")
    z_entry: float = Field(1.0, ge=0, description="VPIN z above which the rule trades.")
    z_full: float = Field(3.0, gt=0, description="VPIN z giving a full position.")

    @model_validator(mode="after")
    def _ordered(self) -> VPINParams:
        if self.z_full <= self.z_entry:
            raise ValueError("z_full must be > z_entry")
        return self


class VPINSignal(Strategy):
    """``sign(order imbalance) * clip((z_VPIN - z_entry) / (z_full - z_entry), 0, 1)``.

    Parameters
    ----------
    params : VPINParams or mapping, optional
        The parameters, validated by :class:`VPINParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    Volume is split into buy and sell exactly from the aggressor side when the bars carry
    ``buy_volume`` (``vpin_source == "trades"``), else by bulk volume classification
    ``V^B = V Phi(dp / sigma_dp)`` with a trailing ``sigma_dp`` (``"bars"``). Volume fills
    equal buckets of ``V``; over the last ``n`` buckets
    ``VPIN = sum |V^S - V^B| / (n V)`` and the signed imbalance
    ``OI = sum (V^B - V^S) / (n V)`` (Easley, Lopez de Prado & O'Hara 2012). A bar sees only
    the buckets completed by its close. VPIN has no closed-form null for real flow, so it is
    standardised in bucket time against its own trailing ``zscore_buckets`` values
    (``vpin_z``).

    High toxicity means the flow carries information, on the side of the imbalance::

        signal_t = sign(OI) clip((vpin_z - z_entry) / (z_full - z_entry), 0, 1)

    Columns: ``vpin``, ``vpin_z``, ``order_imbalance``, ``signal``, ``vpin_source``. The
    derivation is ``README.md`` in this folder.

    References
    ----------
    Easley, D., Lopez de Prado, M. and O'Hara, M. (2012). Flow toxicity and liquidity in a
    high-frequency world. Review of Financial Studies 25(5), 1457-1493.

    Easley, D., Lopez de Prado, M. and O'Hara, M. (2016). Discerning information from trade
    data. Journal of Financial Economics 120(2), 269-285.

    Andersen, T. G. and Bondarenko, O. (2014). VPIN and the flash crash. Journal of
    Financial Markets 17, 1-46.
    """

    name = "vpin"
    params_model = VPINParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("15m", "30m", "1h")
    uses_volume = True
    params: VPINParams

    @property
    def warmup(self) -> int:
        """Bars of the calibration span, ``calibration_bars`` in bars.

        VPIN itself needs ``n_buckets`` more buckets and its z ``zscore_buckets`` more, whose
        length in bars depends on the volume traded.
        """
        return self.params.bars("calibration_bars")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from crypto_strategy_lab.data.schema import DataValidationError
        from crypto_strategy_lab.stats.vpin import bar_vpin

        p = self.params
        close = bars["close"].to_numpy()
        volume = bars["volume"].to_numpy()
        calib = p.bars("calibration_bars")
        mean_volume = float(volume[:calib].mean())
        if mean_volume <= 0:
            raise DataValidationError(
                f"vpin: zero volume in the first {calib} bars, cannot size the buckets", "volume"
            )
        # Bars before the calibration end are not bucketed (the bucket size uses their
        # volume); bar calib - 1 only supplies the previous close, with its volume zeroed.
        vol_tail = volume[calib - 1 :].copy()
        vol_tail[0] = 0.0
        buy_tail = None
        if "buy_volume" in bars.columns:
            buy_tail = bars["buy_volume"].to_numpy(float)[calib - 1 :].copy()
            buy_tail[0] = 0.0
        res = bar_vpin(
            close[calib - 1 :],
            vol_tail,
            p.bars_per_bucket * mean_volume,
            p.n_buckets,
            p.bars("sigma_window"),
            buy_tail,
        )
        zb = _bucket_zscore(res.buckets, p)
        n = len(bars)
        vpin = np.full(n, np.nan)
        oi = np.full(n, np.nan)
        z = np.full(n, np.nan)
        idx = res.bucket_index
        vpin[calib - 1 :] = res.vpin
        oi[calib - 1 :] = res.order_imbalance
        z_tail = np.full(idx.size, np.nan)
        z_tail[idx >= 0] = zb[idx[idx >= 0]]
        z[calib - 1 :] = z_tail
        strength = np.clip((z - p.z_entry) / (p.z_full - p.z_entry), 0.0, 1.0)
        out = strategy_frame(
            {
                "vpin": vpin,
                "vpin_z": z,
                "order_imbalance": oi,
                "signal": np.sign(oi) * strength,
            },
            bars.index,
        )
        out["vpin_source"] = res.source
        return out


def _bucket_zscore(buckets: VolumeBuckets, p: VPINParams) -> np.ndarray:
    """The z of each bucket's VPIN against the trailing ``zscore_buckets`` VPINs (bucket time)."""
    from crypto_strategy_lab.stats import rolling_mean_std
    from crypto_strategy_lab.stats.vpin import rolling_vpin

    v, _ = rolling_vpin(buckets.buy, buckets.sell, p.n_buckets)
    mean, sd = rolling_mean_std(v, p.zscore_buckets)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, (v - mean) / sd, np.nan)
