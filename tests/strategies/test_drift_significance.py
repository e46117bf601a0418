"""drift_significance: power on a drifting GBM, size on a driftless one."""

from __future__ import annotations

from crypto_strategy_lab.data.synthetic import gbm_bars
from crypto_strategy_lab.strategies.drift_significance.signal import DriftSignificanceSignal
from tests.strategies.power_size import independent_firing_rate, size_tolerance


def test_power_on_positive_and_negative_drift():
    strat = DriftSignificanceSignal()
    # log drift 0.3 sigma per bar over 180 bars: E[z] = 0.3 sqrt(180) = 4.0
    for sign in (1, -1):
        mu = sign * 0.003 + 0.5 * 0.01**2  # gbm_returns subtracts sigma^2 / 2
        out = strat.compute(gbm_bars(2000, mu=mu, sigma=0.01, seed=4, freq="4h"))
        sig = out["signal"].iloc[strat.warmup + 1 :]
        assert (sig * sign > 0).mean() > 0.9 and (sig * sign < 0).sum() == 0


def test_size_on_random_walk():
    rate, n = independent_firing_rate(DriftSignificanceSignal(), 2000, seed=30)
    assert abs(rate - 0.05) < size_tolerance(0.05, n), rate
