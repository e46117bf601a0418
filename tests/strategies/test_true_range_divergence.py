"""true_range_divergence strategy: follows volatility-confirmed moves, causal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.true_range_divergence.signal import (
    TrueRangeDivergenceSignal,
)
from tests.conftest import make_random_walk_bars


def test_defaults():
    s = TrueRangeDivergenceSignal()
    assert s.params.timeframe == "15m" and s.warmup == 14 + 24 + 500 - 2


def test_causal_prefix():
    bars = make_random_walk_bars(1200, seed=3)
    s = get_strategy("true_range_divergence")
    full = s.compute(bars)
    for k in (537, 900, 1199):
        assert full.iloc[:k].equals(s.compute(bars.iloc[:k]))
    assert (full["signal"].iloc[:537] == 0).all()


def _bars(mu_tail: float, vol_tail: np.ndarray, seed: int = 3) -> pd.DataFrame:
    """Calm random walk (sigma 0.5%) then a drifting tail whose volatility (and so its
    true ranges: wicks scale with sigma) follows ``vol_tail``."""
    rng = np.random.default_rng(seed)
    sig = np.concatenate([np.full(1000, 0.005), 0.005 * vol_tail])
    mu = np.concatenate([np.zeros(1000), np.full(vol_tail.size, mu_tail)])
    close = 100 * np.exp(np.cumsum(mu + sig * rng.standard_normal(sig.size)))
    open_ = np.concatenate([[100.0], close[:-1]])
    wick = np.abs(rng.normal(0, 1, sig.size)) * sig / 2
    index = pd.date_range("2024-01-01", periods=sig.size, freq="15min", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + wick),
            "low": np.minimum(open_, close) * (1 - wick),
            "close": close,
            "volume": np.full(sig.size, 10.0),
        },
        index=index,
    )


def test_follows_confirmed_rally_and_fades_quiet_rally():
    s = get_strategy("true_range_divergence")
    up = s.compute(_bars(0.004, np.linspace(1, 3, 60)))
    assert up["divergence"].iloc[-1] > 0 and up["signal"].iloc[-1] > 0.3
    quiet = s.compute(_bars(0.002, np.linspace(1, 0.1, 60)))
    last = quiet.iloc[-1]
    assert last["price_z"] > 2 and last["vol_z"] < -2
    assert last["divergence"] < 0 and last["signal"] < 0
