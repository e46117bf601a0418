"""vpin strategy: trades source vs bars source, causality, informed flow raises VPIN."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.data.synthetic import informed_trade_stream
from crypto_strategy_lab.data.trades import trades_to_bars
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.vpin.signal import VPINSignal
from tests.conftest import make_random_walk_bars

PARAMS = {"calibration_bars": 200, "n_buckets": 20, "zscore_buckets": 100, "sigma_window": 50}


def test_defaults_and_validation():
    s = VPINSignal()
    assert s.params.timeframe == "15m" and s.uses_volume
    with pytest.raises(ValidationError):
        VPINSignal(z_entry=3.0, z_full=2.0)


def test_source_and_causality():
    stream = informed_trade_stream(n_periods=600, alpha=0.5, period="5min", seed=1)
    bars = trades_to_bars(stream.trades, "1min")
    s = get_strategy("vpin", PARAMS)
    from_trades = s.compute(bars)
    from_bars = s.compute(bars.drop(columns="buy_volume"))
    assert (from_trades["vpin_source"] == "trades").all()
    assert (from_bars["vpin_source"] == "bars").all()
    for k in (201, 1400, 2500):
        assert from_trades.iloc[:k].equals(s.compute(bars.iloc[:k]))
    assert np.isfinite(from_trades["signal"]).all()


def test_informed_flow_raises_vpin():
    def mean_vpin(alpha):
        bars = trades_to_bars(informed_trade_stream(600, alpha=alpha, seed=3).trades, "1min")
        return get_strategy("vpin", PARAMS).compute(bars)["vpin"].mean()

    assert mean_vpin(0.7) > mean_vpin(0.0) + 0.05


def test_zero_volume_calibration_is_an_error():
    bars = make_random_walk_bars(700)
    bars["volume"] = 0.0
    with pytest.raises(DataValidationError, match="zero volume"):
        get_strategy("vpin", PARAMS).compute(bars)
