"""Market data: schemas and validation, the one loader, cleaning, sources, synthetic generators
and the store."""

from __future__ import annotations

from typing import Any

# Every name loads on first use: the loader pulls in DuckDB and the store, the schema pandas,
# and a light submodule (data.spec's constants for the CLI's help) must not pay for either.
_LAZY = {
    "OHLCV_COLUMNS": "schema",
    "DataValidationError": "schema",
    "validate_ohlcv": "schema",
    "validate_trades": "schema",
    "LoadedBars": "loader",
    "load_bars": "loader",
    "open_data": "loader",
    "MarketChoice": "markets",
    "choose_market": "markets",
}

__all__ = [*_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"crypto_strategy_lab.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'crypto_strategy_lab.data' has no attribute {name!r}")
