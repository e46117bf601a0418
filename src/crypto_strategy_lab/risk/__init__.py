"""Pre-trade risk: ``RiskEngine`` and ``RiskLimits`` on the only path to a venue."""

from crypto_strategy_lab.risk.decision import RiskAction
from crypto_strategy_lab.risk.engine import RiskEngine, RiskError, bracket_prices
from crypto_strategy_lab.risk.limits import RiskLimits
from crypto_strategy_lab.risk.state import (
    MarketState,
    OrderIntent,
    PortfolioState,
    PositionExposure,
    ReturnDistribution,
)
from crypto_strategy_lab.risk.stops import ProtectiveStops

__all__ = [
    "MarketState",
    "OrderIntent",
    "PortfolioState",
    "PositionExposure",
    "ProtectiveStops",
    "ReturnDistribution",
    "RiskAction",
    "RiskEngine",
    "RiskError",
    "RiskLimits",
    "bracket_prices",
]
