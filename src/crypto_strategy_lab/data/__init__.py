"""Market data: schemas and validation, the loader, cleaning, sources and the store.

Also the synthetic generators and the bundled datasets.
"""

from __future__ import annotations

from crypto_strategy_lab.core.lazy import lazy_getattr

# Every name loads on first use: the loader pulls in DuckDB and the store, the schema pandas,
# and a light submodule (data.spec's constants for the CLI's help) must not pay for either.
_LAZY = {
    "DataValidationError": "schema",
    "validate_ohlcv": "schema",
    "validate_trades": "schema",
    "load_bars": "loader",
    "open_data": "loader",
}

__all__ = [*_LAZY]


__getattr__ = lazy_getattr(__name__, _LAZY)
