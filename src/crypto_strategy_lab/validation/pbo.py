"""Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

Bailey, Borwein, López de Prado & Zhu (2017), "The Probability of Backtest Overfitting",
J. of Computational Finance 20(4). Given the ``(T, N)`` matrix of N configurations' returns:

1. split the T rows into S (even) contiguous blocks of equal size (the last ``T mod S`` rows
   are dropped);
2. for each of the C(S, S/2) ways to pick S/2 blocks as in-sample (IS; the rest out-of-sample,
   OOS), find the configuration with the best IS per-period Sharpe ratio;
3. rank all N configurations by OOS Sharpe (1 = worst ... N = best, ties averaged) and take
   the IS winner's relative rank ``w = rank / (N + 1)`` and its logit ``l = ln(w / (1 - w))``;
4. PBO is the share of splits with ``l <= 0`` (the IS winner is at or below the OOS median).

The IS winner's in-sample and out-of-sample Sharpe ratios are kept per split too: the paper's
"performance degradation" is the regression of the second on the first, and its "probability
of loss" the share of splits with a negative OOS Sharpe ratio.

Sums and sums of squares are accumulated per block once, so every split costs O(N).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations
from typing import NamedTuple

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from crypto_strategy_lab.core.errors import CSLError


class PBOError(CSLError):
    """A returns matrix or split count that CSCV cannot use."""


class PBOResult(NamedTuple):
    """PBO and the distribution it summarises (one entry per CSCV split).

    Attributes
    ----------
    pbo : float
        Share of splits with logit <= 0.
    logits : numpy.ndarray
        ``ln(w / (1 - w))`` of the in-sample winner's relative OOS rank ``w``, per split.
    is_best : numpy.ndarray
        Column index of the in-sample winner, per split.
    oos_rank : numpy.ndarray
        Its out-of-sample rank (1 = worst, N = best, ties averaged).
    is_sharpe, oos_sharpe : numpy.ndarray
        Its in-sample and out-of-sample per-period Sharpe ratios (ddof 1).
    """

    pbo: float
    logits: np.ndarray
    is_best: np.ndarray  # index of the in-sample winner per split
    oos_rank: np.ndarray  # its OOS rank (1 = worst)
    is_sharpe: np.ndarray  # its in-sample per-period Sharpe ratio (ddof=1)
    oos_sharpe: np.ndarray  # its out-of-sample per-period Sharpe ratio (ddof=1)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """The loaded BLAS libraries, found once (listing them costs milliseconds)."""
    return ThreadpoolController()


@lru_cache(maxsize=8)
def _in_sample_selector(n_splits: int) -> np.ndarray:
    """``(C(S, S/2), S)`` 0/1 matrix: row i marks the in-sample blocks of split i."""
    combos = np.array(list(combinations(range(n_splits), n_splits // 2)))
    sel = np.zeros((len(combos), n_splits))
    np.put_along_axis(sel, combos, 1.0, axis=1)
    sel.setflags(write=False)
    return sel


def _sharpes(s1: np.ndarray, s2: np.ndarray, count: int) -> np.ndarray:
    """Per-period Sharpe ratios (ddof=1) from sums and sums of squares over ``count`` rows."""
    mean = s1 / count
    var = (s2 - count * mean * mean) / (count - 1)
    # s2 - count * mean**2 cancels: for a constant column both terms are count * mean**2 and
    # their rounding errors (up to count * eps * mean**2 between them) leave a variance of
    # that order instead of 0, which gave a constant 0.1 a Sharpe ratio of 8e7. A variance
    # within that error is no variance: only a per-period Sharpe ratio above
    # 1 / sqrt(count * eps) (1e6 for 2,000 rows) is lost with it.
    noise = count * np.finfo(float).eps * mean * mean
    sd = np.sqrt(np.where(var > noise, var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, mean / sd, 0.0)


def pbo_logits(returns_matrix: pd.DataFrame | np.ndarray, n_splits: int = 16) -> PBOResult:
    """The CSCV logit distribution and PBO (see module docstring).

    Parameters
    ----------
    returns_matrix : pandas.DataFrame or numpy.ndarray
        ``(T, N)`` per-period returns of N >= 2 configurations over the same T bars; finite.
    n_splits : int, default 16
        ``S``, the even number of contiguous blocks (C(16, 8) = 12,870 splits). The last
        ``T mod S`` rows are dropped.

    Returns
    -------
    PBOResult
        PBO and, per split, the logit, the in-sample winner, its OOS rank and its in- and
        out-of-sample Sharpe ratios.

    Raises
    ------
    PBOError
        If the matrix is not 2-D, has fewer than 2 columns or non-finite values, `n_splits`
        is odd or < 2, or a block would have fewer than 2 rows.

    Notes
    -----
    A configuration with zero variance in a half has Sharpe ratio 0 there. Ranks are
    ``1 + #(worse) + (#(tied) - 1) / 2`` (as :func:`scipy.stats.rankdata`), ``w = rank /
    (N + 1)`` (Bailey, Borwein, López de Prado & Zhu 2017).

    References
    ----------
    Bailey, D. H., Borwein, J., López de Prado, M. and Zhu, Q. J. (2017). "The Probability of
    Backtest Overfitting". Journal of Computational Finance 20(4), 39-69.
    """
    data = np.asarray(returns_matrix, dtype=float)
    if data.ndim != 2:
        raise PBOError(f"returns_matrix must be (T, N), got shape {data.shape}")
    t, n = data.shape
    if n < 2:
        raise PBOError("PBO needs at least 2 configurations (columns)")
    if n_splits < 2 or n_splits % 2:
        raise PBOError(f"n_splits must be an even number >= 2, got {n_splits}")
    m = t // n_splits
    if m < 2:
        raise PBOError(f"{t} rows cannot make {n_splits} blocks of at least 2 rows")
    if not np.all(np.isfinite(data)):
        raise PBOError("returns_matrix contains NaN or infinite values")
    blocks = data[: m * n_splits].reshape(n_splits, m, n)
    block_sum = blocks.sum(axis=1)
    block_sq = (blocks * blocks).sum(axis=1)
    sel = _in_sample_selector(n_splits)
    half = m * n_splits // 2
    # (C(S, S/2) x S) @ (S x N) is far too small to split across threads: waking OpenBLAS's
    # workers costs several times the product itself, so it runs on the calling thread
    with _blas().limit(limits=1, user_api="blas"):
        s1_is, s2_is = sel @ block_sum, sel @ block_sq
    sr_is = _sharpes(s1_is, s2_is, half)
    sr_oos = _sharpes(block_sum.sum(axis=0) - s1_is, block_sq.sum(axis=0) - s2_is, half)
    best = np.argmax(sr_is, axis=1)
    rows = np.arange(len(sel))
    winner = sr_oos[rows, best][:, None]
    # rank 1 = worst OOS; ties share their average rank (as scipy.stats.rankdata)
    below = (sr_oos < winner).sum(axis=1)
    tied = (sr_oos == winner).sum(axis=1)
    oos_rank = below + (tied + 1) / 2.0
    w = oos_rank / (n + 1.0)
    logits = np.log(w / (1.0 - w))
    return PBOResult(
        float(np.mean(logits <= 0.0)), logits, best, oos_rank, sr_is[rows, best], winner[:, 0]
    )


def probability_of_backtest_overfitting(
    returns_matrix: pd.DataFrame | np.ndarray, n_splits: int = 16
) -> float:
    """PBO of a family of configurations by CSCV (Bailey et al. 2017).

    Parameters
    ----------
    returns_matrix : pandas.DataFrame or numpy.ndarray
        ``(T, N)`` per-period returns of N >= 2 configurations over the same T bars.
    n_splits : int, default 16
        ``S``, the even number of contiguous blocks (C(16, 8) = 12,870 splits).

    Returns
    -------
    float
        Share of splits whose in-sample winner ranks at or below the OOS median (logit
        ``<= 0``), in [0, 1].

    Raises
    ------
    PBOError
        If the matrix or `n_splits` cannot be used (see :func:`pbo_logits`).

    Notes
    -----
    For each of the C(S, S/2) splits of the blocks into halves, the configuration with the
    best in-sample per-period Sharpe ratio is ranked out-of-sample; with ``w = rank / (N + 1)``
    and ``l = ln(w / (1 - w))``, ``PBO = #(l <= 0) / C(S, S/2)``.

    References
    ----------
    Bailey, D. H., Borwein, J., López de Prado, M. and Zhu, Q. J. (2017). "The Probability of
    Backtest Overfitting". Journal of Computational Finance 20(4), 39-69.
    """
    return pbo_logits(returns_matrix, n_splits).pbo
