"""lag_autocorr: power on AR(1) (both signs), size on a random walk, the rule's direction."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.data.synthetic import ar_bars
from crypto_strategy_lab.strategies.lag_autocorr.signal import LagAutocorrSignal
from tests.strategies.power_size import independent_firing_rate, next_bar_edge, size_tolerance


@pytest.mark.parametrize("phi", [0.15, -0.15])
def test_power_trades_with_the_planted_autocorrelation(phi):
    strat = LagAutocorrSignal()
    bars = ar_bars(6000, [phi], seed=3)
    out = strat.compute(bars)
    active = out["signal"] != 0
    # phi = 0.15 over 168 returns: E[z] = 0.15 sqrt(168) = 1.94, so power at 5 % is ~0.5
    assert active.mean() > 0.3
    assert (np.sign(out.loc[active, "rho"]) == np.sign(phi)).mean() > 0.95
    _, t, _ = next_bar_edge(strat, bars)
    assert t > 3


def test_size_on_random_walk():
    rate, n = independent_firing_rate(LagAutocorrSignal(), 2000, seed=0)
    assert abs(rate - 0.05) < size_tolerance(0.05, n), rate


def test_params_are_validated():
    with pytest.raises(ValueError, match="window"):
        LagAutocorrSignal(window=5)
    assert LagAutocorrSignal(lag=2).params.lag == 2
