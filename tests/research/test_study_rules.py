"""Cost-aware rules as study dimensions: band, minimum holding and stop policy are logged
trials like any other parameter (so DSR's trial count includes them)."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.research.study import StudyError, StudySpec, run_study
from crypto_strategy_lab.strategies import get_strategy
from tests.conftest import make_random_walk_bars

SPACE = {"window": [60], "band": [0.0, 0.3], "min_hold": [None, "6h"], "stop": ["fixed", "off"]}


def test_rules_are_trials(trial_log, inline, tmp_path):
    bars = make_random_walk_bars(1500, seed=12)
    spec = StudySpec.from_space("rules", "lag_autocorr", SPACE, symbol="rw")
    result = run_study(spec, bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    assert len(result.trials) == 8 and result.trials["config_hash"].nunique() == 8
    assert len(trial_log.trials("lag_autocorr", family=result.data.family)) == 8
    assert sorted(result.trials["stop"].value_counts().to_dict().items()) == [
        ("fixed", 4),
        ("off", 4),
    ]
    for label, row in result.trials.iterrows():
        stops = {"stop_loss": None, "take_profit": None} if row["stop"] == "off" else {}
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
    bad = StudySpec.from_space("bad", "lag_autocorr", {"stop": ["atr"]}, symbol="rw-d")
    with pytest.raises(StudyError, match="stop policy 'atr'"):
        run_study(bad, bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
