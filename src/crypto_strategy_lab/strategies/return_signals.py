"""What the return-based strategies share around their own rule.

Most strategies read the close-to-close log returns ``r_t = ln(C_t / C_{t-1})`` (one fewer
than the bars), size a position by how far a test statistic is past its critical value, and
hand back their columns on the bars' index. These three steps are written once here so that
every strategy states only its statistic and its trading rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from crypto_strategy_lab.strategies.base import finite_signal

if TYPE_CHECKING:  # pandas loads with the first frame built, not with the classes (registry.py)
    import pandas as pd


def log_returns(bars: pd.DataFrame) -> np.ndarray:
    """``r_t = ln(C_t / C_{t-1})`` for bars ``1..n-1`` (length ``n - 1``).

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars with a ``close`` column (prices > 0).

    Returns
    -------
    numpy.ndarray
        The ``n - 1`` close-to-close log returns; ``r[i]`` is the return into bar ``i + 1``.
    """
    return np.diff(np.log(bars["close"].to_numpy()))


def significance_ramp(statistic: np.ndarray, critical: float) -> np.ndarray:
    """Position strength ``clip((s - c) / c, 0, 1)`` of a statistic ``s``.

    It is 0 up to the critical value ``c``, rising linearly to 1 at ``2c`` (``s`` is ``|z|``
    for a two-sided test).

    Parameters
    ----------
    statistic : numpy.ndarray
        The test statistic per bar (NaN while its window fills).
    critical : float
        The critical value ``c`` > 0 at the test's level.

    Returns
    -------
    numpy.ndarray
        The strength in [0, 1] per bar, NaN where ``statistic`` is NaN.
    """
    return np.clip((statistic - critical) / critical, 0.0, 1.0)


def strategy_frame(
    columns: Mapping[str, np.ndarray], index: pd.Index, leading_nan: int = 0
) -> pd.DataFrame:
    """A strategy's output frame built once.

    Every column is written into one float64 block (pandas keeps it as is, with no
    per-column concatenation or consolidation copy), after ``leading_nan`` NaN rows, and the
    ``signal`` column is already finite and in [-1, 1]
    (:func:`~crypto_strategy_lab.strategies.base.finite_signal`), so that
    :meth:`Strategy.compute` has nothing to replace.

    Parameters
    ----------
    columns : Mapping of str to numpy.ndarray
        The output columns in order, each of length ``len(index) - leading_nan``.
    index : pandas.Index
        The bars' index.
    leading_nan : int, default 0
        Rows at the start without a value (NaN; ``signal`` 0 there).

    Returns
    -------
    pandas.DataFrame
        float64 columns ``list(columns)`` on ``index``.

    Raises
    ------
    ValueError
        If a column's length is not ``len(index) - leading_nan`` (a length-1 column is
        broadcast, as NumPy assignment does).
    """
    names = list(columns)
    block = np.empty((len(names), len(index)))
    block[:, :leading_nan] = np.nan
    for row, values in zip(block, columns.values(), strict=True):
        row[leading_nan:] = values
    if "signal" in columns:
        row = block[names.index("signal")]
        row[:] = finite_signal(row)
    import pandas as pd

    return pd.DataFrame(block.T, index=index, columns=names, copy=False)


def on_bars(columns: Mapping[str, np.ndarray], bars: pd.DataFrame) -> pd.DataFrame:
    """Columns computed on :func:`log_returns` placed on ``bars.index``.

    The first bar, which has no return yet, is NaN (its ``signal`` 0).

    Parameters
    ----------
    columns : Mapping of str to numpy.ndarray
        Columns aligned with :func:`log_returns` (length ``len(bars) - 1``).
    bars : pandas.DataFrame
        The bars the returns came from.

    Returns
    -------
    pandas.DataFrame
        :func:`strategy_frame` of ``columns`` on ``bars.index`` with one leading NaN row.
    """
    return strategy_frame(columns, bars.index, leading_nan=1)
