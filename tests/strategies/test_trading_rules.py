"""Cost-aware rules: the no-trade band and the minimum holding period on the target."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.data.synthetic import ar_bars
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.trading_rules import held_target


def test_band_worked_example():
    s = np.array([0.0, 0.1, 0.4, 0.5, 0.2, 0.0, -0.6, -0.5])
    # 0.1 is inside the band from flat; 0.5 and 0.2 are within 0.25 of the held 0.4; going
    # flat always executes; -0.5 is within 0.25 of -0.6
    expected = [0.0, 0.0, 0.4, 0.4, 0.4, 0.0, -0.6, -0.6]
    np.testing.assert_array_equal(held_target(s, band=0.25), expected)


def test_min_hold_worked_example():
    s = np.array([1.0, 0.0, 0.0, -1.0, -1.0, 0.0, 1.0, 1.0])
    # changes at bars 0, 3 and 6: never sooner than three bars after the previous one
    expected = [1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 1.0, 1.0]
    np.testing.assert_array_equal(held_target(s, min_hold=3), expected)


@pytest.mark.parametrize(("band", "min_hold"), [(0.2, 0), (0.0, 5), (0.3, 7)])
def test_properties_on_a_noisy_target(band, min_hold):
    rng = np.random.default_rng(0)
    s = np.where(rng.random(3000) < 0.3, 0.0, np.clip(rng.normal(0, 0.6, 3000), -1, 1))
    w = held_target(s, band, min_hold)
    changes = np.flatnonzero(np.diff(w, prepend=0.0) != 0)
    assert changes.size > 10
    np.testing.assert_array_equal(w[changes], s[changes])  # a change goes to the target
    jumps = np.abs(np.diff(w, prepend=0.0))[changes]
    assert np.all((w[changes] == 0) | (jumps > band))  # only flat or a move past the band
    if min_hold:
        assert np.diff(changes).min() >= min_hold
    for k in (1, 17, 1500, 2999):  # causal: a prefix sees the same held target
        np.testing.assert_array_equal(held_target(s[:k], band, min_hold), w[:k])
    assert np.abs(np.diff(w, prepend=0.0)).sum() < np.abs(np.diff(s, prepend=0.0)).sum()


def test_off_is_the_identity_and_bad_values_fail():
    s = np.array([0.0, 0.3, -0.2])
    assert held_target(s) is not None and np.array_equal(held_target(s, 0.0, 1), s)
    with pytest.raises(ValueError, match="band"):
        held_target(s, band=1.0)
    with pytest.raises(ValueError, match="min_hold"):
        held_target(s, min_hold=-1)


def test_strategy_applies_the_rules_in_both_faces():
    bars = ar_bars(2000, -0.15, seed=4)  # a rule that trades often
    plain = get_strategy("lag_autocorr").compute(bars)
    ruled = get_strategy("lag_autocorr", band=0.3, min_hold="12h").compute(bars)
    assert (plain["signal"] != 0).mean() > 0.2
    np.testing.assert_array_equal(ruled["target"], plain["signal"])
    np.testing.assert_array_equal(ruled["signal"], held_target(plain["signal"], 0.3, 12))
    assert "target" not in plain.columns  # off: the frame is unchanged
    kw = {"market": "perp", "stop_loss": None, "take_profit": None}
    fewer = run_backtest(get_strategy("lag_autocorr", band=0.3, min_hold="12h"), bars, **kw)
    more = run_backtest(get_strategy("lag_autocorr"), bars, **kw)
    assert 0 < len(fewer.trades) < len(more.trades)


def test_min_hold_is_time():
    assert get_strategy("lag_autocorr", min_hold="1d").params.bars("min_hold") == 24
    assert get_strategy("lag_autocorr", min_hold="1d", timeframe="1d").params.bars("min_hold") == 1
    assert get_strategy("lag_autocorr", min_hold=0).params.min_hold is None
    assert get_strategy("lag_autocorr", min_hold=6).params.bars("min_hold") == 6
