"""The variance_ratio strategy (see README.md for the derivation)."""

from crypto_strategy_lab.strategies.variance_ratio.signal import VarianceRatioSignal

__all__ = ["VarianceRatioSignal"]
