"""The drift_significance strategy (see README.md for the derivation)."""

from crypto_strategy_lab.strategies.drift_significance.signal import DriftSignificanceSignal

__all__ = ["DriftSignificanceSignal"]
