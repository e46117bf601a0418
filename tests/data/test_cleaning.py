"""Every repair is explicit and reports exactly what it changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.data import validate_ohlcv
from crypto_strategy_lab.data.cleaning import (
    align_to_grid,
    clean_ohlcv,
    drop_duplicate_timestamps,
    fill_gaps,
    find_gaps,
    infer_bar_size,
    resample_ohlcv,
    sort_by_time,
)
from crypto_strategy_lab.data.quality import check_ohlcv_quality
from crypto_strategy_lab.data.trades import trades_to_bars
from tests.conftest import make_random_walk_bars


def _bars(n: int = 20, freq: str = "15min") -> pd.DataFrame:
    return make_random_walk_bars(n, seed=3, freq=freq)


def test_sort_reports_out_of_order_rows() -> None:
    bars = _bars()
    shuffled = bars.iloc[[0, 1, 5, 2, 3, 4, *range(6, 20)]]
    out, step = sort_by_time(shuffled)
    assert out.equals(bars)
    assert step.changed == 1 and step.examples == [bars.index[2].isoformat()]


@pytest.mark.parametrize("keep", ["first", "last"])
def test_duplicates_keep_first_or_last(keep: str) -> None:
    bars = _bars()
    extra = bars.iloc[[4]].copy()
    extra["close"] = extra["close"] * 1.01
    extra["high"] = extra[["high", "close"]].max(axis=1)
    raw = pd.concat([bars.iloc[:5], extra, bars.iloc[5:]])
    out, step = drop_duplicate_timestamps(raw, keep=keep)
    validate_ohlcv(out)
    assert len(out) == 20 and step.changed == 1
    assert step.detail["groups"] == 1 and step.detail["conflicting"] == 1
    expected = bars.iloc[4]["close"] if keep == "first" else extra["close"].iloc[0]
    assert out.iloc[4]["close"] == expected


def test_duplicates_merge_aggregates_like_one_bar() -> None:
    bars = _bars()
    t = bars.index[3]
    piece = pd.DataFrame(
        {
            "open": [10.0, 11.0],
            "high": [12.0, 13.0],
            "low": [9.0, 10.5],
            "close": [11.0, 12.5],
            "volume": [1.0, 2.0],
        },
        index=pd.DatetimeIndex([t, t], name="timestamp"),
    )
    raw = pd.concat([bars.iloc[:3], piece, bars.iloc[4:]])
    out, step = drop_duplicate_timestamps(raw, keep="merge")
    assert out.loc[t].tolist() == [10.0, 13.0, 9.0, 12.5, 3.0]
    assert step.changed == 1 and len(out) == 20


def test_identical_duplicates_are_not_conflicting() -> None:
    bars = _bars()
    raw = pd.concat([bars, bars.iloc[[7]]]).sort_index(kind="stable")
    _, step = drop_duplicate_timestamps(raw)
    assert step.detail == {"keep": "last", "groups": 1, "conflicting": 0}


def test_off_grid_drop_and_snap() -> None:
    bars = _bars()
    moved = bars.index.to_series()
    moved.iloc[5] += pd.Timedelta(seconds=62)  # 1:02 past a bar: off grid, slot 5 now empty
    moved.iloc[9] += pd.Timedelta(seconds=3)  # snaps back to its own, now empty, slot
    raw = bars.set_axis(pd.DatetimeIndex(moved, name="timestamp"))
    dropped, step = align_to_grid(raw, "15min", how="drop")
    assert len(dropped) == 18 and step.changed == 2
    snapped, step = align_to_grid(raw, "15min", how="snap")
    assert snapped.index.equals(bars.index) and step.detail["collisions"] == 0
    # Now an off-grid row whose slot is already taken by an on-grid bar is dropped.
    late = bars.iloc[[4]].set_axis(
        pd.DatetimeIndex([bars.index[4] + pd.Timedelta(minutes=3)], name="timestamp")
    )
    raw2 = pd.concat([bars.iloc[:5], late, bars.iloc[5:]])
    out, step = align_to_grid(raw2, "15min", how="snap")
    assert step.detail["collisions"] == 1 and out.equals(bars)


def test_find_and_fill_gaps() -> None:
    bars = _bars(30, "1h")
    holed = bars.drop(bars.index[[3, 4, 5, 20]])
    gaps = find_gaps(holed, "1h")
    assert gaps["missing"].tolist() == [3, 1]
    assert gaps["after"].tolist() == [bars.index[2], bars.index[19]]
    filled, step = fill_gaps(holed, "1h")
    assert filled.index.equals(bars.index)
    assert step.changed == 4 and filled["filled"].sum() == 4
    row = filled.loc[bars.index[4]]
    prev_close = bars["close"].iloc[2]
    assert row[["open", "high", "low", "close"]].tolist() == [prev_close] * 4
    assert row["volume"] == 0.0
    validate_ohlcv(filled)
    partly, step = fill_gaps(holed, "1h", max_missing=1)
    assert step.changed == 1 and step.detail["skipped_gaps"] == 1 and len(partly) == 27


def test_resample_matches_hand_aggregation() -> None:
    bars = _bars(120, "1min")
    out, step = resample_ohlcv(bars, "1h")
    first = bars.iloc[:60]
    assert out.iloc[0].tolist() == pytest.approx(
        [
            first.open.iloc[0],
            first.high.max(),
            first.low.min(),
            first.close.iloc[-1],
            first.volume.sum(),
        ]
    )
    assert len(out) == 2 and step.detail["empty_bins"] == 0
    late = bars.iloc[[119]].set_axis(
        pd.DatetimeIndex([bars.index[0] + pd.Timedelta("3h")], name="timestamp")
    )
    holed = pd.concat([bars.iloc[:60], late])  # bins 00:00 and 03:00 hold bars, 01h/02h empty
    out, step = resample_ohlcv(holed, "1h")
    assert step.detail["empty_bins"] == 2 and len(out) == 2


def test_infer_bar_size_and_pipeline() -> None:
    bars = _bars(50, "15min")
    assert infer_bar_size(bars.index) == pd.Timedelta("15min")
    raw = pd.concat([bars.iloc[::-1], bars.iloc[[10]]])
    out, report = clean_ohlcv(raw, "15min")
    assert out.equals(bars)
    assert [s.name for s in report.steps] == ["sort", "duplicates", "off_grid"]
    assert report.steps[1].changed == 1
    assert "duplicates: 1 row(s) changed" in str(report)


def test_quality_report_counts() -> None:
    bars = _bars(200, "1h").copy()
    bars.iloc[50, bars.columns.get_loc("volume")] = 0.0
    bars.iloc[100, bars.columns.get_loc("close")] *= 1.5  # one bad tick: two outlier returns
    bars.iloc[100, bars.columns.get_loc("high")] = bars.iloc[100][["open", "close"]].max()
    holed = bars.drop(bars.index[[10, 11]])
    raw = pd.concat([holed, holed.iloc[[5]]])
    q = check_ohlcv_quality(raw, "1h")
    assert (q.duplicates, q.out_of_order, q.gaps, q.missing_bars) == (1, 1, 1, 2)
    assert q.zero_volume == 1 and q.outliers == 2 and q.off_grid == 0
    assert q.outlier_examples[0] == bars.index[100].isoformat()
    assert np.isfinite(q.outlier_z)


def test_weekly_bars_are_on_the_monday_grid_for_every_caller() -> None:
    """Weekly bars open on Monday 00:00 UTC (grid_origin), for cleaning, snapping and the
    trade tape alike; the epoch (a Thursday) is no week boundary."""
    mondays = pd.date_range("2024-01-01", periods=6, freq="7D", tz="UTC", name="timestamp")
    assert (mondays.day_of_week == 0).all()  # independent check: 2024-01-01 was a Monday
    bars = make_random_walk_bars(6, seed=1, freq="1h").set_axis(mondays)
    kept, step = align_to_grid(bars, "1w")
    assert step.changed == 0 and kept.index.equals(mondays)
    late = bars.set_axis(mondays + pd.Timedelta(hours=5))
    snapped, _ = align_to_grid(late, "1w", how="snap")
    assert snapped.index.equals(mondays)
    cleaned, _ = clean_ohlcv(bars, "1w")
    assert cleaned.index.equals(mondays)
    stamps = pd.Series(mondays + pd.Timedelta(days=6, hours=23))  # Sunday night: same week
    trades = pd.DataFrame({"timestamp": stamps, "price": 100.0, "size": 1.0})
    assert trades_to_bars(trades, "1w").index.equals(mondays)
