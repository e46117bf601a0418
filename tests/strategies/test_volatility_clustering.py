"""volatility_clustering strategy: exposure falls when forecast volatility rises."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from crypto_strategy_lab.data.synthetic import garch_bars
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.volatility_clustering.signal import (
    VolatilityClusteringSignal,
)
from tests.conftest import make_random_walk_bars


def test_defaults_and_validation():
    s = VolatilityClusteringSignal()
    assert s.params.bars("window") == 2000 and s.recommended_timeframes == ("1h", "4h", "1d")
    with pytest.raises(ValidationError, match="refit_every"):
        VolatilityClusteringSignal(window=500, refit_every=600)


def test_causal_prefix():
    bars = garch_bars(1400, alpha=0.1, beta=0.85, seed=2)
    s = get_strategy("volatility_clustering", {"window": 500, "refit_every": 200})
    full = s.compute(bars)
    for k in (501, 777, 1399):
        assert full.iloc[:k].equals(s.compute(bars.iloc[:k]))


def test_garch_bars_scaled_exposure_and_random_walk_flat():
    s = get_strategy("volatility_clustering", {"window": 1000, "refit_every": 500})
    out = s.compute(garch_bars(3000, alpha=0.1, beta=0.85, seed=4)).iloc[1001:]
    assert (out["lr_pvalue"] < 0.01).all()
    assert np.allclose(out["persistence"], 0.95, atol=0.05)
    high = out["forecast_vol"] > out["forecast_vol"].median()
    assert out["signal"][high].mean() < out["signal"][~high].mean()
    assert out["signal"].between(0, 1).all() and (out["signal"] > 0).all()
    flat = s.compute(make_random_walk_bars(3000, seed=8)).iloc[1001:]
    assert (flat["signal"] == 0).mean() > 0.5
