"""spectral_peaks: a planted cycle is found and traded in phase; size on a random walk."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.data.synthetic import bars_from_returns, sine_plus_noise
from crypto_strategy_lab.strategies.spectral_peaks.signal import SpectralPeaksSignal
from tests.strategies.power_size import independent_firing_rate, next_bar_edge, size_tolerance


def test_power_cycle_detected_and_traded_in_phase():
    strat = SpectralPeaksSignal()
    period, amp = 32.0, 0.004
    r = sine_plus_noise(3000, period=period, amplitude=amp, sigma=0.005, seed=6)
    bars = bars_from_returns(r)
    out = strat.compute(bars).iloc[strat.warmup + 1 :]
    active = out["signal"] != 0
    assert active.mean() > 0.9
    assert out.loc[active, "period"].median() == pytest.approx(period)
    # the next return's planted cycle value has the sign of the signal
    t = np.arange(3000)
    cycle_next = amp * np.sin(2 * np.pi * (t + 1) / period)[strat.warmup + 1 :]
    agree = np.sign(out["signal"].to_numpy()) == np.sign(cycle_next)
    assert agree[active.to_numpy()].mean() > 0.85
    _, tstat, _ = next_bar_edge(strat, bars)
    assert tstat > 5


def test_size_on_random_walk():
    rate, n = independent_firing_rate(SpectralPeaksSignal(), 3000, seed=40)
    assert abs(rate - 0.01) < size_tolerance(0.01, n), rate
