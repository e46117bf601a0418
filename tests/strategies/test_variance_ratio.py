"""variance_ratio: power on AR(1) (trend and reversal), size on a random walk."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.data.synthetic import ar_bars, gbm_bars
from crypto_strategy_lab.strategies.variance_ratio.signal import VarianceRatioSignal
from tests.strategies.power_size import firing_rate, next_bar_edge, size_tolerance


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
    strat = VarianceRatioSignal()
    rates = [firing_rate(strat, gbm_bars(8000, seed=10 + s)) for s in range(4)]
    assert abs(np.mean(rates) - 0.05) < size_tolerance(0.05, 4 * 8000, 240)
