from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.validation import orthogonality_report
from crypto_strategy_lab.validation.orthogonality import OrthogonalityError


def test_correlated_pair_is_flagged_and_clustered(rng: np.random.Generator) -> None:
    base = rng.normal(size=3000)
    frame = pd.DataFrame(
        {
            "a": base + 0.3 * rng.normal(size=3000),  # corr(a, b) = 1 / 1.09 = 0.917
            "b": base + 0.3 * rng.normal(size=3000),
            "c": rng.normal(size=3000),
            "d": rng.normal(size=3000),
            "flat": np.zeros(3000),
        }
    )
    rep = orthogonality_report(frame, threshold=0.7)
    np.testing.assert_allclose(
        rep.correlation.loc["a", "b"], np.corrcoef(frame["a"], frame["b"])[0, 1]
    )
    assert rep.correlation.loc["a", "b"] == pytest.approx(0.917, abs=0.01)
    assert rep.flagged[["a", "b"]].values.tolist() == [["a", "b"]]
    assert rep.clusters["a"] == rep.clusters["b"]
    assert len({rep.clusters[k] for k in ("a", "c", "d", "flat")}) == 4
    assert rep.linkage.shape == (4, 4)
    assert rep.correlation.loc["flat", "c"] == 0.0


def test_needs_two_strategies() -> None:
    with pytest.raises(OrthogonalityError):
        orthogonality_report(pd.DataFrame({"a": [0.1, 0.2, 0.3]}))


def test_rarely_co_active_copies_of_one_signal_are_named(rng: np.random.Generator) -> None:
    """Two strategies trading the same signal, each active on an independent 5 % of bars:
    their correlation is ~0.05, but when both are active they agree on every bar."""
    from crypto_strategy_lab.validation.orthogonality import co_activity_report

    n = 40_000
    asset = pd.Series(rng.normal(0, 0.01, n))
    signal = np.sign(rng.normal(size=n))
    a = np.where(rng.random(n) < 0.05, signal, 0.0)
    b = np.where(rng.random(n) < 0.05, signal, 0.0)
    c = np.sign(rng.normal(size=n))  # an independent, always-active rule
    d = np.ones(n)  # buy and hold: the asset itself
    pos = pd.DataFrame({"a": a, "b": b, "c": c, "hold": d})
    rets = pos.mul(asset, axis=0)
    plain = orthogonality_report(rets)
    assert abs(plain.correlation.loc["a", "b"]) < 0.2 and plain.flagged.empty
    co = co_activity_report(rets, pos, asset)
    assert co.time_in_market["a"] == pytest.approx(0.05, abs=0.005)
    assert co.co_active.loc["a", "b"] == pytest.approx(0.0025, abs=0.001)
    assert co.agreement.loc["a", "b"] == 1.0
    assert co.conditional_correlation.loc["a", "b"] == pytest.approx(1.0)
    assert co.agreement.loc["a", "c"] == pytest.approx(0.5, abs=0.1)
    flagged = co.rarely_together.set_index(["a", "b"])
    assert flagged.loc[("a", "b"), "reason"] == "alike when co-active"
    assert ("a", "c") not in flagged.index
    # beta to the asset: buy and hold is the asset (beta 1), a random rule has none
    assert co.beta["hold"] == pytest.approx(1.0, abs=1e-9)
    assert co.asset_correlation["hold"] == pytest.approx(1.0, abs=1e-9)
    assert abs(co.beta["c"]) < 0.05
    # the conditional correlations reveal that a and b are one bet
    assert co.effective_bets_conditional < co.effective_bets


def test_participation_ratio_counts_independent_bets() -> None:
    from crypto_strategy_lab.validation.orthogonality import participation_ratio

    assert participation_ratio(np.eye(5)) == pytest.approx(5.0)
    assert participation_ratio(np.ones((4, 4))) == pytest.approx(1.0)
    two_blocks = np.kron(np.eye(2), np.ones((3, 3)))
    assert participation_ratio(two_blocks) == pytest.approx(2.0)
