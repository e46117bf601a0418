"""The one loader: epoch units from magnitude, plausibility, causal resampling, the market rule.

Real files come from ../shared/data (epoch-millisecond Parquet, PROVENANCE.md there); the
other units are made from them by exact integer scaling, so the decoded instants must agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.data import load_bars
from crypto_strategy_lab.data.cleaning import resample_bars
from crypto_strategy_lab.data.loader import open_data
from crypto_strategy_lab.data.markets import choose_market
from crypto_strategy_lab.data.plausibility import detect_epoch_unit
from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.data.timeframes import parse_timeframe
from tests.conftest import make_random_walk_bars, shared_file

BTC_1H = "btcusd_cdd_1h_20180515_20220301.parquet"
SPY_1D = "spy_daily_19991101_20200828.parquet"
SCALE = {"s": 10**-3, "ms": 1, "us": 10**3, "ns": 10**6}


def _btc_raw(rows: int = 2000) -> pd.DataFrame:
    return pd.read_parquet(shared_file(BTC_1H)).iloc[:rows]


def _in_unit(raw: pd.DataFrame, unit: str) -> pd.DataFrame:
    out = raw.copy()
    out["timestamp"] = (
        out["timestamp"] // 1000 if unit == "s" else out["timestamp"] * SCALE[unit]
    ).astype("int64")
    return out


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_epoch_unit_is_detected_from_magnitude(tmp_path: Path, unit: str) -> None:
    raw = _btc_raw()
    truth = pd.to_datetime(raw["timestamp"], unit="ms", utc=True)
    path = tmp_path / f"btc_{unit}.parquet"
    _in_unit(raw, unit).to_parquet(path)
    assert detect_epoch_unit(_in_unit(raw, unit)["timestamp"]) == unit
    bars = load_bars(path)
    assert (bars.index == pd.DatetimeIndex(truth)).all()
    assert bars.index[0] == pd.Timestamp("2018-05-15 06:00", tz="UTC")
    np.testing.assert_array_equal(bars["close"].to_numpy(), raw["close"].to_numpy())
    # the same from a DataFrame, and with the right unit given explicitly
    assert load_bars(_in_unit(raw, unit), ts_unit=unit).index.equals(bars.index)


@pytest.mark.parametrize(
    ("given", "actual"), [("s", "ms"), ("ns", "ms"), ("ms", "s"), ("us", "ns")]
)
def test_contradicting_unit_is_refused_naming_the_fix(given: str, actual: str) -> None:
    raw = _in_unit(_btc_raw(200), actual)
    with pytest.raises(DataValidationError, match=f"pass --ts-unit {actual}$"):
        load_bars(raw, ts_unit=given)


def test_epoch_numbers_of_no_unit_are_refused() -> None:
    raw = _btc_raw(50)
    raw["timestamp"] = np.arange(50) * 3600  # 1970-01-01 in seconds: no unit lands in 1980+
    with pytest.raises(DataValidationError, match="decode to no date"):
        load_bars(raw)


def test_future_bars_are_refused() -> None:
    bars = make_random_walk_bars(48)
    with pytest.raises(DataValidationError, match="in the future"):
        load_bars(bars, now=pd.Timestamp("2024-01-01 12:00", tz="UTC"))


def test_ragged_spacing_is_refused() -> None:
    bars = make_random_walk_bars(48)
    bars.index = bars.index.where(
        bars.index != bars.index[10], bars.index[10] + pd.Timedelta("30min")
    )
    with pytest.raises(DataValidationError, match="not whole multiples of 1h"):
        load_bars(bars)


def test_unsupported_bar_size_is_refused() -> None:
    bars = make_random_walk_bars(48, freq="7min")
    with pytest.raises(DataValidationError, match="no supported bar size"):
        load_bars(bars)


def test_daily_stock_file_is_accepted_on_its_grid() -> None:
    path = shared_file(SPY_1D)
    loaded = open_data(path)
    assert loaded.timeframe == "1d" and len(loaded.bars) == 5241
    assert loaded.bars.index[0] == pd.Timestamp("1999-11-01", tz="UTC")
    assert loaded.market.market == "stock" and loaded.market.inferred
    assert "weekday session calendar" in loaded.market.notice
    assert "--market" in loaded.market.notice
    weekly = load_bars(path, timeframe="1W")
    assert (weekly.index.day_of_week == 0).all()  # weekly bars open on Monday


def test_crypto_market_before_2009_is_refused() -> None:
    with pytest.raises(DataValidationError, match="before Bitcoin's first block"):
        open_data(shared_file(SPY_1D), market="perp")
    with pytest.raises(DataValidationError, match="before Bitcoin's first block"):
        load_bars(shared_file(SPY_1D), market="spot")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("1h", "1h"), ("1H", "1h"), ("4H", "4h"), ("4h", "4h"), ("1d", "1d"), ("1D", "1d"),
     ("1W", "1w"), ("1w", "1w"), ("15m", "15m"), ("15min", "15m"), ("15MIN", "15m"),
     ("15T", "15m"), ("60min", "1h"), ("2 hours", "2h"), ("h", "1h")],
)  # fmt: skip
def test_timeframe_spellings(text: str, canonical: str) -> None:
    assert parse_timeframe(text) == canonical


@pytest.mark.parametrize(("text", "why"), [("1M", "months"), ("30s", "seconds"), ("7m", "")])
def test_ambiguous_or_unknown_timeframes_are_refused(text: str, why: str) -> None:
    with pytest.raises(DataValidationError, match=f"unknown timeframe.*{why}"):
        parse_timeframe(text)


def _reference_resample(bars: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Group by the floored bin start, by hand (no pandas resample)."""
    key = bars.index.floor(rule)
    g = bars.groupby(key)
    return pd.DataFrame(
        {
            "open": g["open"].first(),
            "high": g["high"].max(),
            "low": g["low"].min(),
            "close": g["close"].last(),
            "volume": g["volume"].sum(),
        }
    ).rename_axis("timestamp")


