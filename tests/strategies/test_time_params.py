"""Parameters in time: spans convert to bars per timeframe with a minimum number of
observations, bar counts stay accepted, and the declared timeframes / asset classes are the
brief's table (docs/ARCHITECTURE.md, "Strategy table")."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from crypto_strategy_lab.data.synthetic import garch_bars
from crypto_strategy_lab.data.timeframes import timeframe_delta
from crypto_strategy_lab.strategies import get_strategy, list_strategies, strategy_class
from crypto_strategy_lab.strategies.base import format_span
from tests.conftest import make_random_walk_bars

NAMES = list_strategies()

# The brief's table: asset class and the recommended range of bar sizes.
BRIEF = {
    "lag_autocorr": ("Crypto", "1h", "1d"),
    "variance_ratio": ("All", "1h", "4h"),
    "hurst_exponent": ("All", "4h", "1d"),
    "drift_significance": ("All", "4h", "1d"),
    "spectral_peaks": ("Crypto", "1h", "4h"),
    "permutation_entropy": ("All", "1h", "4h"),
    "volatility_clustering": ("Crypto", "1h", "1d"),
    "spectral_entropy": ("Crypto", "1h", "4h"),
    "vpin": ("Crypto", "15m", "1h"),
    "wavelet_energy": ("All", "4h", "1d"),
    "pacf_spike": ("All", "1h", "4h"),
    "true_range_divergence": ("All", "15m", "1h"),
}


@pytest.mark.parametrize("name", NAMES)
def test_declared_timeframes_and_asset_classes_follow_the_brief(name):
    cls = strategy_class(name)
    kind, low, high = BRIEF[name]
    assert cls.asset_classes == (("crypto",) if kind == "Crypto" else ("crypto", "equity"))
    deltas = [timeframe_delta(tf) for tf in cls.recommended_timeframes]
    assert deltas == sorted(deltas)
    assert cls.recommended_timeframes[0] == low and cls.recommended_timeframes[-1] == high
    assert cls().params.timeframe in cls.recommended_timeframes


def _expected_bars(span: str, timeframe: str, min_obs: int) -> int:
    # independent of the implementation: pandas arithmetic on the text
    ratio = pd.Timedelta(span.upper() if span.endswith("d") else span) / timeframe_delta(timeframe)
    return max(min_obs, math.ceil(ratio))


@pytest.mark.parametrize("timeframe", ["1h", "1d"])
@pytest.mark.parametrize("name", NAMES)
def test_every_span_converts_per_timeframe_with_its_minimum(name, timeframe):
    params = get_strategy(name, timeframe=timeframe).params
    spans = params.span_fields()
    assert set(spans) - {"min_hold"}, f"{name} declares no window / horizon in time"
    for field, (declared_min, _) in spans.items():
        if getattr(params, field) is None:  # an optional span that is off (min_hold)
            assert params.bars(field) == 0
            continue
        assert params.min_obs(field) >= declared_min
        text = format_span(getattr(params, field))
        assert params.bars(field) == _expected_bars(text, timeframe, params.min_obs(field))
    strategy = get_strategy(name, timeframe=timeframe)
    assert strategy.warmup <= max(params.in_bars()[f] for f in spans) + 60


def test_daily_windows_fall_back_to_the_minimum_observations():
    p = get_strategy("lag_autocorr", window="7d", timeframe="1d").params
    assert p.bars("window") == 20  # 7 daily returns is below the test's minimum of 20
    assert get_strategy("lag_autocorr", window="7d", timeframe="1h").params.bars("window") == 168
    assert get_strategy("lag_autocorr", window="60d", timeframe="1d").params.bars("window") == 60


def test_bar_count_is_exact_and_stored_as_time():
    by_count = get_strategy("drift_significance", window=30, timeframe="1d").params
    by_time = get_strategy("drift_significance", window="30d", timeframe="1d").params
    assert by_count == by_time
    assert by_count.model_dump(mode="json")["window"] == "30d"
    # the same count at another bar size is another length of time
    assert get_strategy("drift_significance", window=30, timeframe="4h").params.window == (
        pd.Timedelta("5D").to_pytimedelta()
    )


def test_same_bars_same_signal_whatever_the_units():
    """The computation sees bars only: 30d at 1d == 30 bars, on the same daily data."""
    bars = make_random_walk_bars(400, seed=3, freq="1D")
    in_time = get_strategy("drift_significance", window="30d", timeframe="1d").compute(bars)
    in_bars = get_strategy("drift_significance", window=30, timeframe="1d").compute(bars)
    pd.testing.assert_frame_equal(in_time, in_bars)


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"window": 3}, "at least 20"),
        ({"window": "seven days"}, "not a length of time"),
        ({"window": "-7d"}, "not a length of time"),
        ({"window": "0h"}, "positive"),
        ({"timeframe": "7x"}, "unknown timeframe"),
    ],
)
def test_bad_spans_name_the_problem(override, match):
    with pytest.raises(ValidationError, match=match):
        get_strategy("lag_autocorr", **override)


def test_max_obs_is_checked_in_bars():
    assert get_strategy("hurst_exponent", window="170d", timeframe="1h").warmup == 4080
    assert get_strategy("hurst_exponent", window="171d", timeframe="1d").warmup == 171
    with pytest.raises(ValidationError, match="at most 4096"):
        get_strategy("hurst_exponent", window="171d", timeframe="1h")  # 4104 bars


def test_wavelet_window_holds_the_filter_at_any_timeframe():
    # 2048 h is 86 daily returns; the level-4 LA(8) filter needs 106 + 1
    assert get_strategy("wavelet_energy", timeframe="1d").warmup == 107
    assert get_strategy("wavelet_energy", timeframe="4h").warmup == 512


def test_garch_works_on_daily_bars():
    """The 2,000-hour fit window is 500 daily returns (its minimum), not 2,000 days; the
    refit schedule stays in time (every 84 days)."""
    strategy = get_strategy("volatility_clustering", timeframe="1d")
    assert strategy.warmup == 500
    assert strategy.params.bars("refit_every") == 84  # ceil(2000 h / 24 h)
    bars = garch_bars(1500, omega=2e-5, alpha=0.1, beta=0.85, seed=0, freq="1D")
    out = strategy.compute(bars).iloc[strategy.warmup + 1 :]
    assert (out["lr_pvalue"] < 0.01).mean() > 0.9
    assert (out["signal"] > 0).mean() > 0.9
    flat = strategy.compute(make_random_walk_bars(1500, seed=8, freq="1D")).iloc[501:]
    assert (flat["signal"] == 0).mean() > 0.5
