"""Market data: schemas and validation, the one loader, cleaning, sources, synthetic generators
and the store."""

from __future__ import annotations

from typing import Any

from crypto_strategy_lab.data.schema import (
    OHLCV_COLUMNS,
    DataValidationError,
    validate_ohlcv,
    validate_trades,
)

# The loader pulls in DuckDB and the store; importing the schema alone (every strategy does)
# must stay cheap, so these names load on first use.
_LAZY = {
    "LoadedBars": "loader",
    "load_bars": "loader",
    "open_data": "loader",
    "MarketChoice": "markets",
    "choose_market": "markets",
}

__all__ = ["OHLCV_COLUMNS", "DataValidationError", "validate_ohlcv", "validate_trades", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"crypto_strategy_lab.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'crypto_strategy_lab.data' has no attribute {name!r}")