def test_resample_matches_a_groupby_reference_and_drops_partial_edges() -> None:
    bars = make_random_walk_bars(100).iloc[3:-1]  # 03:00 on day 1 to 02:00 on day 5
    out, step = resample_bars(bars, "1h", "4h")
    ref = _reference_resample(bars, "4h").iloc[1:-1]  # first and last bins are partial
    pd.testing.assert_frame_equal(out, ref, check_freq=False)
    assert step.detail["partial_edges"] == 2


def test_resample_is_causal_under_truncation() -> None:
    bars = make_random_walk_bars(240)
    full, _ = resample_bars(bars, "1h", "4h")
    for cut in (97, 130, 200):
        part, _ = resample_bars(bars.iloc[:cut], "1h", "4h")
        # every bar the truncated data can complete equals the full-data bar, and no bar
        # is emitted before all its hours closed
        pd.testing.assert_frame_equal(part, full.loc[part.index], check_freq=False)
        assert part.index[-1] + pd.Timedelta("4h") <= bars.index[cut - 1] + pd.Timedelta("1h")


def test_resample_to_a_finer_bar_is_refused() -> None:
    with pytest.raises(DataValidationError, match="cannot make 1h bars from 4h"):
        resample_bars(make_random_walk_bars(48, freq="4h"), "4h", "1h")


def test_market_is_not_inferred_from_a_short_span() -> None:
    with pytest.raises(DataValidationError, match=r"cannot infer the market.*--market"):
        choose_market(make_random_walk_bars(48))


def test_market_from_the_calendar_says_so() -> None:
    crypto = choose_market(make_random_walk_bars(24 * 30))
    assert crypto.market == "perp" and crypto.inferred and "7 days of the week" in crypto.notice
    weekdays = make_random_walk_bars(24 * 60)
    weekdays = weekdays[weekdays.index.day_of_week < 5]
    assert choose_market(weekdays).market == "stock"
    fx = make_random_walk_bars(24 * 60)  # Sunday-evening open, as FX: neither calendar
    fx = fx[(fx.index.day_of_week < 5) | ((fx.index.day_of_week == 6) & (fx.index.hour >= 22))]
    with pytest.raises(DataValidationError, match="neither 24/7 nor a weekday calendar"):
        choose_market(fx)


def test_explicit_market_metadata() -> None:
    bars = make_random_walk_bars(48)
    assert choose_market(bars, market="linear").market == "perp"
    assert choose_market(bars, source="alpaca", symbol="AAPL").market == "stock"
    swap = choose_market(bars, source="bybit", symbol="BTC/USDT:USDT")
    assert swap.market == "perp" and not swap.inferred
    exchange = choose_market(bars, source="bybit", symbol="BTCUSDT")
    assert exchange.market == "perp" and exchange.inferred and "--market" in exchange.notice
