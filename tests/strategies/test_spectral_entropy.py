"""spectral_entropy: low entropy detected on AR(1) and sine, traded in the right direction;
size on a random walk."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.data.synthetic import ar_bars
from crypto_strategy_lab.strategies.spectral_entropy.signal import SpectralEntropySignal
from tests.strategies.power_size import independent_firing_rate, next_bar_edge, size_tolerance


@pytest.mark.parametrize("phi", [0.4, -0.4])
def test_power_on_ar1(phi):
    strat = SpectralEntropySignal()
    bars = ar_bars(5000, [phi], seed=2)
    out = strat.compute(bars).iloc[strat.warmup + 1 :]
    active = out["signal"] != 0
    assert out["z"].median() < -2  # the spectrum is tilted: entropy below the null
    assert active.mean() > 0.3
    assert (np.sign(out.loc[active, "rho1"]) == np.sign(phi)).all()
    _, t, _ = next_bar_edge(strat, bars)
    assert t > 3


def test_size_on_random_walk():
    rate, n = independent_firing_rate(SpectralEntropySignal(), 2000, seed=50)
    assert abs(rate - 0.05) < size_tolerance(0.05, n), rate
