"""Volatility clustering strategy: GARCH(1,1) volatility-managed exposure."""

from crypto_strategy_lab.strategies.volatility_clustering.signal import (
    VolatilityClusteringParams,
    VolatilityClusteringSignal,
)

__all__ = ["VolatilityClusteringParams", "VolatilityClusteringSignal"]
