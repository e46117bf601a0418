"""Cost-aware rules as study dimensions: band, minimum holding and stop policy are logged
trials like any other parameter (so DSR's trial count includes them)."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.research.study import StudyError, StudySpec, run_study
from crypto_strategy_lab.strategies import get_strategy
from tests.conftest import make_random_walk_bars

SPACE = {
    "window": [60],
    "band": [0.0, 0.3],
    "min_hold": [None, "6h"],
    "stop": ["fixed", "off", "atr"],
}


def test_rules_are_trials(trial_log, inline, tmp_path):
    bars = make_random_walk_bars(1500, seed=12)
    spec = StudySpec.from_space("rules", "lag_autocorr", SPACE, symbol="rw")
    result = run_study(spec, bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    assert len(result.trials) == 12 and result.trials["config_hash"].nunique() == 12
    assert len(trial_log.trials("lag_autocorr", family=result.data.family)) == 12
    assert sorted(result.trials["stop"].value_counts().to_dict().items()) == [
        ("atr", 4),
        ("fixed", 4),
        ("off", 4),
    ]
    policies = {
        "off": {"stop_loss": None, "take_profit": None},
        "fixed": {},
        "atr": {"stop_unit": "atr", "stop_loss": 2.0, "take_profit": 4.0},
    }
    for label, row in result.trials.iterrows():
        stops = policies[row["stop"]]
        direct = run_backtest(get_strategy("lag_autocorr", row["params"]), bars, market="perp",
                              **stops)  # fmt: skip
        np.testing.assert_array_equal(result.returns[label], direct.returns.to_numpy()[60:])


def test_same_bars_are_one_trial_and_unknown_stop_fails(trial_log, inline, tmp_path):
    bars = make_random_walk_bars(400, seed=13, freq="1D")
    # on daily bars 3d and 7d windows both fall back to the 20-return minimum
    space = {"timeframe": ["1d"], "window": ["3d", "7d", "30d"]}
    spec = StudySpec.from_space("dedup", "lag_autocorr", space, symbol="rw-d")
    result = run_study(spec, bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    assert len(result.trials) == 2
    bad = StudySpec.from_space("bad", "lag_autocorr", {"stop": ["trailing"]}, symbol="rw-d")
    with pytest.raises(StudyError, match="stop policy 'trailing'"):
        run_study(bad, bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)


def test_fraction_stops_keep_the_identity_trials_had_before_atr_stops():
    # a trial logged before stop units existed must be found again, not counted a second time
    from crypto_strategy_lab.research.trial import BacktestSettings, with_stop_policy

    fixed = BacktestSettings()
    before = {"market", "costs", "sizing", "stop_loss", "take_profit", "fill", "fee_side"}
    assert set(fixed.identity()) == before
    atr = with_stop_policy(fixed, "atr")
    assert atr.identity()["stop_unit"] == "atr" and atr.stop_policy() == "atr"
    assert with_stop_policy(atr, "fixed").identity() == fixed.identity()
    assert with_stop_policy(atr, "off").stop_policy() == "off"
    with pytest.raises(ValueError, match="fraction in"):
        BacktestSettings(stop_loss=2.0)  # 2.0 is an ATR multiple, not a fraction
