"""Value types shared by every part: enums, orders, fills, positions, signals, errors, costs."""

from __future__ import annotations

from crypto_strategy_lab.core.lazy import lazy_getattr

# Names load on first use: the cost model pulls in numpy, and a command that only needs an
# error class or an enum (the CLI's help) must not pay for it.
_LAZY = {
    "CostModel": "costs",
    "SlippageModel": "costs",
    "OrderSide": "enums",
    "OrderStatus": "enums",
    "OrderType": "enums",
    "SignalAction": "enums",
    "CSLError": "errors",
    "Fill": "orders",
    "OrderRequest": "orders",
    "Position": "orders",
    "Signal": "signal",
}

__all__ = [
    "CSLError",
    "CostModel",
    "Fill",
    "OrderRequest",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "Signal",
    "SignalAction",
    "SlippageModel",
]


__getattr__ = lazy_getattr(__name__, _LAZY)
