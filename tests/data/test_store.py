"""The Parquet/DuckDB store: atomic writes, idempotent merges, range queries, resampling."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from crypto_strategy_lab.data import DataValidationError
from crypto_strategy_lab.data.cleaning import resample_ohlcv
from crypto_strategy_lab.data.store import DataStore, default_data_dir
from tests.conftest import make_random_walk_bars

SRC, SYM, TF = "bybit", "BTC/USDT:USDT", "1m"


@pytest.fixture
def store(tmp_path: Path) -> DataStore:
    return DataStore(tmp_path / "store")


@pytest.fixture
def bars() -> pd.DataFrame:
    return make_random_walk_bars(3_000, seed=5, freq="1min")


def test_roundtrip_is_exact(store: DataStore, bars: pd.DataFrame) -> None:
    result = store.write(bars, SRC, SYM, TF)
    assert (result.added, result.total) == (3_000, 3_000)
    assert result.path == store.root / "bybit" / "BTC-USDT-USDT" / "1m.parquet"
    pd.testing.assert_frame_equal(store.read(SRC, SYM, TF), bars, check_freq=False)


def test_rewrite_is_idempotent(store: DataStore, bars: pd.DataFrame) -> None:
    store.write(bars, SRC, SYM, TF)
    before = store.read(SRC, SYM, TF)
    again = store.write(bars, SRC, SYM, TF)
    assert (again.added, again.already_stored, again.conflicting) == (0, 3_000, 0)
    pd.testing.assert_frame_equal(store.read(SRC, SYM, TF), before)


def test_overlapping_merge_keeps_existing_rows(store: DataStore, bars: pd.DataFrame) -> None:
    store.write(bars.iloc[:2_000], SRC, SYM, TF)
    changed = bars.iloc[1_500:].copy()
    changed[["open", "high", "low", "close"]] *= 2.0  # disagrees on the 500 overlapping rows
    result = store.write(changed, SRC, SYM, TF)
    assert (result.added, result.already_stored, result.conflicting, result.total) == (
        1_000,
        500,
        500,
        3_000,
    )
    stored = store.read(SRC, SYM, TF)
    pd.testing.assert_frame_equal(stored.iloc[:2_000], bars.iloc[:2_000], check_freq=False)
    pd.testing.assert_frame_equal(stored.iloc[2_000:], changed.iloc[500:], check_freq=False)
    assert stored.index.is_unique and stored.index.is_monotonic_increasing


def test_invalid_frame_leaves_store_untouched(store: DataStore, bars: pd.DataFrame) -> None:
    path = store.write(bars.iloc[:100], SRC, SYM, TF).path
    before = path.read_bytes()
    broken = bars.iloc[100:200].copy()
    broken.iloc[3, 3] = float("nan")
    with pytest.raises(DataValidationError, match="NaN"):
        store.write(broken, SRC, SYM, TF)
    off = bars.iloc[100:200].copy()
    off.index = off.index + pd.Timedelta(seconds=30)
    with pytest.raises(DataValidationError, match="1m grid"):
        store.write(off, SRC, SYM, TF)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["1m.parquet"]


def test_failed_write_keeps_old_file_and_no_temp(
    store: DataStore, bars: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.write(bars.iloc[:100], SRC, SYM, TF).path
    before = path.read_bytes()

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        store.write(bars.iloc[100:200], SRC, SYM, TF)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["1m.parquet"]


def test_range_query_matches_pandas_slice(store: DataStore, bars: pd.DataFrame) -> None:
    store.write(bars, SRC, SYM, TF)
    start, end = "2024-01-01 05:00", pd.Timestamp("2024-01-02 03:30", tz="UTC")
    got = store.read(SRC, SYM, TF, start=start, end=end)
    expected = bars[(bars.index >= pd.Timestamp(start, tz="UTC")) & (bars.index < end)]
    pd.testing.assert_frame_equal(got, expected, check_freq=False)
    assert store.read(SRC, SYM, TF, end="2024-01-01 00:10").shape == (10, 5)


def test_duckdb_resample_equals_pandas_resample(store: DataStore, bars: pd.DataFrame) -> None:
    holed = bars.drop(bars.index[300:450])  # leaves 02:00-04:30 partly and fully empty hours
    store.write(holed, SRC, SYM, TF)
    got = store.resample(SRC, SYM, TF, "1h")
    reference = (
        holed.resample("1h", label="left", closed="left")
        .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
        .dropna(subset=["open"])
    )
    pd.testing.assert_frame_equal(got, reference, check_freq=False, rtol=1e-12)
    ours, _ = resample_ohlcv(holed, "1h")
    pd.testing.assert_frame_equal(got, ours, check_freq=False, rtol=1e-12)
    window = store.resample(SRC, SYM, TF, "4h", start="2024-01-01 04:00")
    assert window.index[0] == pd.Timestamp("2024-01-01 04:00", tz="UTC")


def test_resample_rejects_finer_target(store: DataStore, bars: pd.DataFrame) -> None:
    store.write(make_random_walk_bars(50, seed=1, freq="1h"), SRC, SYM, "1h")
    with pytest.raises(DataValidationError, match="larger whole multiple"):
        store.resample(SRC, SYM, "1h", "15m")


def test_list_and_last_timestamp(store: DataStore, bars: pd.DataFrame) -> None:
    assert store.list() == [] and store.last_timestamp(SRC, SYM, TF) is None
    store.write(bars, SRC, SYM, TF)
    store.write(make_random_walk_bars(10, freq="1h"), "alpaca", "AAPL", "1h")
    listed = {(s.source, s.symbol, s.timeframe): s for s in store.list()}
    assert set(listed) == {(SRC, SYM, TF), ("alpaca", "AAPL", "1h")}
    s = listed[(SRC, SYM, TF)]
    assert (s.rows, s.start, s.end) == (3_000, bars.index[0], bars.index[-1])
    assert store.last_timestamp(SRC, SYM, TF) == bars.index[-1]


def test_missing_series_and_unknown_timeframe(store: DataStore) -> None:
    with pytest.raises(DataValidationError, match="no stored data"):
        store.read(SRC, SYM, TF)
    with pytest.raises(DataValidationError, match="unknown timeframe '7m'"):
        store.path_for(SRC, SYM, "7m")


def test_data_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSL_DATA_DIR", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"
    assert DataStore().root == tmp_path / "elsewhere"
