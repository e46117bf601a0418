"""Combining strategies into target weights: inverse volatility, fractional Kelly, equal."""

from crypto_strategy_lab.portfolio.weights import (
    PortfolioError,
    capped_budgets,
    return_statistics,
    target_weights,
)

__all__ = [
    "PortfolioError",
    "capped_budgets",
    "return_statistics",
    "target_weights",
]
