"""The 12 strategies: each a statistical test from :mod:`crypto_strategy_lab.stats` plus a rule.

Each has a research face (``compute``) and a trading face (``generate_signal``).
"""

from crypto_strategy_lab.strategies.base import Strategy
from crypto_strategy_lab.strategies.registry import get_strategy, list_strategies, strategy_class

__all__ = [
    "Strategy",
    "get_strategy",
    "list_strategies",
    "strategy_class",
]
