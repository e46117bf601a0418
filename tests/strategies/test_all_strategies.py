"""Contract tests for all 12 registered strategies: import by name, causality by truncation,
research face == trading face on the last bar, bounded finite signal, bad input.

A strategy whose module does not exist yet FAILS here (it is part of the contract)."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.core.enums import SignalAction
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.strategies import get_strategy, list_strategies, strategy_class
from crypto_strategy_lab.strategies.registry import _REGISTRY
from tests.conftest import make_random_walk_bars

NAMES = list_strategies()
EXTRA_BARS = 600  # bars after the warm-up: room for several truncation points


def _n_bars(name: str) -> int:
    return get_strategy(name).warmup + EXTRA_BARS


def _bars(name: str) -> pd.DataFrame:
    return make_random_walk_bars(_n_bars(name), seed=31, freq="1h")


@pytest.fixture(scope="module")
def computed() -> dict[str, pd.DataFrame]:
    return {}


def _full(name: str, cache: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if name not in cache:
        cache[name] = get_strategy(name).compute(_bars(name))
    return cache[name]


def test_twelve_names():
    assert len(NAMES) == 12 and len(set(NAMES)) == 12


@pytest.mark.parametrize("name", NAMES)
def test_importable_by_name(name):
    module_name, class_name = _REGISTRY[name].split(":")
    module = importlib.import_module(f"crypto_strategy_lab.strategies.{module_name}")
    cls = getattr(module, class_name)
    assert strategy_class(name) is cls
    assert cls.name == name
    assert cls.recommended_timeframes and get_strategy(name).params.timeframe


@pytest.mark.parametrize("name", NAMES)
def test_signal_finite_bounded_and_zero_in_warmup(name, computed):
    strat = get_strategy(name)
    out = _full(name, computed)
    sig = out["signal"].to_numpy()
    assert out.index.equals(_bars(name).index)
    assert np.isfinite(sig).all() and (np.abs(sig) <= 1).all()
    assert (sig[: strat.warmup] == 0).all()
    assert len(out.columns) >= 2, "compute must return the statistic(s) besides the signal"


@pytest.mark.parametrize("name", NAMES)
def test_causal_by_truncation(name, computed):
    strat = get_strategy(name)
    bars = _bars(name)
    full = _full(name, computed)
    n = len(bars)
    for k in (strat.warmup + 1, strat.warmup + 37, n - 211, n - 1):
        part = strat.compute(bars.iloc[:k])
        pd.testing.assert_frame_equal(
            part, full.iloc[:k], check_exact=False, rtol=1e-9, atol=1e-12, obj=f"{name} k={k}"
        )


@pytest.mark.parametrize("name", NAMES)
async def test_trading_face_is_last_research_row(name, computed):
    strat = get_strategy(name)
    bars = _bars(name)
    last = _full(name, computed).iloc[-1]
    sig = await strat.generate_signal(bars, {"symbol": "BTCUSDT", "capital": 10_000})
    assert sig.strength == pytest.approx(float(last["signal"]), abs=1e-12)
    expected = (
        SignalAction.BUY
        if last["signal"] > 0
        else SignalAction.SELL
        if last["signal"] < 0
        else SignalAction.HOLD
    )
    assert sig.action == expected
    assert sig.timestamp == bars.index[-1].to_pydatetime()
    assert sig.strategy == name


@pytest.mark.parametrize("name", NAMES)
def test_bad_input(name):
    strat = get_strategy(name)
    bars = _bars(name)
    with pytest.raises(CSLError, match=r"warm-up|needs"):
        strat.compute(bars.iloc[: strat.warmup])
    with_nan = bars.copy()
    with_nan.iloc[strat.warmup + 5, with_nan.columns.get_loc("close")] = np.nan
    with pytest.raises(CSLError, match=r"NaN|finite"):
        strat.compute(with_nan)
    # constant prices and zero volume: a clear error or a documented NaN statistic with a
    # flat (0) signal -- never a silent non-zero position.
    flat = bars.copy()
    flat[["open", "high", "low", "close"]] = 100.0
    _error_or_flat(strat, flat)
    no_volume = bars.copy()
    no_volume["volume"] = 0.0
    if strat.uses_volume:
        _error_or_flat(strat, no_volume)
    else:
        sig = strat.compute(no_volume)["signal"]
        pd.testing.assert_series_equal(sig, strat.compute(bars)["signal"])


def _error_or_flat(strat, bars: pd.DataFrame) -> None:
    try:
        out = strat.compute(bars)
    except CSLError:
        return
    assert (out["signal"] == 0).all()
