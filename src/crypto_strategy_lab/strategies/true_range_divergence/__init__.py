"""True range divergence strategy: does volatility confirm or contradict the price move."""

from crypto_strategy_lab.strategies.true_range_divergence.signal import TrueRangeDivergenceSignal

__all__ = ["TrueRangeDivergenceSignal"]
