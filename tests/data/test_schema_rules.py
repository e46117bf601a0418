"""Every schema rule: a unit test each, plus hypothesis feeding randomly broken frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto_strategy_lab.data import DataValidationError, validate_ohlcv, validate_trades
from crypto_strategy_lab.data.synthetic import informed_trade_stream
from tests.conftest import make_random_walk_bars

BARS = make_random_walk_bars(40, seed=9)
TRADES = informed_trade_stream(5, seed=1).trades


def _set(frame: pd.DataFrame, row: int, column: str, value: float) -> pd.DataFrame:
    out = frame.copy()
    out.iloc[row, out.columns.get_loc(column)] = value
    return out


def _reindex(frame: pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    return frame.set_axis(index)


# (rule substring, column, breaker(frame, row, column))
OHLCV_BREAKERS = {
    "nan": ("must not be NaN", lambda f, r, c: _set(f, r, c, np.nan)),
    "inf": ("must be finite", lambda f, r, c: _set(f, r, c, np.inf)),
    "nonpositive": ("prices must be > 0", lambda f, r, c: _set(f, r, c, -abs(f[c].iloc[r]))),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(OHLCV_BREAKERS)),
    column=st.sampled_from(["open", "high", "low", "close"]),
    row=st.integers(0, 39),
)
def test_random_value_breakage_names_rule_and_column(kind: str, column: str, row: int) -> None:
    rule, breaker = OHLCV_BREAKERS[kind]
    broken = breaker(BARS, row, column)
    with pytest.raises(DataValidationError) as info:
        validate_ohlcv(broken)
    err = info.value
    assert err.count >= 1
    if kind in ("nan", "inf"):
        assert rule in err.rule and err.column == column
        assert err.examples[0] == BARS.index[row]
    else:
        # A negative price breaks "> 0" first (checked before the OHLC bounds).
        assert err.rule == rule and err.column == column


@settings(max_examples=40, deadline=None)
@given(row=st.integers(1, 39), duplicate=st.booleans())
def test_random_index_breakage(row: int, duplicate: bool) -> None:
    stamps = BARS.index.to_numpy().copy()
    if duplicate:
        stamps[row] = stamps[row - 1]
        rule = "unique"
    else:
        stamps[row - 1], stamps[row] = stamps[row], stamps[row - 1]
        rule = "strictly increasing"
    broken = _reindex(BARS, pd.DatetimeIndex(stamps, name="timestamp"))
    with pytest.raises(DataValidationError, match=rule) as info:
        validate_ohlcv(broken)
    assert info.value.column == "timestamp" and info.value.count == 1


@settings(max_examples=40, deadline=None)
@given(row=st.integers(0, 39), up=st.floats(1.001, 2.0))
def test_random_ohlc_bound_breakage(row: int, up: float) -> None:
    body_high = max(BARS["open"].iloc[row], BARS["close"].iloc[row])
    broken = _set(BARS, row, "high", body_high / up)
    with pytest.raises(DataValidationError, match="high must be >=") as info:
        validate_ohlcv(broken)
    assert info.value.column == "high" and info.value.examples == [BARS.index[row]]
    body_low = min(BARS["open"].iloc[row], BARS["close"].iloc[row])
    broken = _set(BARS, row, "low", body_low * up)
    with pytest.raises(DataValidationError, match="low must be <=") as info:
        validate_ohlcv(broken)
    assert info.value.column == "low"


@settings(max_examples=40, deadline=None)
@given(row=st.integers(0, len(TRADES) - 1), column=st.sampled_from(["price", "size"]),
       value=st.sampled_from([0.0, -1.0, np.nan, np.inf]))  # fmt: skip
def test_random_trade_breakage(row: int, column: str, value: float) -> None:
    broken = TRADES.copy()
    broken.loc[row, column] = value
    with pytest.raises(DataValidationError) as info:
        validate_trades(broken)
    assert info.value.column == column and info.value.count == 1


@pytest.mark.parametrize(
    ("make", "rule", "column"),
    [
        (lambda f: f.iloc[:0], "empty", None),
        (lambda f: f.drop(columns="volume"), "missing required column", "volume"),
        (lambda f: f.reset_index(), "DatetimeIndex", None),
        (lambda f: f.rename_axis("time"), "named 'timestamp'", None),
        (lambda f: f.tz_localize(None), "UTC", "timestamp"),
        (lambda f: f.tz_convert("Asia/Tokyo"), "UTC", "timestamp"),
        (lambda f: f.astype({"open": "float32"}), "float64", "open"),
        (lambda f: _set(f, 3, "volume", -1.0), "volume must be >= 0", "volume"),
        (lambda f: _set(f, 3, "volume", np.nan), "NaN", "volume"),
        (
            lambda f: _reindex(f, f.index.insert(2, pd.NaT).delete(3).rename("timestamp")),
            "NaT",
            "timestamp",
        ),
    ],
)
def test_each_ohlcv_rule(make, rule: str, column: str | None) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataValidationError, match=rule) as info:
        validate_ohlcv(make(BARS))
    assert info.value.column == column
    assert validate_ohlcv(BARS) is BARS


@pytest.mark.parametrize(
    ("make", "rule", "column"),
    [
        (lambda t: t.iloc[:0], "empty", None),
        (lambda t: t.drop(columns="size"), "missing required column", "size"),
        (lambda t: t.assign(timestamp=t["timestamp"].astype("int64")), "datetimes", "timestamp"),
        (lambda t: t.assign(timestamp=t["timestamp"].dt.tz_localize(None)), "UTC", "timestamp"),
        (lambda t: t.assign(price=t["price"].astype(str)), "numeric", "price"),
        (lambda t: t.iloc[::-1].reset_index(drop=True), "non-decreasing", "timestamp"),
        (lambda t: t.assign(side="hold"), "side must be", "side"),
    ],
)
def test_each_trades_rule(make, rule: str, column: str | None) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataValidationError, match=rule) as info:
        validate_trades(make(TRADES))
    assert info.value.column == column
    assert validate_trades(TRADES) is TRADES


def _reference_masks(frame: pd.DataFrame) -> list[np.ndarray]:
    """The value rules' row masks in ``OHLCV_VALUE_RULES`` order, by plain numpy."""
    v = {c: frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")}
    masks = [m for c in v for m in (np.isnan(v[c]), np.isinf(v[c]))]
    step = np.diff(frame.index.asi8)
    masks += [np.r_[False, step == 0], np.r_[False, step < 0]]
    masks += [v[c] <= 0 for c in ("open", "high", "low", "close")]
    masks += [v["volume"] < 0]
    masks += [v["high"] < np.maximum(v["open"], v["close"])]
    masks += [v["low"] > np.minimum(v["open"], v["close"])]
    return masks


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    breaks=st.lists(
        st.tuples(
            st.integers(0, 39),
            st.sampled_from(["open", "high", "low", "close", "volume", "timestamp"]),
            st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, 0.5, 2.0]),
        ),
        max_size=12,
    ),
)
def test_compiled_pass_counts_every_rule_as_numpy_does(seed: int, breaks: list) -> None:
    """The one compiled pass against independent numpy masks: every rule's count and first
    rows, on frames broken many ways at once (not only the first rule reported)."""
    from crypto_strategy_lab.data._ohlcv_pass import N_RULES, ohlcv_violations
    from crypto_strategy_lab.data.schema import OHLCV_VALUE_RULES

    rng = np.random.default_rng(seed)
    frame = BARS.copy()
    stamps = frame.index.asi8.copy()
    for row, column, factor in breaks:
        if column == "timestamp":  # a duplicate, or a step back in time
            stamps[row] = stamps[row - 1] if factor > 1 else stamps[row] - rng.integers(1, 10**13)
        elif np.isfinite(factor) and factor > 0:  # scales a price out of its bounds (or not)
            frame.iloc[row, frame.columns.get_loc(column)] *= factor
        else:
            frame.iloc[row, frame.columns.get_loc(column)] = factor
    frame = frame.set_axis(pd.DatetimeIndex(stamps, tz="UTC", name="timestamp"))
    counts, first = ohlcv_violations(
        *(frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")),
        frame.index.asi8,
        5,
    )
    masks = _reference_masks(frame)
    assert len(OHLCV_VALUE_RULES) == N_RULES == len(masks)
    for code, mask in enumerate(masks):
        rows = np.flatnonzero(mask)
        assert counts[code] == rows.size, OHLCV_VALUE_RULES[code]
        assert list(first[code][first[code] >= 0]) == list(rows[:5]), OHLCV_VALUE_RULES[code]


def test_first_broken_rule_on_a_large_frame_names_its_rows() -> None:
    """Rule order, count and the first five rows survive beyond the first few rows."""
    frame = make_random_walk_bars(20_000, seed=3)
    high = frame["high"].to_numpy().copy()
    rows = [70, 900, 4_000, 12_000, 15_000, 19_999]
    high[rows] = frame["low"].to_numpy()[rows] / 2  # below the body, still positive
    volume = frame["volume"].to_numpy().copy()
    volume[5] = -1.0  # volume < 0 is reported before the OHLC bounds
    broken = frame.assign(high=high, volume=volume)
    with pytest.raises(DataValidationError, match="volume must be >= 0") as info:
        validate_ohlcv(broken)
    assert info.value.count == 1
    with pytest.raises(DataValidationError, match=r"high must be >= max\(open, close\)") as info:
        validate_ohlcv(broken.assign(volume=frame["volume"]))
    assert info.value.count == len(rows)
    assert info.value.examples == list(frame.index[rows[:5]])
