"""Hurst-exponent strategy: follow the trend in persistent regimes, fade it in anti-persistent.

Statistic: rolling Hurst exponent of log returns (Anis–Lloyd corrected R/S or DFA-1) and its
z-score against the estimator's simulated i.i.d. null (mean and sd for this window and these
scales, :func:`~crypto_strategy_lab.stats.hurst_null_moments`). Rule (README.md): for fGn the
correlation of consecutive ``L``-bar returns is ``2^{2H-1} - 1``, positive iff ``H > 0.5``;
so when ``|z| > z_{1-alpha/2}`` the position is ``sign(z) * sign(last L-bar return)`` times a
strength ramping from 0 at the critical value to 1 at twice it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class HurstExponentParams(StrategyParams):
    """Parameters of :class:`HurstExponentSignal` (defaults tuned for 4h bars)."""

    timeframe: str = "4h"
    window: Span = span("1024h", min_obs=64, max_obs=4096, description="Window of returns")
    method: Literal["rs", "dfa"] = Field(default="rs", description="R/S (Anis–Lloyd) or DFA-1.")
    min_scale: int = Field(default=8, ge=4, description="Smallest block size.")
    lookback: Span = span("1d", min_obs=1, description="Trend that is followed")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Two-sided test level.")


class HurstExponentSignal(Strategy):
    """Hurst exponent vs its i.i.d. null turned into momentum / reversal positions."""

    name = "hurst_exponent"
    params_model = HurstExponentParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("4h", "1d")
    asset_classes = ALL_ASSETS

    @property
    def warmup(self) -> int:
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import special, stats

        from crypto_strategy_lab.stats import (
            hurst_null_moments,
            rolling_hurst_dfa,
            rolling_hurst_rs,
            rolling_sum,
        )

        p = self.params
        r = log_returns(bars)
        roll = rolling_hurst_rs if p.method == "rs" else rolling_hurst_dfa
        window = p.bars("window")
        h = roll(r, window, min_scale=p.min_scale)
        mean, sd = hurst_null_moments(window, p.method, p.min_scale)
        z = (h - mean) / sd
        z_crit = stats.norm.isf(p.alpha / 2)
        strength = significance_ramp(np.abs(z), z_crit)
        signal = np.sign(z) * np.sign(rolling_sum(r, p.bars("lookback"))) * strength
        pvalue = 2.0 * special.ndtr(-np.abs(z))  # = 2 norm.sf(|z|), without scipy.stats' checks
        cols = {"hurst": h, "z": z, "pvalue": pvalue, "signal": signal}
        return on_bars(cols, bars)
