"""The trial log records every trial and DSR reads n_trials and V[SR] from it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.journal.audit import verify_audit_chain
from crypto_strategy_lab.validation import deflated_sharpe_ratio, return_moments
from crypto_strategy_lab.validation.trial_log import (
    DataIdentity,
    TrialLog,
    TrialLogError,
    trial_identity,
)


@pytest.fixture
def log(tmp_path) -> TrialLog:
    return TrialLog(f"sqlite:///{tmp_path / 'journal.sqlite'}")


def _returns(rng: np.random.Generator, mu: float) -> pd.Series:
    idx = pd.date_range("2024-01-01", periods=500, freq="1h", tz="UTC")
    return pd.Series(rng.normal(mu, 0.01, 500), index=idx)


def test_every_trial_counts_in_the_deflated_sharpe_ratio(log: TrialLog, rng) -> None:
    data = DataIdentity("h" * 64, "fam", "1h", 8760.0, "h")
    srs = []
    for lag in range(1, 13):
        r = _returns(rng, 0.0002 * lag)
        row = log.record(
            study="s1", strategy="lag_autocorr", params={"lag": lag}, returns=r, data=data
        )
        srs.append(row.sr)
        assert row.n_obs == 500 and row.kurtosis == pytest.approx(return_moments(r).kurtosis)
    vpin = log.record(
        study="s1", strategy="vpin", params={"w": 1}, returns=_returns(rng, 0.0), data=data
    )
    srs.append(vpin.sr)  # the family's other strategy counts too (one bar size: no rescaling)
    stats = log.trial_statistics("lag_autocorr", 8760.0)
    assert stats == (13, pytest.approx(np.var(srs, ddof=1), rel=1e-12))
    best = _returns(rng, 0.002)
    m = return_moments(best)
    dsr = log.deflated_sharpe_ratio("lag_autocorr", best, periods_per_year=8760.0)
    assert dsr == pytest.approx(
        deflated_sharpe_ratio(m.sr, m.n_obs, m.skew, m.kurtosis, 13, np.var(srs, ddof=1))
    )
    # more trials (same V[SR]) can only deflate more
    assert dsr < deflated_sharpe_ratio(m.sr, m.n_obs, m.skew, m.kurtosis, 2, np.var(srs, ddof=1))
    frame = log.trials("lag_autocorr")
    assert list(frame["params"].iloc[:2]) == [{"lag": 1}, {"lag": 2}]
    assert frame["data_start"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime()


def test_reruns_are_detected_and_duplicates_refused(log: TrialLog, rng) -> None:
    r = _returns(rng, 0.0)
    data = DataIdentity("f" * 64, "f" * 64, "1h", 8760.0, "x")
    row = log.record(study="s", strategy="vpin", params={"window": 50}, returns=r, data=data)
    assert row.config_hash == trial_identity("vpin", {"window": 50}, None, data)
    assert log.has_trial(row.config_hash)
    # the same configuration under another study name is the same trial
    with pytest.raises(TrialLogError, match="already logged"):
        log.record(study="other", strategy="vpin", params={"window": 50}, returns=r, data=data)
    with pytest.raises(TrialLogError, match="no trials"):
        log.deflated_sharpe_ratio("hurst_exponent", r, periods_per_year=8760.0)
    assert verify_audit_chain(log.engine).ok


def test_identity_covers_every_input() -> None:
    data = DataIdentity("a" * 64, "fam", "1h", 8760.0)

    def ident(strategy="vpin", params=None, stop=0.02, d=data, code="code1") -> str:
        return trial_identity(strategy, params or {"w": 1}, {"stop_loss": stop}, d, code)

    base = ident()
    variants = [
        ident(d=DataIdentity("b" * 64, "fam", "1h", 8760.0)),
        ident(d=DataIdentity("a" * 64, "fam", "4h", 2190.0)),
        ident(strategy="hurst"),
        ident(params={"w": 2}),
        ident(stop=0.03),
        ident(code="code2"),
    ]
    assert base not in variants and len(set(variants)) == len(variants)
    # the family and the name are not part of the identity: the content is
    assert ident(d=DataIdentity("a" * 64, "other", "1h", 8760.0, "copy.parquet")) == base


def test_family_deflation_pools_strategies_and_timeframes(log: TrialLog, rng) -> None:
    """V[SR] is taken over annualised SRs, then expressed per bar of the selected trial."""
    hourly = DataIdentity("h" * 64, "fam", "1h", 8760.0, "h")
    daily = DataIdentity("d" * 64, "fam", "1d", 365.0, "d")
    other = DataIdentity("o" * 64, "elsewhere", "1h", 8760.0, "o")
    annual = []
    for k in range(4):
        row = log.record(
            study="a",
            strategy="vpin",
            params={"k": k},
            returns=_returns(rng, 1e-4 * k),
            data=hourly,
        )
        annual.append(row.sr * np.sqrt(8760.0))
    for k in range(3):
        row = log.record(
            study="b",
            strategy="hurst",
            params={"k": k},
            returns=_returns(rng, 2e-4 * k),
            data=daily,
        )
        annual.append(row.sr * np.sqrt(365.0))
    log.record(study="c", strategy="vpin", params={"k": 9}, returns=_returns(rng, 0.0), data=other)
    d = log.deflation(["fam"], "vpin", 8760.0)
    assert (d.n_trials, d.strategy_trials, d.n_strategies) == (7, 4, 2)
    assert d.timeframes == ("1d", "1h")
    assert d.sr_variance == pytest.approx(np.var(annual, ddof=1) / 8760.0, rel=1e-12)
    # a multi-asset search counts every asset's family
    assert log.deflation(["fam", "elsewhere"], "vpin", 8760.0).n_trials == 8


def test_one_strategy_gets_one_dsr_whichever_path_asks(log: TrialLog, rng) -> None:
    """trial_statistics / deflated_sharpe_ratio deflate as the gate's deflation() does: the
    strategy's data families, SRs of mixed bar sizes rescaled to the selected bar size."""
    hourly = DataIdentity("h" * 64, "fam", "1h", 8760.0, "h")
    daily = DataIdentity("d" * 64, "fam", "1d", 365.0, "d")
    annual = []
    for k in range(4):
        for data, ppy in ((hourly, 8760.0), (daily, 365.0)):
            row = log.record(
                study="a",
                strategy="vpin",
                params={"k": k},
                returns=_returns(rng, 1e-4 * k),
                data=data,
            )
            annual.append(row.sr * np.sqrt(ppy))
    log.record(study="b", strategy="hurst", params={"k": 0}, returns=_returns(rng, 0.0), data=daily)
    annual.append(log.trials("hurst")["sr"].iloc[0] * np.sqrt(365.0))
    expected_variance = np.var(annual, ddof=1) / 8760.0  # the independent closed form
    gate = log.deflation(["fam"], "vpin", 8760.0)
    assert gate.sr_variance == pytest.approx(expected_variance, rel=1e-12)
    assert log.trial_statistics("vpin", 8760.0) == (9, pytest.approx(expected_variance, rel=1e-12))
    best = _returns(rng, 0.002)
    m = return_moments(best)
    assert log.deflated_sharpe_ratio("vpin", best, periods_per_year=8760.0) == pytest.approx(
        deflated_sharpe_ratio(m.sr, m.n_obs, m.skew, m.kurtosis, 9, expected_variance)
    )
