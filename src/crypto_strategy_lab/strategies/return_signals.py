"""What the return-based strategies share around their own rule.

Most strategies read the close-to-close log returns ``r_t = ln(C_t / C_{t-1})`` (one fewer
than the bars), size a position by how far a test statistic is past its critical value, and
hand back their columns on the bars' index. These three steps are written once here so that
every strategy states only its statistic and its trading rule.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def log_returns(bars: pd.DataFrame) -> np.ndarray:
    """``r_t = ln(C_t / C_{t-1})`` for bars ``1..n-1`` (length ``n - 1``)."""
    return np.diff(np.log(bars["close"].to_numpy()))


def significance_ramp(statistic: np.ndarray, critical: float) -> np.ndarray:
    """Position strength ``clip((s - c) / c, 0, 1)``: 0 up to the critical value ``c``,
    rising linearly to 1 at ``2c`` (``s`` is ``|z|`` for a two-sided test)."""
    return np.clip((statistic - critical) / critical, 0.0, 1.0)


def on_bars(columns: Mapping[str, np.ndarray], bars: pd.DataFrame) -> pd.DataFrame:
    """Columns computed on :func:`log_returns` placed on ``bars.index``; the first bar, which
    has no return yet, is NaN."""
    return pd.DataFrame(
        {k: np.concatenate([[np.nan], np.asarray(v, dtype=float)]) for k, v in columns.items()},
        index=bars.index,
    )
