"""Value types shared by every part: enums, orders, fills, positions, signals, errors, costs."""

from __future__ import annotations

from crypto_strategy_lab.core.lazy import lazy_getattr

# Names load on first use: the cost model pulls in numpy, and a command that only needs an
# error class or an enum (the CLI's help) must not pay for it.
_LAZY = {
    "CostModel": "costs",
    "SlippageModel": "costs",
    "MarketType": "enums",
    "OrderSide": "enums",
    "OrderStatus": "enums",
    "OrderType": "enums",
    "SignalAction": "enums",
    "TimeInForce": "enums",
    "TradingMode": "enums",
    "AuthenticationError": "errors",
    "ConfigError": "errors",
    "CSLError": "errors",
    "ExchangeError": "errors",
    "ExchangeUnavailable": "errors",
    "InsufficientFunds": "errors",
    "InvalidOrder": "errors",
    "MarketClosed": "errors",
    "OrderNotFound": "errors",
    "RateLimitExceeded": "errors",
    "Balance": "orders",
    "Fill": "orders",
    "OrderRequest": "orders",
    "OrderResult": "orders",
    "Position": "orders",
    "Signal": "signal",
}

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


__getattr__ = lazy_getattr(__name__, _LAZY)
