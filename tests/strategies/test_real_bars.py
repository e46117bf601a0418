"""Every strategy fires at a plausible rate on real bars, at each of its recommended
timeframes (resampled causally from the shared BTC files).

"Plausible": a test-gated rule fires on more than 0.1 % and less than half of the bars after
its warm-up (on real returns its tests reject more often than their level, since returns are
not i.i.d., but not all the time); an exposure rule (GARCH clustering, wavelet tilt) may be
in the market most of the time, but not on every bar. A strategy that never fires on four
years of hourly BTC is a bug, as a rule that always fires is.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.data.cleaning import resample_bars
from crypto_strategy_lab.data.loader import load_bars
from crypto_strategy_lab.data.timeframes import timeframe_delta
from crypto_strategy_lab.strategies import get_strategy, list_strategies, strategy_class
from tests.conftest import shared_file

HOURLY = "btcusd_cdd_1h_20180515_20220301.parquet"
FIVE_MINUTE = "btcusdt_binance_spot_5m_20201201_20210717.parquet"
EXPOSURE_RULES = {"volatility_clustering", "wavelet_energy"}

CASES = [(n, tf) for n in list_strategies() for tf in strategy_class(n).recommended_timeframes]


@cache
def _source(name: str) -> pd.DataFrame:
    return load_bars(shared_file(name))


def _bars(timeframe: str) -> pd.DataFrame:
    # sub-hour bars from the 5-minute file, the rest from the hourly one
    if timeframe_delta(timeframe) < pd.Timedelta(hours=1):
        bars, _ = resample_bars(_source(FIVE_MINUTE), "5m", timeframe)
    else:
        bars, _ = resample_bars(_source(HOURLY), "1h", timeframe)
    return bars


@pytest.mark.parametrize(("name", "timeframe"), CASES)
def test_fires_at_a_plausible_rate_on_real_bars(name, timeframe):
    strategy = get_strategy(name, timeframe=timeframe)
    bars = _bars(timeframe)
    assert len(bars) > strategy.warmup + 500, "the shared file is long enough"
    signal = strategy.compute(bars)["signal"].to_numpy()[strategy.warmup + 1 :]
    rate = float(np.mean(signal != 0))
    upper = 0.95 if name in EXPOSURE_RULES else 0.5
    assert 0.001 < rate < upper, f"{name} at {timeframe} fires on {rate:.2%} of bars"
