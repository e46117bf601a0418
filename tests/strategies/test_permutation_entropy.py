"""permutation_entropy strategy: defaults, causality, power on AR returns, quiet on noise."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crypto_strategy_lab.data.synthetic import ar_bars
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.permutation_entropy.signal import PermutationEntropySignal
from tests.conftest import make_random_walk_bars


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
