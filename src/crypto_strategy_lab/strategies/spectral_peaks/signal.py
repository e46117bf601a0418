"""Spectral-peaks strategy: ride a statistically significant cycle in returns.

Statistic: rolling periodogram of log returns, Fisher's g of its dominant peak with the exact
p-value, the peak's period and the fitted cycle's one-step forecast. Rule (README.md): the
least-squares sinusoid at the peak Fourier frequency repeats with the window length, so its
value at the next bar is ``2 Re(X_k) / W``; when ``p < alpha`` trade the sign of that forecast
with a strength ramping from 0 at ``z_{1-alpha}`` to 1 at twice it (``z = Phi^{-1}(1 - p)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class SpectralPeaksParams(StrategyParams):
    """Parameters of :class:`SpectralPeaksSignal` (defaults tuned for 1h bars)."""

    timeframe: str = "1h"
    window: Span = span("256h", min_obs=32, max_obs=8192, description="Window of returns")
    alpha: float = Field(default=0.01, gt=0, lt=0.5, description="Fisher's g test level.")


class SpectralPeaksSignal(Strategy):
    """Dominant periodogram peak (Fisher's g) extrapolated one bar ahead."""

    name = "spectral_peaks"
    params_model = SpectralPeaksParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h")

    @property
    def warmup(self) -> int:
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import special, stats

        from crypto_strategy_lab.stats import rolling_fisher_g

        p = self.params
        r = log_returns(bars)
        res = rolling_fisher_g(r, p.bars("window"))
        # = norm.isf(p); scipy.special skips scipy.stats' per-call checks
        z = -special.ndtri(np.clip(res.pvalue, 1e-300, 1.0))
        z_crit = stats.norm.isf(p.alpha)
        strength = np.where(res.pvalue < p.alpha, significance_ramp(z, z_crit), 0.0)
        cols = {
            "g": res.g,
            "pvalue": res.pvalue,
            "period": 1.0 / res.frequency,
            "amplitude": res.amplitude,
            "forecast": res.forecast,
            "signal": np.sign(res.forecast) * strength,
        }
        return on_bars(cols, bars)
