"""The lab's strategy x timeframe x market loop: which cells run, on which causally resampled
bars, and why the others cannot be evaluated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.data.cleaning import resample_bars
from crypto_strategy_lab.data.synthetic import gbm_bars
from crypto_strategy_lab.data.timeframes import timeframe_delta
from crypto_strategy_lab.research.inputs import LabData
from crypto_strategy_lab.research.lab import lab_plan, timeframe_support
from crypto_strategy_lab.strategies import get_strategy, list_strategies, strategy_class
from tests.conftest import make_random_walk_bars


def _crypto(n: int = 6000) -> LabData:
    return LabData("rw-1h", make_random_walk_bars(n, seed=3), "synthetic", "none", "perp")


def _stocks(n: int = 3000) -> LabData:
    days = pd.bdate_range("2005-01-03", periods=n, tz="UTC")  # sessions: no weekends
    bars = gbm_bars(n, sigma=0.01, seed=4, freq="1D").set_axis(days)
    return LabData("rw-stocks", bars, "synthetic", "none", "stock")


@pytest.fixture(scope="module")
def plan():
    return lab_plan([_crypto(), _stocks()], list_strategies(), quick=True)


def test_each_strategy_runs_at_its_timeframes_on_its_markets(plan):
    run = {(c.strategy, c.timeframe, c.asset_class) for c in plan.cells.values()}
    skipped = {label: reason for label, (_, reason) in plan.skipped.items()}
    for name in list_strategies():
        cls = strategy_class(name)
        for tf in cls.recommended_timeframes:
            label = f"{name} {tf} crypto rw-1h"
            assert (name, tf, "crypto") in run or label in skipped
            if tf in ("15m", "30m"):
                assert skipped[label] == f"not evaluated: {tf} is finer than the 1h source bars"
            on_stocks = f"{name} {tf} equity rw-stocks"
            if "equity" not in cls.asset_classes:
                assert on_stocks not in plan.cells and on_stocks not in skipped
            elif tf != "1d":
                assert skipped[on_stocks] == f"not evaluated: {tf} is finer than the 1d source bars"
    # daily stock history: the "All" strategies that recommend 1d
    assert {n for n, tf, k in run if k == "equity"} == {
        "hurst_exponent",
        "drift_significance",
        "wavelet_energy",
    }
    assert ("lag_autocorr", "4h", "crypto") in run
    # 6,000 hours are 250 days: fewer than the daily GARCH's 500-return window
    assert "warm-up" in skipped["volatility_clustering 1d crypto rw-1h"]


def test_studies_use_the_causally_resampled_bars_and_their_own_timeframe(plan):
    source = _crypto().bars
    for bars, specs in plan.groups:
        tf = specs[0].configs[0]["timeframe"]
        if specs[0].symbol.startswith("rw-1h"):
            expected, _ = resample_bars(source, "1h", tf)
            pd.testing.assert_frame_equal(bars, expected)
        for spec in specs:
            assert spec.symbol.endswith(f"@{tf}")
            assert all(c["timeframe"] == tf for c in spec.configs)
            settings = {s.market for s in [spec.settings]}
            assert settings == ({"stock"} if spec.symbol.startswith("rw-stocks") else {"perp"})


@pytest.mark.parametrize(("name", "timeframe"), [("lag_autocorr", "4h"), ("hurst_exponent", "1d")])
def test_resampled_signal_is_truncation_invariant(name, timeframe):
    """Cutting the source anywhere (mid-bin too) changes no complete resampled bar's signal:
    the still-forming bin is dropped, and every signal reads only closed bars."""
    source = make_random_walk_bars(9000, seed=8)
    strategy = get_strategy(name, timeframe=timeframe, window="21d")
    bars, _ = resample_bars(source, "1h", timeframe)
    full = strategy.compute(bars)["signal"]
    for cut in (6001, 7213, 8999):
        part_bars, _ = resample_bars(source.iloc[:cut], "1h", timeframe)
        closed = part_bars.index[-1] + timeframe_delta(timeframe)
        assert closed <= source.index[cut - 1] + timeframe_delta("1h")  # the last bar had closed
        part = strategy.compute(part_bars)["signal"]
        np.testing.assert_array_equal(part.to_numpy(), full.loc[part.index].to_numpy())


def test_timeframe_support_rule():
    assert timeframe_support("15m", "4h") is None
    assert timeframe_support("1h", "1h") is None
    assert "finer" in timeframe_support("1d", "4h")
    assert "whole number" in timeframe_support("4h", "6h")
