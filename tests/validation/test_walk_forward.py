"""Walk-forward selection and its splits, checked against brute-force loops over the definitions.

The references below are written from the documented rules (one bar at a time, pure Python
``statistics``), not from the implementation's numpy expressions, so an off-by-one or a
swapped comparison in either shows up as a disagreement.
"""

from __future__ import annotations

import dataclasses
import statistics
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.validation import (
    combinatorial_purged_splits,
    walk_forward_select,
    walk_forward_splits,
)
from crypto_strategy_lab.validation.splits import Split, SplitError


def _sharpe(values: list[float]) -> float:
    """Per-period mean / sample std; -inf without variance (never preferred)."""
    sd = statistics.stdev(values)
    return statistics.fmean(values) / sd if sd > 0 else float("-inf")


def _select_by_loop(frame: pd.DataFrame, splits: list[Split]) -> tuple[dict, list]:
    chosen, record = {}, []
    for split in splits:
        scores = [_sharpe([frame.iloc[i, j] for i in split.train]) for j in range(frame.shape[1])]
        best = scores.index(max(scores))  # the first of tied maxima, as numpy.argmax
        chosen[split.fold] = frame.columns[best]
        record += [(frame.index[i], frame.iloc[i, best]) for i in split.test]
    return chosen, sorted(record)


