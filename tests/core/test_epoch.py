"""Epoch microseconds <-> aware UTC datetimes, against pandas' own conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from crypto_strategy_lab.core.epoch import DAY_US, EPOCH, utc_day, utc_from_epoch_us

# 1900-01-01 to 2200-01-01 in microseconds: before the epoch, across leap years and 2038
_SPAN = st.integers(min_value=-2_208_988_800_000_000, max_value=7_258_118_400_000_000)


@given(_SPAN)
def test_utc_from_epoch_us_is_pandas_timestamp_of_the_same_microseconds(us: int) -> None:
    got = utc_from_epoch_us(us)
    assert got == pd.Timestamp(us, unit="us", tz="UTC").to_pydatetime()
    assert got.tzinfo is UTC
    assert (got - EPOCH) // timedelta(microseconds=1) == us  # the inverse


@given(_SPAN)
def test_utc_day_is_the_days_since_the_epoch_of_the_utc_date(us: int) -> None:
    day = utc_day(us)
    assert day == (utc_from_epoch_us(us).date() - datetime(1970, 1, 1).date()).days
    assert day * DAY_US <= us < (day + 1) * DAY_US


def test_numpy_integers_convert_like_python_ones() -> None:
    stamps = np.array([-1, 0, 1_700_000_000_123_456], dtype=np.int64)
    assert [utc_from_epoch_us(s) for s in stamps] == [
        utc_from_epoch_us(int(s)) for s in stamps.tolist()
    ]
    assert utc_from_epoch_us(np.int64(-1)) == datetime(1969, 12, 31, 23, 59, 59, 999_999, UTC)
