"""Combining strategies into target weights: inverse volatility, fractional Kelly, equal."""

from crypto_strategy_lab.portfolio.weights import (
    PortfolioError,
    budgets,
    capped_budgets,
    return_statistics,
    target_weights,
)

__all__ = [
    "PortfolioError",
    "budgets",
    "capped_budgets",
    "return_statistics",
    "target_weights",
]
