"""Studies: every trial logged once, resumable, results equal to a direct backtest."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.research.assessment import assess_study
from crypto_strategy_lab.research.executors import ExecutorError, LocalExecutor, make_executor
from crypto_strategy_lab.research.study import StudyError, StudySpec, run_study
from crypto_strategy_lab.research.trial import BacktestSettings, TrialTask
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.validation.sharpe import deflated_sharpe_ratio
from tests.conftest import make_random_walk_bars

SPACE = {"window": [40, 80], "lag": [1, 2]}


@pytest.fixture
def bars() -> pd.DataFrame:
    return make_random_walk_bars(1200, seed=11)


def spec(name: str = "s1", space=SPACE) -> StudySpec:
    return StudySpec.from_space(name, "lag_autocorr", space, symbol="rw-1200")


def test_trials_match_direct_backtests_and_the_log(bars, trial_log, inline, tmp_path):
    result = run_study(spec(), bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    assert list(result.trials["status"]) == ["new"] * 4
    trim = 80  # the largest warm-up in the grid (window 80)
    assert result.returns.index[0] == bars.index[trim]
    logged = trial_log.trials("lag_autocorr", study="s1")
    assert len(logged) == 4
    for label, row in result.trials.iterrows():
        direct = run_backtest(get_strategy("lag_autocorr", row["params"]), bars, market="perp")
        expected = direct.returns.to_numpy()[trim:]
        np.testing.assert_allclose(result.returns[label].to_numpy(), expected, rtol=0, atol=0)
        sr = expected.mean() / expected.std(ddof=1)
        assert row["sr"] == pytest.approx(sr, rel=1e-12)
        assert row["n_trades"] == len(direct.trades)
        log_row = logged.loc[logged["config_hash"] == row["config_hash"]].iloc[0]
        assert log_row["sr"] == pytest.approx(sr, rel=1e-12)
        assert log_row["n_obs"] == len(bars) - trim


def test_rerun_is_resumed_and_records_nothing_new(bars, trial_log, inline, tmp_path):
    first = run_study(spec(), bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    second = run_study(spec(), bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    assert second.new_trials == 0 and second.resumed_trials == 4
    assert len(trial_log.trials("lag_autocorr")) == 4
    pd.testing.assert_frame_equal(first.returns, second.returns)
    # without the cache the returns are recomputed, still not logged again
    third = run_study(spec(), bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path / "x")
    assert third.new_trials == 0 and len(trial_log.trials("lag_autocorr")) == 4
    pd.testing.assert_frame_equal(first.returns, third.returns)


def test_dsr_uses_every_logged_trial_of_the_dataset(bars, trial_log, inline, tmp_path):
    run_study(spec(), bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    # window 120: two new configurations; the four shared with s1 are the same trials
    wider = {"window": [40, 80, 120], "lag": [1, 2]}
    second = run_study(
        spec("s2", wider), bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path
    )
    assert (second.new_trials, second.resumed_trials) == (2, 4)
    logged = trial_log.trials("lag_autocorr")
    assert len(logged) == 4 + 2
    a = assess_study(second, trial_log)
    assert a.n_trials == a.deflation.strategy_trials == len(logged) == 6
    assert a.sr_variance == pytest.approx(np.var(logged["sr"].to_numpy(), ddof=1))
    dsr = deflated_sharpe_ratio(
        a.moments.sr, a.moments.n_obs, a.moments.skew, a.moments.kurtosis, 6, a.sr_variance
    )
    assert a.criterion("dsr") == pytest.approx(dsr)
    # trials on another market's data do not count
    other = make_random_walk_bars(1200, seed=12)
    run_study(
        StudySpec.from_space("s3", "lag_autocorr", SPACE, symbol="other"),
        other, trial_log=trial_log, executor=inline, cache_dir=tmp_path,
    )  # fmt: skip
    assert assess_study(second, trial_log).n_trials == 6


def test_process_pool_gives_the_inline_results(bars, trial_log, journal_url, tmp_path):
    from crypto_strategy_lab.validation.trial_log import TrialLog

    inline = run_study(
        spec(), bars, trial_log=trial_log, executor=LocalExecutor(1), cache_dir=tmp_path / "a"
    )
    other_log = TrialLog(f"sqlite:///{tmp_path / 'other.sqlite'}")
    pooled = run_study(  # startup_seconds=0: every trial after the first runs in the pool
        spec(), bars, trial_log=other_log, executor=LocalExecutor(2, startup_seconds=0),
        cache_dir=tmp_path / "b",
    )  # fmt: skip
    pd.testing.assert_frame_equal(inline.returns, pooled.returns)
    assert len(other_log.trials()) == 4


def test_one_pool_serves_runs_on_different_bars(bars, tmp_path):
    from crypto_strategy_lab.research.trial import evaluate_trial

    shifted = bars.iloc[100:]  # other bars: a worker must not keep the first run's
    tasks = [
        TrialTask(k, "s", "lag_autocorr", {"window": w}, BacktestSettings(), f"h{k}", log=False)
        for k, w in enumerate((40, 60, 80))
    ]
    with LocalExecutor(2, startup_seconds=0) as pool:  # cheap trials: start the pool anyway
        for frame in (bars, shifted, bars):
            got: dict[int, np.ndarray] = {}
            pool.run(
                tasks, frame, lambda task, out, got=got: got.__setitem__(task.key, out.returns)
            )
            for task in tasks:
                np.testing.assert_array_equal(got[task.key], evaluate_trial(task, frame).returns)
        workers = pool._pool
        assert workers is not None and len(workers._processes) == 2  # started once, kept
    assert pool._pool is None  # closed on exit


class _RecordingPool:
    """Stands in for the spawn pool: runs each submitted task at once, records what it got."""

    started: ClassVar[list[tuple[int, list]]] = []

    def __init__(self, n, mp_context):
        self.n, self.tasks = n, []
        _RecordingPool.started.append((n, self.tasks))

    def submit(self, fn, *args):
        from concurrent.futures import Future

        self.tasks.append(args[-1])
        future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, wait, cancel_futures):
        pass


@pytest.mark.parametrize(
    ("seconds_per_trial", "inline", "pooled"),
    [
        (0.01, 8, 0),  # 0.07 s of work left: starting a pool (POOL_STARTUP_SECONDS) would lose
        (2.0, 1, 7),  # 14 s left, 7 s saved by a second worker: the pool pays
    ],
)
def test_trials_run_inline_until_a_pool_pays_for_its_start_up(
    monkeypatch, seconds_per_trial, inline, pooled
):
    from crypto_strategy_lab.research import executors
    from crypto_strategy_lab.research.trial import TrialOutcome

    clock = [0.0]

    def evaluate(task, bars):  # a trial of known cost on a fake clock
        clock[0] += seconds_per_trial
        return TrialOutcome(np.zeros(3), 0)

    monkeypatch.setattr(executors, "evaluate_trial", evaluate)
    monkeypatch.setattr(executors.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(executors, "ProcessPoolExecutor", _RecordingPool)
    _RecordingPool.started = []
    seen = []
    with LocalExecutor(2) as executor:
        executor.run(list(range(8)), pd.DataFrame(), lambda t, o: seen.append(t))
        assert sorted(seen) == list(range(8))  # every trial reported once
        in_pool = [t for _, tasks in _RecordingPool.started for t in tasks]
        assert (len(seen) - len(in_pool), len(in_pool)) == (inline, pooled)
        assert [n for n, _ in _RecordingPool.started] == ([2] if pooled else [])
        # once started, the pool serves the next run from its first trial
        if pooled:
            executor.run(list(range(4)), pd.DataFrame(), lambda t, o: seen.append(t))
            assert len(_RecordingPool.started) == 1 and len(_RecordingPool.started[0][1]) == 11


def test_random_search_and_settings_enter_the_hash(bars, trial_log, inline, tmp_path):
    random = StudySpec.from_space(
        "r", "lag_autocorr", {"window": [40, 60, 80], "lag": [1, 2, 3]}, method="random",
        n_random=3, seed=1, symbol="rw",
    )  # fmt: skip
    result = run_study(random, bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    assert len(result.trials) == 3
    spot = StudySpec("r", "lag_autocorr", random.configs, BacktestSettings(market="spot"), "rw")
    again = run_study(spot, bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    assert again.new_trials == 3  # other settings, other trials
    assert len(trial_log.trials("lag_autocorr")) == 6


def test_bad_input_is_a_clear_error(bars, trial_log, inline, tmp_path):
    with pytest.raises(StudyError, match="window"):
        run_study(spec(space={"window": [5]}), bars, trial_log=trial_log, executor=inline)
    with pytest.raises(StudyError, match="warm-up"):
        run_study(
            spec(space={"window": [1150]}), bars, trial_log=trial_log, executor=inline,
            cache_dir=tmp_path,
        )  # fmt: skip
    with pytest.raises(StudyError, match="method"):
        StudySpec.from_space("x", "lag_autocorr", SPACE, method="bayes")
    with pytest.raises(ExecutorError, match="unknown executor"):
        make_executor("dask")


def test_ray_executor_matches_local(bars, trial_log, tmp_path):
    ray = pytest.importorskip("ray")
    from crypto_strategy_lab.research.executors import RayExecutor
    from crypto_strategy_lab.validation.trial_log import TrialLog

    local = run_study(
        spec(), bars, trial_log=trial_log, executor=LocalExecutor(1), cache_dir=tmp_path / "a"
    )
    ray_log = TrialLog(f"sqlite:///{tmp_path / 'ray.sqlite'}")
    remote = run_study(
        spec(), bars, trial_log=ray_log, executor=RayExecutor(num_cpus=2), cache_dir=tmp_path / "b"
    )
    assert not ray.is_initialized()  # the executor shut down the instance it started
    pd.testing.assert_frame_equal(local.returns, remote.returns)
    pd.testing.assert_frame_equal(
        local.trials.drop(columns="params"), remote.trials.drop(columns="params")
    )
    assert len(ray_log.trials()) == 4


def test_a_constant_column_is_not_selected_for_an_infinite_ratio(bars, trial_log, inline, tmp_path):
    # a configuration whose returns never vary has Sharpe ratio 0 (sharpe_ratios), not
    # mean / 0 = inf: the selection takes the best varying column with a positive ratio
    study = run_study(spec(), bars, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    returns = study.returns.copy()
    noise = returns - returns.mean()
    returns["c00"] = 1e-4
    returns["c01"] = noise["c01"] + 1e-5
    for label in ("c02", "c03"):
        returns[label] = noise[label] - 1e-5
    expected = "c01"  # the only varying column of positive mean (so of positive ratio)
    assert (returns.mean() > 0).sum() == 2 and returns["c00"].nunique() == 1
    a = assess_study(dataclasses.replace(study, returns=returns), trial_log)
    assert a.selected == expected
