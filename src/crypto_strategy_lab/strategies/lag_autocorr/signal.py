"""Lag autocorrelation strategy: trade the sign of a significant lag-k serial correlation.

Statistic: rolling ``rho_k`` of log returns with its Bartlett z (``sqrt(W) rho_k``) and the
Ljung–Box ``Q`` over ``lb_lags`` (reported, not traded). Rule (derivation in README.md): the
linear projection ``E[r_{t+1} | r_{t+1-k}] = rho_k r_{t+1-k}``, so when ``|z| > z_{1-alpha/2}``
the position is ``sign(rho_k r_{t+1-k})`` scaled by a strength that ramps linearly from 0 at
the critical value to 1 at twice it; otherwise 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class LagAutocorrParams(StrategyParams):
    """Parameters of :class:`LagAutocorrSignal` (defaults tuned for 1h bars)."""

    timeframe: str = "1h"
    window: Span = span("7d", min_obs=20, description="Rolling window of returns")
    lag: int = Field(default=1, ge=1, le=24, description="Autocorrelation lag traded.")
    lb_lags: int = Field(default=10, ge=1, le=50, description="Ljung–Box lags (reported).")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Two-sided test level.")


class LagAutocorrSignal(Strategy):
    """Momentum on significant positive, reversal on significant negative ``rho_k``."""

    name = "lag_autocorr"
    params_model = LagAutocorrParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h", "1d")

    @property
    def warmup(self) -> int:
        return max(self.params.bars("window"), self.params.lb_lags + 1)

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import stats

        from crypto_strategy_lab.stats import rolling_autocorrelation_test, rolling_ljung_box

        p = self.params
        r = log_returns(bars)
        window = p.bars("window")
        test = rolling_autocorrelation_test(r, window, p.lag)
        lb = rolling_ljung_box(r, window, p.lb_lags)
        z_crit = stats.norm.isf(p.alpha / 2)
        strength = significance_ramp(np.abs(test.z), z_crit)
        lagged = np.full(r.size, np.nan)
        lagged[p.lag - 1 :] = r[: r.size - p.lag + 1]  # r_{t+1-k}, known at t
        signal = np.sign(test.rho) * np.sign(lagged) * strength
        cols = {"rho": test.rho, "z": test.z, "pvalue": test.pvalue}
        cols |= {"ljung_box": lb.statistic, "lb_pvalue": lb.pvalue, "signal": signal}
        return on_bars(cols, bars)
