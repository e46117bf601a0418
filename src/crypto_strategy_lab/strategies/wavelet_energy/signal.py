"""Wavelet energy tilt: follow the smooth trend when energy sits at coarse scales, fade it
when it sits at fine scales. See README.md in this folder for the derivation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field, field_validator, model_validator

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars

if TYPE_CHECKING:
    import pandas as pd


class WaveletEnergyParams(StrategyParams):
    timeframe: str = "4h"
    window: Span = span("2048h", min_obs=64, description="Window of returns per estimate")
    wavelet: str = Field("sym4", description="Orthogonal PyWavelets wavelet (LA(8) default).")
    level: int = Field(4, ge=2, le=8, description="Detail levels J.")
    z_entry: float = Field(1.0, ge=0, description="|tilt z| above which the rule trades.")
    z_full: float = Field(3.0, gt=0, description="|tilt z| giving a full position.")

    @field_validator("wavelet")
    @classmethod
    def _orthogonal(cls, v: str) -> str:
        import pywt  # lazily, as _compute

        if v not in pywt.wavelist(kind="discrete") or not pywt.Wavelet(v).orthogonal:
            raise ValueError(f"{v!r} is not an orthogonal discrete PyWavelets wavelet")
        return v

    @model_validator(mode="before")
    @classmethod
    def _count_holds_the_filter(cls, data: Any) -> Any:
        """A window given as a bar count must hold the level-J filter (a time is lengthened)."""
        if isinstance(data, dict) and isinstance(data.get("window"), int):
            from crypto_strategy_lab.stats.wavelets import filter_length  # lazily, as _compute

            wavelet = data.get("wavelet", cls.model_fields["wavelet"].default)
            level = data.get("level", cls.model_fields["level"].default)
            need = filter_length(wavelet, level) + 1
            if data["window"] < need:
                raise ValueError(
                    f"window={data['window']} bars: {wavelet} at level {level} needs >= {need}"
                )
        return data

    @model_validator(mode="after")
    def _fits(self) -> WaveletEnergyParams:
        if self.z_full <= self.z_entry:
            raise ValueError("z_full must be > z_entry")
        return self

    def min_obs(self, name: str) -> int:
        """The window holds at least one level-J MODWT filter (``L_J + 1`` returns)."""
        base = super().min_obs(name)
        if name == "window":
            from crypto_strategy_lab.stats.wavelets import filter_length  # lazily, as _compute

            return max(base, filter_length(self.wavelet, self.level) + 1)
        return base


class WaveletEnergySignal(Strategy):
    """``sign(V_J,t) * clip(z_tilt / z_full, -1, 1)`` when ``|z_tilt| > z_entry``."""

    name = "wavelet_energy"
    params_model = WaveletEnergyParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("4h", "12h", "1d")
    asset_classes = ALL_ASSETS
    params: WaveletEnergyParams

    @property
    def warmup(self) -> int:
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from crypto_strategy_lab.stats.wavelets import (
            causal_modwt,
            energy_shares,
            rolling_wavelet_variance,
            wavelet_tilt,
        )

        p = self.params
        r = log_returns(bars)
        window = p.bars("window")
        var = rolling_wavelet_variance(r, window, p.wavelet, p.level)
        shares = energy_shares(var)
        slope, z = wavelet_tilt(var, window, p.wavelet)
        smooth = causal_modwt(r, p.wavelet, p.level)[p.level]
        gate = np.abs(z) > p.z_entry
        signal = np.where(gate, np.sign(smooth) * np.clip(z / p.z_full, -1.0, 1.0), 0.0)
        cols = {f"share_d{j}": shares[:, j - 1] for j in range(1, p.level + 1)}
        cols |= {
            "share_smooth": shares[:, p.level],
            "tilt": slope,
            "tilt_z": z,
            "smooth": smooth,
            "signal": signal,
        }
        return on_bars(cols, bars)
