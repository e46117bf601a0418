"""Volatility clustering strategy: GARCH(1,1) volatility-managed exposure."""

from crypto_strategy_lab.strategies.volatility_clustering.signal import VolatilityClusteringSignal

__all__ = ["VolatilityClusteringSignal"]