def test_walk_forward_selection_equals_a_loop_over_folds(rng: np.random.Generator) -> None:
    n = 300
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    # drifts that change sign between regimes, so different folds choose different columns
    drift = np.where(np.arange(n)[:, None] < n // 2, [0.004, 0.0, -0.004], [-0.004, 0.0, 0.004])
    frame = pd.DataFrame(rng.normal(0, 0.01, (n, 3)) + drift, index=idx, columns=["a", "b", "c"])
    splits = walk_forward_splits(n, n_splits=4, purge=3)
    res = walk_forward_select(frame, splits)
    chosen, record = _select_by_loop(frame, splits)
    assert res.chosen.to_dict() == chosen
    assert len(set(chosen.values())) > 1  # the test exercises more than one winner
    assert list(res.oos_returns.index) == [t for t, _ in record]
    np.testing.assert_allclose(res.oos_returns.to_numpy(), [v for _, v in record], rtol=1e-15)
    assert res.oos_sharpe == pytest.approx(_sharpe([v for _, v in record]), rel=1e-12)
    with pytest.raises(dataclasses.FrozenInstanceError):  # a record is not rewritten later
        res.oos_sharpe = 0.0  # type: ignore[misc]


def test_the_choice_is_by_sharpe_ratio_not_by_mean_or_spread() -> None:
    # "steady" earns 0.002 a bar with spread 0.001 (Sharpe 2), "wild" 0.5 with spread 0.4
    # (Sharpe 1.25): by mean, mean +- spread or mean * spread "wild" would win
    z = np.array([1.0, -1.0] * 20)
    frame = pd.DataFrame({"wild": 0.5 + 0.4 * z, "steady": 0.002 + 0.001 * z})
    res = walk_forward_select(frame, walk_forward_splits(40, n_splits=1))
    assert (res.chosen == "steady").all()
    # a Sharpe ratio does not see the scale: the same choice with "steady" levered 1000x
    levered = frame.assign(steady=1000.0 * frame["steady"])
    assert (
        walk_forward_select(levered, walk_forward_splits(40, n_splits=1)).chosen == "steady"
    ).all()


def test_a_column_without_variance_is_never_preferred() -> None:
    # "flat" has the higher mean but no variance; numpy's std of its 20 training values is
    # 1.8e-18, not 0, so only an exact test on the values keeps it from a ratio of 5e15
    frame = pd.DataFrame({"flat": [0.01] * 40, "noisy": [0.0, 0.002] * 20})
    assert frame["flat"].iloc[:20].std(ddof=1) > 0  # the rounding this test is about
    res = walk_forward_select(frame, walk_forward_splits(40, n_splits=1))
    assert (res.chosen == "noisy").all()
    # with no variance anywhere the first column is taken, as argmax takes the first maximum
    res = walk_forward_select(frame.assign(noisy=0.0), walk_forward_splits(40, n_splits=1))
    assert (res.chosen == "flat").all()
    # not even to one that loses: a ratio below 0 still beats no variance
    losing = frame.assign(flat=0.0, noisy=-frame["noisy"])
    assert (
        walk_forward_select(losing, walk_forward_splits(40, n_splits=1)).chosen == "noisy"
    ).all()


def test_walk_forward_selection_rejects_missing_or_out_of_range_splits() -> None:
    frame = pd.DataFrame({"a": np.linspace(-0.01, 0.01, 12), "b": np.linspace(0.01, 0.0, 12)})
    with pytest.raises(SplitError):
        walk_forward_select(frame, [])
    last = Split(0, np.arange(0, 8), np.arange(8, 12))  # ends on the last row: valid
    assert len(walk_forward_select(frame, [last]).oos_returns) == 4
    for stop in (13, 20):  # one row beyond the matrix, and several
        with pytest.raises(SplitError):
            walk_forward_select(frame, [Split(0, np.arange(0, 8), np.arange(9, stop))])


@pytest.mark.parametrize(
    ("n_obs", "n_splits", "test_size", "train_size", "anchored", "purge"),
    [
        (100, 5, None, None, False, 0),
        (100, 5, None, None, True, 4),
        (103, 3, 20, 30, False, 2),
        (103, 3, 20, 30, True, 2),
        (50, 1, None, None, False, 0),
    ],
)
def test_walk_forward_splits_follow_their_definition(
    n_obs: int,
    n_splits: int,
    test_size: int | None,
    train_size: int | None,
    anchored: bool,
    purge: int,
) -> None:
    splits = walk_forward_splits(
        n_obs,
        n_splits=n_splits,
        test_size=test_size,
        train_size=train_size,
        anchored=anchored,
        purge=purge,
    )
    size = test_size or n_obs // (n_splits + 1)
    tested = [i for sp in splits for i in sp.test]
    # consecutive disjoint windows of `size` that end on the last observation
    assert tested == list(range(n_obs - n_splits * size, n_obs))
    first_test = n_obs - n_splits * size
    window = train_size or first_test - purge
    for k, sp in enumerate(splits):
        assert sp.fold == k
        assert list(sp.test) == list(range(first_test + k * size, first_test + (k + 1) * size))
        end = sp.test[0] - purge  # the purged observations sit just before the test window
        start = 0 if anchored else end - window
        assert list(sp.train) == list(range(start, end))


def test_walk_forward_split_bounds_are_inclusive() -> None:
    # 10 observations, 2 windows of 3: the first test bar is 4, so purge 2 leaves 2 to train on
    assert len(walk_forward_splits(10, n_splits=2, test_size=3, purge=2)[0].train) == 2
    with pytest.raises(SplitError):
        walk_forward_splits(10, n_splits=2, test_size=3, purge=3)
    assert len(walk_forward_splits(10, n_splits=2, test_size=3, train_size=2)[0].train) == 2
    assert len(walk_forward_splits(10, n_splits=2, test_size=3, train_size=4)[0].train) == 4
    for bad in (1, 5):
        with pytest.raises(SplitError):
            walk_forward_splits(10, n_splits=2, test_size=3, train_size=bad)
    with pytest.raises(SplitError):
        walk_forward_splits(10, n_splits=0)
    with pytest.raises(SplitError):
        walk_forward_splits(3, n_splits=5)  # a test window of 0 observations


def _cpcv_by_definition(
    n_obs: int, n_groups: int, k: int, purge: int, embargo: int
) -> list[tuple[tuple[int, ...], list[int], list[int]]]:
    """(test groups, test, train) of every split, observation by observation."""
    # group g holds the observations numpy.array_split gives it: the first n_obs % n_groups
    # groups are one longer
    base, extra = divmod(n_obs, n_groups)
    bounds, lo = [], 0
    for g in range(n_groups):
        hi = lo + base + (g < extra)
        bounds.append((lo, hi))
        lo = hi
    out = []
    for combo in combinations(range(n_groups), k):
        tested = [i for g in combo for i in range(*bounds[g])]
        dropped = {
            i
            for g in combo
            for i in range(bounds[g][0] - purge, bounds[g][1] + embargo)
            if 0 <= i < n_obs
        }
        out.append((combo, tested, [i for i in range(n_obs) if i not in dropped]))
    return out


@pytest.mark.parametrize(
    ("n_obs", "n_groups", "k", "purge", "embargo"),
    [(60, 6, 2, 3, 2), (61, 5, 1, 0, 0), (50, 5, 3, 2, 1), (24, 12, 11, 0, 0)],
)
def test_cpcv_splits_follow_their_definition(
    n_obs: int, n_groups: int, k: int, purge: int, embargo: int
) -> None:
    splits = combinatorial_purged_splits(
        n_obs, n_groups=n_groups, n_test_groups=k, purge=purge, embargo=embargo
    )
    expected = _cpcv_by_definition(n_obs, n_groups, k, purge, embargo)
    assert [sp.fold for sp in splits] == list(range(len(expected)))
    got = [(sp.test_groups, list(sp.test), list(sp.train)) for sp in splits]
    assert got == expected


def test_the_documented_defaults() -> None:
    # CPCV: 6 groups, 2 tested, no purge, no embargo
    splits = combinatorial_purged_splits(60)
    got = [(sp.test_groups, list(sp.test), list(sp.train)) for sp in splits]
    assert got == _cpcv_by_definition(60, 6, 2, 0, 0)
    # walk-forward: 5 rolling windows of n // 6, trained on everything before the first
    # test window, no purge
    for k, sp in enumerate(walk_forward_splits(60)):
        assert list(sp.test) == list(range(10 + 10 * k, 20 + 10 * k))
        assert list(sp.train) == list(range(10 * k, 10 + 10 * k))


def test_cpcv_bounds_are_inclusive() -> None:
    assert len(combinatorial_purged_splits(8, n_groups=4, n_test_groups=1)) == 4  # 2 per group
    assert len(combinatorial_purged_splits(8, n_groups=4, n_test_groups=3)) == 4
    for n_obs, groups, k in [(7, 4, 1), (8, 4, 0), (8, 4, 4)]:
        with pytest.raises(SplitError):
            combinatorial_purged_splits(n_obs, n_groups=groups, n_test_groups=k)
    # testing group 0 of four (observations 0, 1) with an embargo of 4 leaves observations
    # 6 and 7 to train on; an embargo of 5 leaves only one
    split = combinatorial_purged_splits(8, n_groups=4, n_test_groups=1, embargo=4)[0]
    assert list(split.train) == [6, 7]
    with pytest.raises(SplitError):
        combinatorial_purged_splits(8, n_groups=4, n_test_groups=1, embargo=5)
