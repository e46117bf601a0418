"""The one trading loop (replay, paper, live).

Feeds, strategy runner, order manager, reconciliation, graceful shutdown and crash recovery.
See ``README.md``.
"""

from crypto_strategy_lab.engine.feeds import BarEvent, HistoricalReplayFeed
from crypto_strategy_lab.engine.loop import TradingEngine
from crypto_strategy_lab.engine.runner import StrategyRunner
from crypto_strategy_lab.engine.sleeve import Sleeve

__all__ = [
    "BarEvent",
    "HistoricalReplayFeed",
    "Sleeve",
    "StrategyRunner",
    "TradingEngine",
]
