"""permutation_entropy strategy: defaults, causality, power on AR returns, quiet on noise."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from crypto_strategy_lab.data.synthetic import ar_bars, bars_from_returns
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.permutation_entropy.signal import PermutationEntropySignal
from tests.conftest import make_random_walk_bars
from tests.strategies.power_size import independent_firing_rate, size_tolerance


def test_defaults_and_validation():
    s = PermutationEntropySignal()
    assert s.params.timeframe == "1h" and s.params.order == 3
    assert "4h" in s.recommended_timeframes
    with pytest.raises(ValidationError):
        PermutationEntropySignal(order=9)


def test_causal_prefix():
    bars = make_random_walk_bars(900, seed=1)
    s = get_strategy("permutation_entropy", {"window": 300})
    full = s.compute(bars)
    for k in (301, 555, 899):
        assert full.iloc[:k].equals(s.compute(bars.iloc[:k]))
    assert (full["signal"].iloc[:300] == 0).all()


def test_trades_with_the_trend_on_persistent_returns():
    bars = ar_bars(1500, 0.4, seed=3)
    out = get_strategy("permutation_entropy", {"window": 500}).compute(bars)
    live = out.iloc[501:]
    assert (live["pvalue"] < 0.05).mean() > 0.95
    assert (live["monotone_excess"] > 0).all()
    r = bars["close"].pct_change().iloc[501:]
    active = live["signal"] != 0
    assert ((live["signal"][active] > 0) == (r[active] > 0)).all()


def test_mostly_flat_on_random_walk():
    out = get_strategy("permutation_entropy").compute(make_random_walk_bars(3000, seed=5))
    assert (out["signal"] != 0).mean() < 0.1


def test_size_on_random_walk():
    rate, n = independent_firing_rate(PermutationEntropySignal(), 3000, seed=60)
    assert abs(rate - 0.01) < size_tolerance(0.01, n), rate


@pytest.mark.parametrize("step", [0.0005, 0.001])
def test_size_on_iid_returns_with_ties(step):
    """I.i.d. returns on a tick grid (20 % and 39 % unchanged closes): the null holds, so the
    rule fires at its level. Coding ties as rises rejected on 31 % and 100 % of the bars."""
    rng = np.random.default_rng(61)
    r = np.round(rng.standard_normal(30_000) * 0.001 / step) * step
    bars = bars_from_returns(r, seed=62)
    strat = PermutationEntropySignal()
    sig = strat.compute(bars)["signal"].to_numpy()[strat.warmup + 1 :: strat.warmup + 24]
    assert (np.diff(np.log(bars["close"].to_numpy())) == 0).mean() > 0.15
    assert abs(np.mean(sig != 0) - 0.01) < size_tolerance(0.01, sig.size)
    out = strat.compute(bars).iloc[strat.warmup + 1 :]
    assert (out["pvalue"] < 0.01).mean() < 0.05
    assert (out["untied_patterns"] < 498).all()  # ties were present and left out
