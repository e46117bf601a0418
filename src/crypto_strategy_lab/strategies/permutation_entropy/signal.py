"""Permutation entropy of returns: trade the ordinal structure when independence is rejected.

See README.md in this folder for the derivation.
"""

from __future__ import annotations

from math import factorial
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars

if TYPE_CHECKING:
    import pandas as pd


class PermutationEntropyParams(StrategyParams):
    timeframe: str = "1h"
    window: Span = span("500h", min_obs=50, description="Window of returns per estimate")
    order: int = Field(3, ge=2, le=5, description="Embedding dimension d (d! patterns).")
    delay: int = Field(1, ge=1, le=24, description="Embedding delay tau in bars.")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Test level of the G test.")
    z_full: float = Field(4.0, gt=0, description="z of the G test giving a full position.")


class PermutationEntropySignal(Strategy):
    """Low permutation entropy of returns + excess (deficit) of monotone patterns -> follow
    (fade) the last return."""

    name = "permutation_entropy"
    params_model = PermutationEntropyParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "2h", "4h")
    asset_classes = ALL_ASSETS
    params: PermutationEntropyParams

    @property
    def warmup(self) -> int:
        return self.params.bars("window")  # one bar is lost to the first return

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import special

        from crypto_strategy_lab.stats.permutation_entropy import (
            permutation_entropy_pvalue,
            rolling_pattern_share,
            rolling_permutation_entropy,
            rolling_untied_count,
        )

        p = self.params
        r = log_returns(bars)
        d = p.order
        window = p.bars("window")
        # Tied vectors (equal returns: quantised prices) are left out, so the uniform null
        # holds on a tick grid; N_t is the untied count of the window.
        h = rolling_permutation_entropy(r, window, d, p.delay, ties="drop")
        n_patterns = rolling_untied_count(r, window, d, p.delay)
        pvalue = permutation_entropy_pvalue(h, n_patterns, d)
        z = -special.ndtri(pvalue)  # = norm.isf(p); scipy.special skips scipy.stats' checks
        monotone = rolling_pattern_share(r, window, (0, factorial(d) - 1), d, p.delay, ties="drop")
        excess = monotone - 2.0 / factorial(d)
        strength = np.clip(z / p.z_full, 0.0, 1.0) * (pvalue < p.alpha)
        signal = strength * np.sign(excess) * np.sign(r)
        cols = {"entropy": h, "pvalue": pvalue, "z": z, "monotone_excess": excess}
        cols |= {"untied_patterns": n_patterns, "signal": signal}
        return on_bars(cols, bars)
