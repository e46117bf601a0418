"""Walk-forward selection: choose the best configuration in-sample, record it out-of-sample.

Given the ``(T, N)`` returns of N configurations (e.g. from
:func:`crypto_strategy_lab.backtest.run_backtest_sweep`) and walk-forward splits, each fold
picks the configuration with the highest per-period Sharpe ratio on its training rows and
keeps that configuration's returns on the test rows. The concatenated test returns are the
strategy's honest out-of-sample record: the selection never saw them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crypto_strategy_lab.performance.metrics import sharpe_ratio
from crypto_strategy_lab.validation.splits import Split, SplitError


@dataclass(frozen=True)
class WalkForwardResult:
    """The out-of-sample record of walk-forward selection.

    Attributes
    ----------
    oos_returns : pandas.Series
        Returns on the test windows only, in time order.
    chosen : pandas.Series
        Column label of the configuration chosen in each fold (indexed by fold).
    oos_sharpe : float
        Per-period Sharpe ratio of `oos_returns`.
    """

    oos_returns: pd.Series
    chosen: pd.Series  # fold -> column label
    oos_sharpe: float


def _column_sharpes(block: np.ndarray) -> np.ndarray:
    # "without variance" is tested on the values, as in metrics.sharpe_ratios: the
    # floating-point std of identical values can be 1e-18 rather than 0, which would give a
    # constant column a ratio of 1e15 and make it the winner
    constant = np.ptp(block, axis=0) == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(constant, -np.inf, block.mean(axis=0) / block.std(axis=0, ddof=1))


def walk_forward_select(returns_matrix: pd.DataFrame, splits: list[Split]) -> WalkForwardResult:
    """In-sample selection by Sharpe ratio, out-of-sample evaluation, fold by fold.

    Parameters
    ----------
    returns_matrix : pandas.DataFrame
        ``(T, N)`` per-period returns of N configurations, one column each.
    splits : list of Split
        Folds over the rows of `returns_matrix` (e.g. :func:`walk_forward_splits`).

    Returns
    -------
    WalkForwardResult
        The concatenated test-window returns of each fold's in-sample winner, the winners
        and the out-of-sample per-period Sharpe ratio.

    Raises
    ------
    SplitError
        If `splits` is empty or refers to rows beyond the matrix.

    Notes
    -----
    Each fold picks the column with the highest per-period Sharpe ratio (ddof 1) on its
    training rows; a column without variance there is never preferred to one with variance.
    """
    if not splits:
        raise SplitError("walk-forward needs at least one split")
    data = returns_matrix.to_numpy(dtype=float)
    pieces = []
    chosen = {}
    for split in splits:
        if split.test.max() >= len(data):
            raise SplitError("a split refers to rows beyond the returns matrix")
        best = int(np.argmax(_column_sharpes(data[split.train])))
        chosen[split.fold] = returns_matrix.columns[best]
        pieces.append(pd.Series(data[split.test, best], index=returns_matrix.index[split.test]))
    oos = pd.concat(pieces).sort_index().rename("oos_returns")
    return WalkForwardResult(oos, pd.Series(chosen, name="chosen"), sharpe_ratio(oos))
