"""Shared measurements for the per-strategy power and size tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.data.synthetic import gbm_bars
from crypto_strategy_lab.strategies.base import Strategy


def next_bar_edge(strategy: Strategy, bars: pd.DataFrame) -> tuple[float, float, int]:
    """Mean of ``signal_t * r_{t+1}`` over active bars, its t-statistic and the active count.

    A positive t-statistic means the rule trades in the direction of the planted effect.
    """
    sig = strategy.compute(bars)["signal"].to_numpy()[:-1]
    nxt = np.diff(np.log(bars["close"].to_numpy()))
    pnl = (sig * nxt)[sig != 0]
    if pnl.size < 2:
        return 0.0, 0.0, int(pnl.size)
    return float(pnl.mean()), float(pnl.mean() / pnl.std(ddof=1) * np.sqrt(pnl.size)), pnl.size


def independent_firing_rate(
    strategy: Strategy, n_draws: int, seed: int, freq: str | None = None
) -> tuple[float, int]:
    """The empirical size: the share of ``n_draws`` non-overlapping windows of a driftless
    GBM (i.i.d. returns, the null) whose last bar fires.

    The signal at bar ``t`` reads only returns of the trailing window (plus a lookback
    shorter than it), so bars ``warmup + 24`` apart share no data and the draws are
    independent Bernoulli(size) trials, unlike every bar of one series (overlapping windows
    make consecutive bars nearly the same test).
    """
    stride = strategy.warmup + 24
    bars = gbm_bars(
        strategy.warmup + 1 + stride * n_draws, seed=seed, freq=freq or strategy.params.timeframe
    )
    sig = strategy.compute(bars)["signal"].to_numpy()[strategy.warmup + 1 :: stride]
    return float(np.mean(sig != 0)), int(sig.size)


def size_tolerance(alpha: float, n_draws: int) -> float:
    """Two-sided acceptance half-width for an empirical size from ``n_draws`` independent
    draws: three binomial standard errors plus a size distortion of a quarter of ``alpha``
    (asymptotic nulls on windows of a few hundred returns are that far off; e.g. the HAC
    z-test rejects about 6 % at 5 %). A rule that never fires, or fires at twice its level,
    fails."""
    return 0.25 * alpha + 3.0 * np.sqrt(alpha * (1 - alpha) / n_draws)
