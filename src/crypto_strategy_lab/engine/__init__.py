"""The one trading loop (replay, paper, live): feeds, strategy runner, order manager,
reconciliation, graceful shutdown, crash recovery and the drift report. See ``README.md``."""

from crypto_strategy_lab.engine.clock import ReplayClock, WallClock
from crypto_strategy_lab.engine.drift import DriftReport, drift_report
from crypto_strategy_lab.engine.feeds import (
    BarEvent,
    HistoricalReplayFeed,
    RestPollingFeed,
    WebsocketFeed,
)
from crypto_strategy_lab.engine.loop import EngineError, RunSummary, TradingEngine
from crypto_strategy_lab.engine.orders import OrderManager
from crypto_strategy_lab.engine.reconcile import ReconcileReport, reconcile
from crypto_strategy_lab.engine.runner import StrategyRunner
from crypto_strategy_lab.engine.sleeve import Sleeve

__all__ = [
    "BarEvent",
    "DriftReport",
    "EngineError",
    "HistoricalReplayFeed",
    "OrderManager",
    "ReconcileReport",
    "ReplayClock",
    "RestPollingFeed",
    "RunSummary",
    "Sleeve",
    "StrategyRunner",
    "TradingEngine",
    "WallClock",
    "WebsocketFeed",
    "drift_report",
    "reconcile",
]
