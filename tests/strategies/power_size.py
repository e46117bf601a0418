"""Shared measurements for the per-strategy power and size tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

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


def firing_rate(strategy: Strategy, bars: pd.DataFrame) -> float:
    """Fraction of post-warm-up bars with a non-zero signal (the empirical size on noise)."""
    sig = strategy.compute(bars)["signal"].to_numpy()[strategy.warmup + 1 :]
    return float(np.mean(sig != 0))


def size_tolerance(alpha: float, n_bars: int, window: int) -> float:
    """Three binomial standard deviations with ``n_bars / window`` effectively independent
    windows (overlapping windows share data, so the rate is far noisier than n_bars draws)."""
    return 3.0 * np.sqrt(alpha * (1 - alpha) / (n_bars / window))
