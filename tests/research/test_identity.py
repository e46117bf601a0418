"""Trial identity on real data: copies share trials, resamplings share a family, ETH never
reuses BTC's results, and every trial and verdict is inside the audit chain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.journal.audit import verify_audit_chain
from crypto_strategy_lab.research.assessment import assess_study
from crypto_strategy_lab.research.identity import bars_fingerprint, identify_data
from crypto_strategy_lab.research.inputs import file_data
from crypto_strategy_lab.research.study import StudySpec, run_study
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.validation.sharpe import deflated_sharpe_ratio
from tests.conftest import shared_file

SPACE = {"window": [40, 80], "lag": [1, 2, 3]}  # six configurations
N_BARS = 10_000  # ~35 days of 5 m bars


def real_5m(name: str) -> pd.DataFrame:
    raw = pd.read_parquet(shared_file(name)).iloc[:N_BARS]
    raw.index = pd.to_datetime(raw.pop("timestamp"), unit="ms", utc=True)
    raw.index.name = "timestamp"
    return raw


@pytest.fixture(scope="module")
def btc() -> pd.DataFrame:
    return real_5m("btcusdt_binance_spot_5m_20201201_20210717.parquet")


@pytest.fixture(scope="module")
def eth() -> pd.DataFrame:
    return real_5m("ethusdt_binance_spot_5m_20201201_20210717.parquet")


def resample(bars: pd.DataFrame, rule: str) -> pd.DataFrame:
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    return bars.resample(rule, label="left", closed="left").agg(agg).dropna()


def spec(name: str, dataset: str, space=SPACE, strategy: str = "lag_autocorr") -> StudySpec:
    return StudySpec.from_space(name, strategy, space, symbol=dataset)


def test_copies_share_trials_and_reruns_add_none(btc, trial_log, inline, tmp_path):
    first_path, copy_path = tmp_path / "btc.parquet", tmp_path / "renamed-copy.parquet"
    btc.to_parquet(first_path)
    btc.to_parquet(copy_path)
    a, b = file_data(first_path), file_data(copy_path)
    assert a.name != b.name and bars_fingerprint(a.bars) == bars_fingerprint(b.bars)
    run = {"trial_log": trial_log, "executor": inline, "cache_dir": tmp_path / "cache"}
    first = run_study(spec("lab:lag_autocorr", a.name), a.bars, **run)
    assert first.new_trials == 6
    copy = run_study(spec("lab:lag_autocorr", b.name), b.bars, **run)
    assert copy.new_trials == 0 and len(trial_log.trials()) == 6
    # the same six configurations under a second study name are still six trials
    renamed = run_study(spec("my-second-study", a.name), a.bars, **run)
    assert renamed.new_trials == 0 and len(trial_log.trials()) == 6
    pd.testing.assert_frame_equal(first.returns, renamed.returns)
    assert assess_study(renamed, trial_log).n_trials == 6
    # one new configuration adds exactly one trial
    more = run_study(spec("s", a.name, {"window": [40, 80, 120], "lag": [1]}), a.bars, **run)
    assert more.new_trials == 1 and len(trial_log.trials()) == 7
    assert verify_audit_chain(trial_log.engine).ok


def test_resampled_bars_are_one_family_and_other_assets_are_not(btc, eth, trial_log):
    hourly, daily = resample(btc, "1h"), resample(btc, "1D")
    five = identify_data(btc, "btc 5m", trial_log)
    one_h = identify_data(hourly, "btc 1h", trial_log)
    one_d = identify_data(daily, "btc 1d", trial_log)
    part = identify_data(hourly.iloc[: len(hourly) * 3 // 4], "btc 1h, first 3/4", trial_log)
    ether = identify_data(eth, "eth 5m", trial_log)
    assert len({five.fingerprint, one_h.fingerprint, one_d.fingerprint}) == 3
    assert five.family == one_h.family == one_d.family == part.family
    assert (five.timeframe, one_h.timeframe, one_d.timeframe) == ("5m", "1h", "1d")
    assert ether.family != five.family
    assert btc.index.equals(eth.index)  # same timestamps, other market
    names = set(trial_log.datasets(five.family)["name"])
    assert names == {"btc 5m", "btc 1h", "btc 1d", "btc 1h, first 3/4"}


def test_eth_never_reuses_btc_results(btc, eth, trial_log, inline, tmp_path):
    run = {"trial_log": trial_log, "executor": inline, "cache_dir": tmp_path / "cache"}
    hourly_btc, hourly_eth = resample(btc, "1h"), resample(eth, "1h")
    on_btc = run_study(spec("lab:lag_autocorr", "BTC"), hourly_btc, **run)
    on_eth = run_study(spec("lab:lag_autocorr", "ETH"), hourly_eth, **run)
    assert on_eth.new_trials == 6 and len(trial_log.trials()) == 12
    assert not np.allclose(on_btc.returns.to_numpy(), on_eth.returns.to_numpy())
    for label, row in on_eth.trials.iterrows():
        strategy = get_strategy("lag_autocorr", row["params"])
        direct = run_backtest(strategy, hourly_eth, **on_eth.spec.settings.backtest_kwargs())
        np.testing.assert_array_equal(
            on_eth.returns[label].to_numpy(), direct.returns.to_numpy()[-len(on_eth.returns) :]
        )
    # each asset is its own family: ETH's DSR is deflated by ETH's trials only
    assert assess_study(on_eth, trial_log).n_trials == 6


def test_family_n_enters_the_dsr(btc, trial_log, inline, tmp_path):
    """Strategies and timeframes tried on one market all deflate its best Sharpe ratio."""
    run = {"trial_log": trial_log, "executor": inline, "cache_dir": tmp_path / "cache"}
    hourly, two_h = resample(btc, "1h"), resample(btc, "2h")
    lag = run_study(spec("a", "btc 1h"), hourly, **run)
    alone = assess_study(lag, trial_log)
    assert alone.n_trials == 6
    run_study(spec("b", "btc 2h", {"window": [20, 30], "lag": [1, 2]}), two_h, **run)
    run_study(spec("c", "btc 1h", {"window": [50, 100]}, "drift_significance"), hourly, **run)
    a = assess_study(lag, trial_log)
    d = a.deflation
    assert (d.n_trials, d.strategy_trials, d.n_strategies) == (12, 10, 2)
    assert d.timeframes == ("1h", "2h")
    frame = trial_log.trials(family=lag.data.family)
    annual = frame["sr"] * np.sqrt(frame["periods_per_year"])
    variance = np.var(annual, ddof=1) / lag.periods_per_year
    assert a.sr_variance == pytest.approx(variance, rel=1e-12)
    m = a.moments
    expected = deflated_sharpe_ratio(m.sr, m.n_obs, m.skew, m.kurtosis, 12, variance)
    assert a.criterion("dsr") == pytest.approx(expected, rel=1e-12)
    assert a.criterion("dsr") <= alone.criterion("dsr") or a.sr_variance < alone.sr_variance
    dsr_detail = next(c.detail for c in a.verdict.criteria if c.name == "dsr")
    assert "deflated by 12 trials of 2 strategies" in dsr_detail


def test_a_trial_inserted_by_hand_fails_verification(btc, trial_log, inline, tmp_path):
    hourly = resample(btc, "1h")
    run_study(spec("a", "btc"), hourly, trial_log=trial_log, executor=inline, cache_dir=tmp_path)
    assert verify_audit_chain(trial_log.engine).ok
    with trial_log.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO trials (study, strategy, params, symbol, data_start, data_end, "
                "config_hash, sr, n_obs, skew, kurtosis, created_at) VALUES ('x', "
                "'lag_autocorr', '{}', 'btc', '2020-12-01', '2020-12-28', 'forged', -0.5, "
                "600, 0, 3, '2020-12-28')"
            )
        )
    report = verify_audit_chain(trial_log.engine)
    assert not report.ok and any("trials" in p for p in report.problems)


def test_a_multi_asset_search_deflates_by_every_asset(btc, eth, trial_log, inline, tmp_path):
    """Picking the best of BTC and ETH is one search: each DSR counts both assets' trials."""
    run = {"trial_log": trial_log, "executor": inline, "cache_dir": tmp_path / "cache"}
    on_btc = run_study(spec("a", "BTC"), resample(btc, "1h"), **run)
    on_eth = run_study(spec("a", "ETH"), resample(eth, "1h"), **run)
    families = (on_btc.data.family, on_eth.data.family)
    for study in (on_btc, on_eth):
        a = assess_study(study, trial_log, families=families)
        assert a.n_trials == 12 and a.deflation.strategy_trials == 12
        assert set(a.deflation.datasets) == {"BTC", "ETH"}
