"""pacf_spike strategy: finds the AR lag, trades its forecast, silent on noise."""

from __future__ import annotations

import numpy as np

from crypto_strategy_lab.data.synthetic import ar_bars
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.pacf_spike.signal import PACFSpikeSignal
from tests.conftest import make_random_walk_bars
from tests.strategies.power_size import independent_firing_rate, size_tolerance


def test_defaults():
    s = PACFSpikeSignal()
    assert s.params.timeframe == "1h" and s.params.max_lag == 10


def test_causal_prefix():
    bars = make_random_walk_bars(1000, seed=2)
    s = get_strategy("pacf_spike", {"window": 300})
    full = s.compute(bars)
    for k in (301, 640, 999):
        assert full.iloc[:k].equals(s.compute(bars.iloc[:k]))


def test_spike_at_true_lag_and_forecast_sign():
    bars = ar_bars(2000, [0.0, 0.0, 0.3], seed=7)
    out = get_strategy("pacf_spike").compute(bars).iloc[501:]
    assert (out["spike_lag"] == 3).mean() > 0.9
    r = np.log(bars["close"]).diff().iloc[501:]
    lag3 = r.shift(2)  # the return that the AR(3) term multiplies: r_{t-2}
    active = out["signal"] != 0
    assert (np.sign(out["signal"][active]) == np.sign(lag3[active] - r.mean())).mean() > 0.8


def test_quiet_on_random_walk():
    out = get_strategy("pacf_spike").compute(make_random_walk_bars(4000, seed=9)).iloc[501:]
    assert (out["signal"] != 0).mean() < 0.1


def test_size_on_random_walk():
    """Family-wise level 1 % over the ten lags (Bonferroni, so at most 1 %)."""
    rate, n = independent_firing_rate(PACFSpikeSignal(), 3000, seed=70)
    assert abs(rate - 0.01) < size_tolerance(0.01, n), rate
