"""Spectral-entropy strategy: trade serial structure only when the spectrum is ordered.

Statistic: rolling normalised spectral entropy of log returns and its z-score against the
simulated i.i.d. null for this window
(:func:`~crypto_strategy_lab.stats.spectral_entropy_null_moments`);
low entropy = power concentrated = predictable. Direction (README.md): the lag-1
autocorrelation is the power-weighted mean of ``cos(omega)`` over the spectrum, so power at low
frequencies (``rho_1 > 0``) means trend, at high frequencies (``rho_1 < 0``) reversal. When the
one-sided test ``z < -z_{1-alpha}`` rejects, the position is ``sign(rho_1) * sign(r_t)`` times
a strength ramping from 0 at the critical value to 1 at twice it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class SpectralEntropyParams(StrategyParams):
    """Parameters of :class:`SpectralEntropySignal` (defaults tuned for 1h bars)."""

    timeframe: str = "1h"
    window: Span = span("256h", min_obs=32, max_obs=8192, description="Window of returns")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="One-sided test level.")


class SpectralEntropySignal(Strategy):
    """Low spectral entropy (vs its i.i.d. null) turned into momentum / reversal positions."""

    name = "spectral_entropy"
    params_model = SpectralEntropyParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h")

    @property
    def warmup(self) -> int:
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import special, stats

        from crypto_strategy_lab.stats import (
            rolling_autocorrelations,
            rolling_spectral_entropy,
            spectral_entropy_null_moments,
        )

        p = self.params
        r = log_returns(bars)
        window = p.bars("window")
        entropy = rolling_spectral_entropy(r, window)
        mean, sd = spectral_entropy_null_moments(window)
        z = (entropy - mean) / sd
        rho1 = rolling_autocorrelations(r, window, 1)[:, 1]
        z_crit = stats.norm.isf(p.alpha)
        strength = significance_ramp(-z, z_crit)
        cols = {
            "entropy": entropy,
            "z": z,
            "pvalue": special.ndtr(z),  # = norm.cdf, without scipy.stats' checks
            "rho1": rho1,
            "signal": np.sign(rho1) * np.sign(r) * strength,
        }
        return on_bars(cols, bars)
