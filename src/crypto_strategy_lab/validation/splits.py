"""Walk-forward and combinatorial purged cross-validation splits (purging and embargo).

Observations are bars ``0 .. n_obs-1``. A strategy's position at bar ``t`` depends on a
trailing window and earns returns over the next bars, so training observations next to a
test window share information with it (López de Prado 2018, *Advances in Financial Machine
Learning*, ch. 7):

* **purge** ``p``: the ``p`` training observations immediately *before* each test window are
  dropped (their labels / holding periods reach into the test window);
* **embargo** ``e``: the ``e`` training observations immediately *after* each test window are
  dropped (their look-back windows still see the test window's bars).

Walk-forward (chapter 11, "the WF method"): test windows are consecutive and disjoint; train is
everything before the test window (``anchored=True``) or a trailing window of fixed size
(``anchored=False``, rolling), minus the purge. Training data never follow a test window, so
the embargo matters only to CPCV.

CPCV (chapter 12): the bars are cut into ``n_groups`` contiguous groups; each of the
C(n_groups, k) splits tests on k groups and trains on the others (purged and embargoed);
:func:`cpcv_paths` recombines the test groups into ``k/n_groups * C(n_groups, k)`` full
backtest paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from crypto_strategy_lab.core.errors import CSLError


class SplitError(CSLError):
    """Split parameters that do not fit the number of observations."""


@dataclass(frozen=True)
class Split:
    """Integer positions of one fold's training and test observations (sorted)."""

    fold: int
    train: np.ndarray
    test: np.ndarray
    test_groups: tuple[int, ...] = ()


def walk_forward_splits(
    n_obs: int,
    *,
    n_splits: int = 5,
    test_size: int | None = None,
    train_size: int | None = None,
    anchored: bool = False,
    purge: int = 0,
) -> list[Split]:
    """Consecutive out-of-sample windows at the end of the sample, each trained on its past.

    Parameters
    ----------
    n_obs : int
        Number of observations.
    n_splits : int, default 5
        Number of test windows.
    test_size : int, optional
        Length of each test window (default ``n_obs // (n_splits + 1)``).
    train_size : int, optional
        Rolling window length (default: everything before the first test window, minus the
        purge); ignored when `anchored`.
    anchored : bool, default False
        Expanding training window from observation 0 instead of a rolling one.
    purge : int, default 0
        Observations dropped from the end of each training window.

    Returns
    -------
    list of Split
        `n_splits` folds; the test windows are consecutive, disjoint and end at the last
        observation (the first ``n_obs - n_splits * test_size`` observations are never
        tested).

    Raises
    ------
    SplitError
        If ``n_splits < 1``, the test windows leave fewer than 2 training observations, or
        `train_size` is outside ``[2, first_test - purge]``.

    References
    ----------
    López de Prado, M. (2018). *Advances in Financial Machine Learning*. Wiley, ch. 7 and 11.
    """
    if n_splits < 1:
        raise SplitError(f"n_splits must be >= 1, got {n_splits}")
    test_size = test_size or n_obs // (n_splits + 1)
    first_test = n_obs - n_splits * test_size
    if test_size < 1 or first_test - purge < 2:
        raise SplitError(
            f"{n_obs} observations cannot hold {n_splits} test windows of {test_size} after a "
            f"training window (purge {purge})"
        )
    train_size = train_size or first_test - purge
    if train_size < 2 or train_size > first_test - purge:
        raise SplitError(f"train_size must be in [2, {first_test - purge}], got {train_size}")
    out = []
    for k in range(n_splits):
        start = first_test + k * test_size
        stop_train = start - purge
        begin = 0 if anchored else stop_train - train_size
        out.append(Split(k, np.arange(begin, stop_train), np.arange(start, start + test_size)))
    return out


def _groups(n_obs: int, n_groups: int) -> list[np.ndarray]:
    return np.array_split(np.arange(n_obs), n_groups)


def combinatorial_purged_splits(
    n_obs: int, *, n_groups: int = 6, n_test_groups: int = 2, purge: int = 0, embargo: int = 0
) -> list[Split]:
    """All C(n_groups, n_test_groups) CPCV splits with purging and embargo.

    Parameters
    ----------
    n_obs : int
        Number of observations; at least ``2 * n_groups``.
    n_groups : int, default 6
        Contiguous groups the observations are cut into (:func:`numpy.array_split`).
    n_test_groups : int, default 2
        Groups tested in each split, in ``[1, n_groups)``.
    purge : int, default 0
        Training observations dropped immediately before each test group.
    embargo : int, default 0
        Training observations dropped immediately after each test group.

    Returns
    -------
    list of Split
        One split per combination of test groups, in :func:`itertools.combinations` order,
        with ``test_groups`` set.

    Raises
    ------
    SplitError
        If the group counts are inconsistent, `n_obs` is too small, or purge and embargo
        leave fewer than 2 training observations.

    References
    ----------
    López de Prado, M. (2018). *Advances in Financial Machine Learning*. Wiley, ch. 12.
    """
    if not 1 <= n_test_groups < n_groups:
        raise SplitError(f"need 1 <= n_test_groups < n_groups, got {n_test_groups} and {n_groups}")
    if n_obs < 2 * n_groups:
        raise SplitError(f"{n_obs} observations are too few for {n_groups} groups")
    groups = _groups(n_obs, n_groups)
    out = []
    for k, combo in enumerate(combinations(range(n_groups), n_test_groups)):
        test = np.concatenate([groups[g] for g in combo])
        keep = np.ones(n_obs, dtype=bool)
        for g in combo:
            lo, hi = groups[g][0], groups[g][-1]
            keep[max(lo - purge, 0) : min(hi + 1 + embargo, n_obs)] = False
        train = np.flatnonzero(keep)
        if train.size < 2:
            raise SplitError("purge and embargo leave no training observations")
        out.append(Split(k, train, test, tuple(combo)))
    return out


def cpcv_paths(n_groups: int, n_test_groups: int) -> np.ndarray:
    """Which split supplies each group of each CPCV backtest path.

    Parameters
    ----------
    n_groups : int
        Number of groups, as in :func:`combinatorial_purged_splits`.
    n_test_groups : int
        Number of test groups per split.

    Returns
    -------
    numpy.ndarray
        ``(n_paths, n_groups)`` integers: path ``j`` takes group ``g``'s out-of-sample
        returns from split ``paths[j, g]`` (splits numbered as in
        :func:`combinatorial_purged_splits`), with ``n_paths = n_test_groups / n_groups *
        C(n_groups, n_test_groups) = C(n_groups - 1, n_test_groups - 1)``.

    References
    ----------
    López de Prado, M. (2018). *Advances in Financial Machine Learning*. Wiley, ch. 12.
    """
    combos = list(combinations(range(n_groups), n_test_groups))
    per_group = [[i for i, c in enumerate(combos) if g in c] for g in range(n_groups)]
    n_paths = len(per_group[0])
    return np.array([[per_group[g][j] for g in range(n_groups)] for j in range(n_paths)])
