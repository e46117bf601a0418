"""variance_ratio: power on AR(1) (trend and reversal), size on a random walk."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.data.synthetic import ar_bars
from crypto_strategy_lab.strategies.variance_ratio.signal import VarianceRatioSignal
from tests.strategies.power_size import independent_firing_rate, next_bar_edge, size_tolerance


@pytest.mark.parametrize("phi", [0.2, -0.2])
def test_power_vr_side_and_edge(phi):
    strat = VarianceRatioSignal()
    bars = ar_bars(8000, [phi], seed=5)
    out = strat.compute(bars)
    active = out["signal"] != 0
    assert active.mean() > 0.3
    assert (np.sign(out.loc[active, "vr"] - 1) == np.sign(phi)).all()
    _, t, _ = next_bar_edge(strat, bars)
    assert t > 2.5


def test_size_on_random_walk():
    rate, n = independent_firing_rate(VarianceRatioSignal(), 2000, seed=10)
    assert abs(rate - 0.05) < size_tolerance(0.05, n), rate
