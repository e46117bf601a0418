"""GARCH(1,1) volatility clustering: scale a long exposure by forecast volatility.

See README.md in this folder for the derivation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field, model_validator

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars

if TYPE_CHECKING:
    import pandas as pd


class VolatilityClusteringParams(StrategyParams):
    timeframe: str = "1h"
    window: Span = span("2000h", min_obs=500, description="Window of returns per GARCH fit")
    refit_every: Span = span("2000h", min_obs=1, description="Time between refits (~12 weeks)")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Level of the GARCH-vs-constant LR test.")
    max_persistence: float = Field(
        0.999, gt=0, le=1, description="Fits at or above this alpha+beta are treated as IGARCH."
    )

    @model_validator(mode="after")
    def _refit_within_window(self) -> VolatilityClusteringParams:
        if self.bars("refit_every") > self.bars("window"):
            raise ValueError(
                f"refit_every ({self.bars('refit_every')} bars) must be <= window "
                f"({self.bars('window')} bars): every return must be fitted once"
            )
        return self


class VolatilityClusteringSignal(Strategy):
    """Long exposure ``min(1, sigma_bar / sigma_{t+1|t})`` while the LR test finds clustering."""

    name = "volatility_clustering"
    params_model = VolatilityClusteringParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h", "1d")
    params: VolatilityClusteringParams

    @property
    def warmup(self) -> int:
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from crypto_strategy_lab.stats.garch import rolling_garch11

        p = self.params
        r = log_returns(bars)
        g = rolling_garch11(r, p.bars("window"), p.bars("refit_every"))
        stationary = g.persistence < p.max_persistence
        clustered = (g.lr_pvalue < p.alpha) & stationary
        with np.errstate(divide="ignore", invalid="ignore"):
            exposure = np.minimum(1.0, 1.0 / np.sqrt(g.vol_ratio))
        signal = np.where(clustered, exposure, 0.0)
        cols = {
            "forecast_vol": g.forecast_vol,
            "persistence": g.persistence,
            "alpha": g.alpha,
            "beta": g.beta,
            "lr_pvalue": g.lr_pvalue,
            "vol_ratio": g.vol_ratio,
            "std_resid": g.std_resid,
            "signal": signal,
        }
        return on_bars(cols, bars)
