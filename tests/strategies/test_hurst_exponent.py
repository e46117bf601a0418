"""hurst_exponent: H estimate and side on fBm bars with H = 0.3 / 0.7, size on a random walk."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.data.synthetic import fbm_bars
from crypto_strategy_lab.strategies.hurst_exponent.signal import HurstExponentSignal
from tests.strategies.power_size import independent_firing_rate, next_bar_edge, size_tolerance


@pytest.mark.parametrize(("hurst", "method"), [(0.7, "rs"), (0.3, "rs"), (0.7, "dfa")])
def test_power_on_fractional_noise(hurst, method):
    strat = HurstExponentSignal(method=method)
    bars = fbm_bars(3000, hurst, seed=8, freq="4h")
    out = strat.compute(bars).iloc[strat.warmup + 1 :]
    # window 256: sd of H-hat under the null ~0.06-0.08, the effect is 0.2 -> z ~ 2.5-3.5
    assert abs(out["hurst"].median() - hurst) < 0.1
    active = out["signal"] != 0
    assert active.mean() > 0.4
    assert (np.sign(out.loc[active, "z"]) == np.sign(hurst - 0.5)).all()
    _, t, _ = next_bar_edge(strat, bars)
    assert t > 2


def test_size_on_random_walk():
    rate, n = independent_firing_rate(HurstExponentSignal(), 2000, seed=20)
    assert abs(rate - 0.05) < size_tolerance(0.05, n), rate
