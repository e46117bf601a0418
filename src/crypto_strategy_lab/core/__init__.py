"""Value types shared by every part: enums, orders, fills, positions, signals, errors, costs."""

from crypto_strategy_lab.core.costs import CostModel, SlippageModel
from crypto_strategy_lab.core.enums import (
    MarketType,
    OrderSide,
    OrderStatus,
    OrderType,
    SignalAction,
    TimeInForce,
    TradingMode,
)
from crypto_strategy_lab.core.errors import (
    AuthenticationError,
    ConfigError,
    CSLError,
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    MarketClosed,
    OrderNotFound,
    RateLimitExceeded,
)
from crypto_strategy_lab.core.orders import Balance, Fill, OrderRequest, OrderResult, Position
from crypto_strategy_lab.core.signal import Signal

__all__ = [
    "AuthenticationError",
    "Balance",
    "CSLError",
    "ConfigError",
    "CostModel",
    "ExchangeError",
    "ExchangeUnavailable",
    "Fill",
    "InsufficientFunds",
    "InvalidOrder",
    "MarketClosed",
    "MarketType",
    "OrderNotFound",
    "OrderRequest",
    "OrderResult",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "RateLimitExceeded",
    "Signal",
    "SignalAction",
    "SlippageModel",
    "TimeInForce",
    "TradingMode",
]
