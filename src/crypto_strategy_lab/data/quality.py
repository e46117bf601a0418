"""Data-quality checks for an OHLCV frame: gaps, duplicates, off-grid bars, outliers, zero volume.

:func:`check_ohlcv_quality` only *looks*; it never changes the frame. It accepts raw frames
(unsorted, with duplicates) as long as the index is a UTC ``DatetimeIndex``, so it can describe
data before and after cleaning.

Outliers are bars whose close-to-close log return has a robust z-score
``|r - median(r)| / (1.4826 MAD(r))`` above ``outlier_z`` (default 10; 1.4826 makes the MAD a
consistent estimator of the standard deviation under normality, Rousseeuw & Croux 1993).
Crypto returns are heavy-tailed, so the threshold is deliberately high: it flags bad ticks,
not ordinary volatility.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from crypto_strategy_lab.data.cleaning import find_gaps, infer_bar_size, off_grid_mask
from crypto_strategy_lab.data.schema import OHLCV_COLUMNS, DataValidationError
from crypto_strategy_lab.data.timeframes import as_timedelta, duration_label

_SHOW = 5


@dataclass(frozen=True)
class QualityReport:
    """Counts of each data-quality problem in one frame (see module docstring)."""

    rows: int
    start: str
    end: str
    bar_size: str
    duplicates: int
    out_of_order: int
    off_grid: int
    gaps: int
    missing_bars: int
    largest_gap: str
    zero_volume: int
    outliers: int
    nan_values: int
    outlier_z: float
    outlier_examples: list[str] = field(default_factory=list)
    gap_examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The report's fields as plain data (JSON).

        Returns
        -------
        dict
            Field name -> value.
        """
        return asdict(self)

    def rows_for_table(self) -> list[tuple[str, str]]:
        """(check, value) pairs in display order for a rich table.

        Returns
        -------
        list of (str, str)
            One pair per check.
        """
        return [
            ("rows", str(self.rows)),
            ("range (UTC)", f"{self.start} → {self.end}"),
            ("bar size", self.bar_size),
            ("duplicate timestamps", str(self.duplicates)),
            ("out-of-order rows", str(self.out_of_order)),
            ("off-grid timestamps", str(self.off_grid)),
            ("gaps (missing bars)", f"{self.gaps} ({self.missing_bars})"),
            ("largest gap", self.largest_gap),
            ("zero-volume bars", str(self.zero_volume)),
            (f"return outliers (|robust z| > {self.outlier_z:g})", str(self.outliers)),
            ("NaN values", str(self.nan_values)),
        ]


def check_ohlcv_quality(
    df: pd.DataFrame,
    freq: str | pd.Timedelta | None = None,
    outlier_z: float = 10.0,
    calendar: str = "24/7",
) -> QualityReport:
    """Measure the data-quality problems of an OHLCV frame without changing it.

    Parameters
    ----------
    df : pandas.DataFrame
        OHLCV bars (not modified).
    freq
        The bar size; inferred as the most common spacing when ``None``.
    outlier_z
        Robust z-score threshold for return outliers.
    calendar
        ``"24/7"`` (crypto: every ``freq`` slot should hold a bar) or ``"weekdays"`` (daily
        equity bars: only Monday-Friday dates are expected, so exchange holidays count as
        one-day gaps).

    Returns
    -------
    QualityReport
        Counts and examples of every problem found.
    """
    if not isinstance(df.index, pd.DatetimeIndex) or df.index.tz is None:
        raise DataValidationError("index must be a UTC DatetimeIndex", "timestamp")
    if df.empty:
        raise DataValidationError("OHLCV frame is empty")
    index = df.index
    step = as_timedelta(freq) if freq is not None else infer_bar_size(index)
    out_of_order = int((np.diff(index.asi8) < 0).sum())
    ordered = df.sort_index(kind="stable")
    unique = ordered[~ordered.index.duplicated(keep="last")]
    if calendar == "24/7":
        gaps = find_gaps(unique[~off_grid_mask(unique.index, step)], step)
    elif calendar == "weekdays":
        gaps = _weekday_gaps(unique.index.normalize())
    else:
        raise DataValidationError(f"unknown calendar {calendar!r}; use '24/7' or 'weekdays'")
    close = unique["close"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(close))
    finite = np.isfinite(r)
    outlier_at: pd.Index = pd.Index([])
    if finite.sum() > 2:
        med = np.median(r[finite])
        mad = 1.4826 * np.median(np.abs(r[finite] - med))
        if mad > 0:
            z = np.where(finite, np.abs(r - med) / mad, 0.0)
            outlier_at = unique.index[1:][z > outlier_z]
    largest = gaps["duration"].max() if len(gaps) else pd.Timedelta(0)
    return QualityReport(
        rows=len(df),
        start=index.min().isoformat(),
        end=index.max().isoformat(),
        bar_size=duration_label(step),
        duplicates=int(index.duplicated().sum()),
        out_of_order=out_of_order,
        off_grid=int(off_grid_mask(index, step).sum()),
        gaps=len(gaps),
        missing_bars=int(gaps["missing"].sum()) if len(gaps) else 0,
        largest_gap=duration_label(largest),
        zero_volume=int((df["volume"] == 0).sum()),
        outliers=len(outlier_at),
        nan_values=int(df[[c for c in df.columns if c in OHLCV_COLUMNS]].isna().sum().sum()),
        outlier_z=outlier_z,
        outlier_examples=[t.isoformat() for t in outlier_at[:_SHOW]],
        gap_examples=[t.isoformat() for t in gaps["after"][:_SHOW]],
    )


def _weekday_gaps(days: pd.DatetimeIndex) -> pd.DataFrame:
    """Runs of Monday-Friday dates absent from ``days``, shaped like ``find_gaps``."""
    expected = pd.bdate_range(days[0], days[-1], tz=days.tz)
    absent = ~expected.isin(days)
    run = np.cumsum(~absent)  # constant within a run of absent days
    rows = []
    for _, block in pd.Series(expected[absent]).groupby(run[absent]):
        after = days[days < block.iloc[0]][-1]
        before = days[days > block.iloc[-1]][0]
        rows.append((after, before, len(block), before - after))
    return pd.DataFrame(rows, columns=["after", "before", "missing", "duration"])
