"""Market data: schemas and validation, cleaning, sources, synthetic generators and the store."""

from crypto_strategy_lab.data.schema import (
    OHLCV_COLUMNS,
    DataValidationError,
    validate_ohlcv,
    validate_trades,
)

__all__ = ["OHLCV_COLUMNS", "DataValidationError", "validate_ohlcv", "validate_trades"]
