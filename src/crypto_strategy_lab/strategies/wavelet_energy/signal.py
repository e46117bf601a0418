"""Wavelet energy tilt: follow the smooth trend or fade it by where the energy sits.

Energy at coarse scales (persistence) follows the smooth trend, energy at fine scales (mean
reversion) fades it. See README.md in this folder for the derivation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from pydantic import Field, field_validator, model_validator

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars

if TYPE_CHECKING:
    import pandas as pd


class WaveletEnergyParams(StrategyParams):
    """Parameters of :class:`WaveletEnergySignal` (defaults tuned for 4h bars).

    Attributes
    ----------
    timeframe : str, default "4h"
        Bar size the spans are converted for.
    window : Span, default "2048h"
        Trailing window of log returns per estimate (512 bars at 4h; at least 64 and at
        least the level-J filter length ``L_J + 1``, 107 for ``sym4`` at level 4).
    wavelet : str, default "sym4"
        An orthogonal discrete PyWavelets wavelet (``sym4`` is Percival & Walden's LA(8)).
    level : int, default 4
        Detail levels ``J`` of the MODWT (2 to 8).
    z_entry : float, default 1.0
        ``|tilt_z|`` above which the rule trades.
    z_full : float, default 3.0
        ``|tilt_z|`` that takes a full position; must exceed `z_entry`.
    """

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
        """Smallest bar count of a span; the window holds one level-J MODWT filter.

        Parameters
        ----------
        name : str
            A span field's name.

        Returns
        -------
        int
            The field's declared minimum, and for ``window`` at least ``L_J + 1`` returns
            (the length of the level-``level`` filter of `wavelet`, plus one).
        """
        base = super().min_obs(name)
        if name == "window":
            from crypto_strategy_lab.stats.wavelets import filter_length  # lazily, as _compute

            return max(base, filter_length(self.wavelet, self.level) + 1)
        return base


class WaveletEnergySignal(Strategy):
    """``sign(V_J,t) * clip(z_tilt / z_full, -1, 1)`` when ``|z_tilt| > z_entry``.

    Parameters
    ----------
    params : WaveletEnergyParams or mapping, optional
        The parameters, validated by :class:`WaveletEnergyParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    The maximal-overlap DWT (undecimated, causal: ``W_{j,t}`` uses ``x_{t-L_j+1..t}`` only)
    of the trailing window's returns with an orthogonal filter; ``nu_j^2`` is the mean
    square of the non-boundary level-``j`` coefficients (Percival & Walden's unbiased
    wavelet variance), reported as energy shares ``nu_j^2 / sum nu^2``. White noise puts
    ``sigma^2 / 2^j`` at scale ``j``, so the tilt, the OLS slope of ``log2 nu_j^2`` on
    ``j = 1..J``, is -1 (``2H - 2`` for fGn). With ``Var(log2 nu_j^2) ~ 2 / (eta_j ln^2 2)``,
    EDOF ``eta_j = max(M_j / 2^j, 1)`` (P&W eq. 314c) and independent levels (Abry & Veitch
    1998), ``tilt_z = (slope + 1) / sd``; the bound is conservative (``sd(tilt_z) ~ 0.83`` on
    i.i.d. noise), hence an entry threshold below 1.96.

    Persistence (``tilt_z > 0``) follows the causal smooth ``V_{J,t}`` (a low-pass of
    returns over about ``2^J`` bars), anti-persistence fades it::

        signal_t = sign(V_{J,t}) clip(tilt_z / z_full, -1, 1) 1[|tilt_z| > z_entry]

    Columns: ``share_d1`` .. ``share_d{J}``, ``share_smooth``, ``tilt``, ``tilt_z``,
    ``smooth``, ``signal``. The derivation is ``README.md`` in this folder.

    References
    ----------
    Percival, D. B. and Walden, A. T. (2000). Wavelet Methods for Time Series Analysis,
    chapters 5 and 8. Cambridge University Press.

    Abry, P. and Veitch, D. (1998). Wavelet analysis of long-range-dependent traffic. IEEE
    Transactions on Information Theory 44(1), 2-15.
    """

    name = "wavelet_energy"
    params_model = WaveletEnergyParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("4h", "12h", "1d")
    asset_classes = ALL_ASSETS
    params: WaveletEnergyParams

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
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
