"""Walk-forward and CPCV splits: disjoint test windows, purging and embargo respected."""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.validation import (
    combinatorial_purged_splits,
    cpcv_paths,
    walk_forward_select,
    walk_forward_splits,
)
from crypto_strategy_lab.validation.splits import SplitError


@pytest.mark.parametrize("anchored", [False, True])
def test_walk_forward_folds_never_overlap_their_test_windows(anchored: bool) -> None:
    purge = 24
    splits = walk_forward_splits(1000, n_splits=5, anchored=anchored, purge=purge)
    assert len(splits) == 5
    seen: set[int] = set()
    for sp in splits:
        test = set(sp.test.tolist())
        assert not test & seen  # test windows are disjoint
        seen |= test
        assert sp.train.max() < sp.test.min() - purge  # purged gap before the test window
        assert not set(range(sp.test.min() - purge, sp.test.max() + 1)) & set(sp.train.tolist())
        assert np.all(np.diff(sp.test) == 1)
    assert max(seen) == 999
    sizes = [len(sp.train) for sp in splits]
    assert (sizes == sorted(sizes) and sizes[-1] > sizes[0]) if anchored else len(set(sizes)) == 1


def test_cpcv_purges_and_embargoes_around_every_test_group() -> None:
    n, groups, k, purge, embargo = 600, 6, 2, 10, 5
    splits = combinatorial_purged_splits(
        n, n_groups=groups, n_test_groups=k, purge=purge, embargo=embargo
    )
    assert len(splits) == comb(groups, k)
    bounds = [(g[0], g[-1]) for g in np.array_split(np.arange(n), groups)]
    for sp in splits:
        train = set(sp.train.tolist())
        assert not train & set(sp.test.tolist())
        for g in sp.test_groups:
            lo, hi = bounds[g]
            assert not train & set(range(lo - purge, lo))  # purged before
            assert not train & set(range(hi + 1, hi + 1 + embargo))  # embargoed after
        assert len(train) + len(sp.test) <= n
    paths = cpcv_paths(groups, k)
    assert paths.shape == (comb(groups, k) * k // groups, groups)  # 5 paths of 6 groups
    for path in paths:  # each path's group g comes from a split that tested g
        assert all(g in splits[s].test_groups for g, s in enumerate(path))


def test_walk_forward_selection_finds_a_planted_edge_out_of_sample(
    rng: np.random.Generator,
) -> None:
    idx = pd.date_range("2024-01-01", periods=2000, freq="1h", tz="UTC")
    x = pd.DataFrame(rng.normal(0, 0.01, (2000, 8)), index=idx)
    x[5] += 0.002
    res = walk_forward_select(x, walk_forward_splits(2000, n_splits=4, purge=10))
    assert (res.chosen == 5).all()
    assert len(res.oos_returns) == 4 * (2000 // 5)
    assert res.oos_returns.index.min() == idx[2000 - 4 * 400]
    assert res.oos_sharpe > 0.1


def test_split_errors() -> None:
    with pytest.raises(SplitError):
        walk_forward_splits(10, n_splits=5, purge=5)
    with pytest.raises(SplitError):
        combinatorial_purged_splits(100, n_groups=4, n_test_groups=4)
