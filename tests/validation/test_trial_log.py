"""The trial log records every trial and DSR reads n_trials and V[SR] from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.validation import deflated_sharpe_ratio, return_moments
from crypto_strategy_lab.validation.trial_log import TrialLog, TrialLogError, config_hash


@pytest.fixture
def log(tmp_path) -> TrialLog:
    return TrialLog(f"sqlite:///{tmp_path / 'journal.sqlite'}")


def _returns(rng: np.random.Generator, mu: float) -> pd.Series:
    idx = pd.date_range("2024-01-01", periods=500, freq="1h", tz="UTC")
    return pd.Series(rng.normal(mu, 0.01, 500), index=idx)


def test_every_trial_counts_in_the_deflated_sharpe_ratio(log: TrialLog, rng) -> None:
    srs = []
    for lag in range(1, 13):
        r = _returns(rng, 0.0002 * lag)
        row = log.record(study="s1", strategy="lag_autocorr", params={"lag": lag}, returns=r)
        srs.append(row.sr)
        assert row.n_obs == 500 and row.kurtosis == pytest.approx(return_moments(r).kurtosis)
    log.record(study="s1", strategy="vpin", params={"w": 1}, returns=_returns(rng, 0.0))
    assert log.trial_statistics("lag_autocorr") == (12, pytest.approx(np.var(srs, ddof=1)))
    best = _returns(rng, 0.002)
    m = return_moments(best)
    dsr = log.deflated_sharpe_ratio("lag_autocorr", best)
    assert dsr == pytest.approx(
        deflated_sharpe_ratio(m.sr, m.n_obs, m.skew, m.kurtosis, 12, np.var(srs, ddof=1))
    )
    # more trials (same V[SR]) can only deflate more
    assert dsr < deflated_sharpe_ratio(m.sr, m.n_obs, m.skew, m.kurtosis, 2, np.var(srs, ddof=1))
    frame = log.trials("lag_autocorr")
    assert list(frame["params"].iloc[:2]) == [{"lag": 1}, {"lag": 2}]
    assert frame["data_start"].iloc[0] == pd.Timestamp("2024-01-01").to_pydatetime()


def test_reruns_are_detected_and_duplicates_refused(log: TrialLog, rng) -> None:
    r = _returns(rng, 0.0)
    row = log.record(study="s", strategy="vpin", params={"window": 50}, returns=r)
    assert row.config_hash == config_hash("vpin", {"window": 50}, r.index[0], r.index[-1])
    assert log.has_trial("s", row.config_hash)
    assert not log.has_trial("other", row.config_hash)
    with pytest.raises(TrialLogError, match="already has trial"):
        log.record(study="s", strategy="vpin", params={"window": 50}, returns=r)
    with pytest.raises(TrialLogError, match="no trials"):
        log.deflated_sharpe_ratio("hurst_exponent", r)
