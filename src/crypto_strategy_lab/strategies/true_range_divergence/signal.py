"""Price–volatility divergence on true ranges: follow moves that expanding ranges confirm,
fade moves made on contracting ranges. See README.md in this folder for the derivation."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import strategy_frame

if TYPE_CHECKING:
    import pandas as pd


class TrueRangeDivergenceParams(StrategyParams):
    timeframe: str = "15m"
    atr_period: int = Field(14, ge=2, description="Wilder ATR period.")
    horizon: Span = span("6h", min_obs=1, description="Horizon of the price and ATR moves")
    calib: Span = span("125h", min_obs=50, description="Trailing time that standardises both")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Two-sided level of the divergence.")
    d_full: float = Field(4.0, gt=0, description="|divergence| giving a full position.")


class TrueRangeDivergenceSignal(Strategy):
    """``sign(z_price) * clip(divergence / d_full, -1, 1)`` when the divergence is significant."""

    name = "true_range_divergence"
    params_model = TrueRangeDivergenceParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("15m", "30m", "1h")
    asset_classes = ALL_ASSETS
    params: TrueRangeDivergenceParams

    @property
    def warmup(self) -> int:
        p = self.params
        return p.atr_period + p.bars("horizon") + p.bars("calib") - 2

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from crypto_strategy_lab.stats.true_range import price_volatility_divergence

        p = self.params
        d = price_volatility_divergence(
            bars["high"].to_numpy(),
            bars["low"].to_numpy(),
            bars["close"].to_numpy(),
            p.atr_period,
            p.bars("horizon"),
            p.bars("calib"),
        )
        strength = np.clip(d.divergence / p.d_full, -1.0, 1.0)
        signal = np.where(d.pvalue < p.alpha, np.sign(d.price_z) * strength, 0.0)
        return strategy_frame(
            {
                "atr": d.atr,
                "price_z": d.price_z,
                "vol_z": d.vol_z,
                "divergence": d.divergence,
                "pvalue": d.pvalue,
                "signal": signal,
            },
            bars.index,
        )
