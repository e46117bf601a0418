"""PACF spike: when a partial autocorrelation leaves the (Bonferroni) white-noise band, trade
the Yule–Walker AR forecast up to that lag. See README.md in this folder for the derivation."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars

if TYPE_CHECKING:
    import pandas as pd


class PACFSpikeParams(StrategyParams):
    timeframe: str = "1h"
    window: Span = span("500h", min_obs=50, description="Window of returns per PACF estimate")
    max_lag: int = Field(10, ge=1, le=50, description="Lags searched for a spike.")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Family-wise level over the lags.")
    forecast_full: float = Field(
        0.5, gt=0, description="Forecast, in return standard deviations, for a full position."
    )


class PACFSpikeSignal(Strategy):
    """``clip(r_hat_{t+1} / (forecast_full * s_t), -1, 1)`` with the AR(k*) forecast."""

    name = "pacf_spike"
    params_model = PACFSpikeParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "2h", "4h")
    asset_classes = ALL_ASSETS
    params: PACFSpikeParams

    @property
    def warmup(self) -> int:
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import stats as sps

        from crypto_strategy_lab.stats import rolling_mean_std
        from crypto_strategy_lab.stats.pacf import rolling_pacf_spike

        p = self.params
        r = log_returns(bars)
        window = p.bars("window")
        z_crit = sps.norm.isf(p.alpha / (2 * p.max_lag))  # Bonferroni over max_lag lags
        spike = rolling_pacf_spike(r, window, p.max_lag, z_crit)
        spiked = np.isfinite(spike.lag)
        forecast = spike.forecast
        _, sd = rolling_mean_std(r, window)
        with np.errstate(divide="ignore", invalid="ignore"):
            signal = np.clip(forecast / (p.forecast_full * sd), -1.0, 1.0)
        cols = {
            "spike_lag": spike.lag,
            "spike_pacf": spike.pacf,
            "spike_z": spike.z,
            "band": np.full(r.size, z_crit / np.sqrt(window)),
            "forecast": forecast,
            "signal": np.where(spiked, signal, 0.0),
        }
        return on_bars(cols, bars)
