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
