"""The 12 strategies: each a statistical test from :mod:`crypto_strategy_lab.stats` plus a
trading rule, with a research face (``compute``) and a trading face (``generate_signal``)."""

from crypto_strategy_lab.strategies.base import SignalConfig, Strategy, StrategyParams
from crypto_strategy_lab.strategies.registry import (
    UnknownStrategyError,
    get_strategy,
    list_strategies,
    strategy_class,
)

__all__ = [
    "SignalConfig",
    "Strategy",
    "StrategyParams",
    "UnknownStrategyError",
    "get_strategy",
    "list_strategies",
    "strategy_class",
]
