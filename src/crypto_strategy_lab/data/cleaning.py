"""Explicit repairs of OHLCV frames, each returning ``(frame, CleaningStep)``.

Nothing here runs on its own: the caller picks each repair, and each one reports what it
changed (rows in, rows out, how many rows were touched and the first affected timestamps).
The validators in :mod:`crypto_strategy_lab.data.schema` never repair anything.

Decisions
---------
* **Duplicates** (several rows with one timestamp): ``keep="last"`` (default, the latest
  download of a bar supersedes earlier ones), ``"first"``, or ``"merge"`` (the rows are
  pieces of one bar: first open, max high, min low, last close, summed volume). The report
  counts how many duplicate groups had conflicting values.
* **Off-grid timestamps** (not on the bar-size grid of
  :func:`~crypto_strategy_lab.data.timeframes.floor_to_grid`, whose weeks start on Monday,
  e.g. a vendor's still-forming last bar): ``how="drop"`` (default) or ``"snap"`` (floor to
  the grid; a snapped row whose slot is already taken is dropped, and counted as such).
* **Gaps** are found by :func:`find_gaps`; :func:`fill_gaps` inserts *flat* bars
  (open = high = low = close = previous close, volume 0) and flags them in a boolean
  ``filled`` column, only when called.
* **Resampling** (:func:`resample_ohlcv`) uses left-closed, left-labelled bins (bar open
  time), first/max/min/last/sum aggregation, and drops empty bins (reported). Bins lie on the
  grid of :func:`~crypto_strategy_lab.data.timeframes.grid_origin` (the Unix epoch; Monday
  1970-01-05 for weekly bars). :func:`resample_bars` (used wherever a command resamples on
  the fly) also drops a first or last bin that its source bars do not cover completely: such
  a bar's open or close is not the bar's, and the last one would still be forming.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from crypto_strategy_lab.data.schema import OHLCV_COLUMNS, DataValidationError
from crypto_strategy_lab.data.timeframes import (
    TIMEFRAMES,
    as_timedelta,
    floor_to_grid,
    grid_origin,
    parse_timeframe,
)

_SHOW = 5
OHLCV_AGG: dict[str, str] = {
    "open": "first",
    "high": "max",
    "low": "min",
    "close": "last",
    "volume": "sum",
}


@dataclass(frozen=True)
class CleaningStep:
    """What one repair did.

    Attributes
    ----------
    name
        The repair (``"sort"``, ``"duplicates"``, ``"off_grid"``, ``"fill_gaps"``, ``"resample"``).
    rows_in, rows_out
        Row counts before and after.
    changed
        Rows moved, removed, snapped or inserted by this step.
    detail
        Step-specific numbers (e.g. ``conflicting`` duplicate groups, ``collisions``).
    examples
        The first affected timestamps, as ISO strings.
    """

    name: str
    rows_in: int
    rows_out: int
    changed: int
    detail: dict[str, int | str] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """One human line describing the step.

        Returns
        -------
        str
            E.g. ``duplicates: 32 row(s) changed, 1032 -> 1000 rows (keep=last, ...)``.
        """
        extra = ", ".join(f"{k}={v}" for k, v in self.detail.items())
        first = f"; first at {', '.join(self.examples)}" if self.examples else ""
        return (
            f"{self.name}: {self.changed} row(s) changed, {self.rows_in} -> {self.rows_out} rows"
            f"{f' ({extra})' if extra else ''}{first}"
        )


@dataclass
class CleaningReport:
    """The ordered list of repairs applied to one frame."""

    steps: list[CleaningStep] = field(default_factory=list)

    def add(self, step: CleaningStep) -> None:
        """Append one repair.

        Parameters
        ----------
        step : CleaningStep
            The repair.
        """
        self.steps.append(step)

    @property
    def total_changed(self) -> int:
        """Rows changed over all repairs."""
        return sum(s.changed for s in self.steps)

    def to_dict(self) -> dict:
        """The steps and the total as plain data (JSON).

        Returns
        -------
        dict
            ``{"steps": [...], "total_changed": int}``.
        """
        return {"steps": [asdict(s) for s in self.steps], "total_changed": self.total_changed}

    def lines(self) -> list[str]:
        """One line per repair.

        Returns
        -------
        list of str
            :meth:`CleaningStep.describe` of each step, or ``["no repairs applied"]``.
        """
        return [s.describe() for s in self.steps] or ["no repairs applied"]

    def __str__(self) -> str:
        """The :meth:`lines`, one per line."""
        return "\n".join(self.lines())


def _examples(index: pd.Index) -> list[str]:
    return [pd.Timestamp(t).isoformat() for t in index[:_SHOW]]


def _require_datetime_index(df: pd.DataFrame) -> pd.DatetimeIndex:
    if not isinstance(df.index, pd.DatetimeIndex):
        raise DataValidationError(
            f"index must be a DatetimeIndex named 'timestamp', got {type(df.index).__name__}"
        )
    if df.index.tz is None:
        raise DataValidationError("index must be timezone-aware UTC, got tz=None", "timestamp")
    return df.index


def sort_by_time(df: pd.DataFrame) -> tuple[pd.DataFrame, CleaningStep]:
    """Sort rows by timestamp (stable, so duplicates keep their file order).

    ``changed`` counts rows that arrived earlier than the row before them.

    Parameters
    ----------
    df : pandas.DataFrame
        Bars on a UTC ``DatetimeIndex``.

    Returns
    -------
    frame : pandas.DataFrame
        The repaired bars.
    step : CleaningStep
        What was changed.

    Raises
    ------
    DataValidationError
        If the index is not a timezone-aware UTC ``DatetimeIndex``.
    """
    index = _require_datetime_index(df)
    steps = np.diff(index.asi8)
    back = np.concatenate([[False], steps < 0])
    out = df.sort_index(kind="stable")
    return out, CleaningStep(
        "sort", len(df), len(out), int(back.sum()), examples=_examples(index[back])
    )


def drop_duplicate_timestamps(
    df: pd.DataFrame, keep: str = "last"
) -> tuple[pd.DataFrame, CleaningStep]:
    """Collapse rows that share a timestamp into one (the frame must be sorted first).

    Parameters
    ----------
    df : pandas.DataFrame
        OHLCV bars sorted by timestamp.
    keep
        ``"last"``, ``"first"`` or ``"merge"`` (first open, max high, min low, last close,
        summed volume; other columns take the last value).

    Returns
    -------
    frame : pandas.DataFrame
        The repaired bars.
    step : CleaningStep
        What was changed.
    """
    if keep not in ("first", "last", "merge"):
        raise ValueError(f"keep must be 'first', 'last' or 'merge', got {keep!r}")
    index = _require_datetime_index(df)
    dup_any = index.duplicated(keep=False)
    groups = int(pd.Index(index[dup_any]).nunique())
    cols = [c for c in OHLCV_COLUMNS if c in df.columns]
    conflicting = 0
    if groups:
        varying = df.loc[dup_any, cols].groupby(level=0).nunique().max(axis=1)
        conflicting = int((varying > 1).sum())
    if keep == "merge":
        agg = {c: OHLCV_AGG.get(c, "last") for c in df.columns}
        out = df.groupby(level=0, sort=False).agg(agg)
        out.index.name = index.name
    else:
        out = df[~index.duplicated(keep=keep)]
    removed = len(df) - len(out)
    return out, CleaningStep(
        "duplicates",
        len(df),
        len(out),
        removed,
        detail={"keep": keep, "groups": groups, "conflicting": conflicting},
        examples=_examples(pd.Index(index[dup_any]).unique()),
    )


def off_grid_mask(index: pd.DatetimeIndex, freq: str | pd.Timedelta) -> np.ndarray:
    """True where a timestamp is not on the ``freq`` grid (counted from :func:`grid_origin`).

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Bar timestamps.
    freq : str or pandas.Timedelta
        Bar size.

    Returns
    -------
    numpy.ndarray
        Boolean mask, ``index != floor_to_grid(index, freq)``.
    """
    return np.asarray(index != floor_to_grid(index, freq))


def align_to_grid(
    df: pd.DataFrame, freq: str | pd.Timedelta, how: str = "drop"
) -> tuple[pd.DataFrame, CleaningStep]:
    """Remove or snap rows whose timestamp is off the ``freq`` grid.

    Parameters
    ----------
    df : pandas.DataFrame
        OHLCV bars.
    freq : str or pandas.Timedelta
        The bar size whose grid the timestamps must lie on.
    how
        ``"drop"`` removes off-grid rows; ``"snap"`` floors them to the grid and drops those
        whose slot is already taken by an on-grid row (``collisions`` in the report).

    Returns
    -------
    frame : pandas.DataFrame
        The repaired bars.
    step : CleaningStep
        What was changed.
    """
    if how not in ("drop", "snap"):
        raise ValueError(f"how must be 'drop' or 'snap', got {how!r}")
    index = _require_datetime_index(df)
    off = off_grid_mask(index, freq)
    detail: dict[str, int | str] = {"how": how, "freq": str(as_timedelta(freq))}
    if how == "drop":
        out = df[~off]
    else:
        snapped = floor_to_grid(index, freq)
        # A snapped row loses to an on-grid row in its slot, and to a later off-grid row.
        taken = snapped.isin(index[~off])
        later = pd.Index(snapped.where(off)).duplicated(keep="last")
        collide = off & (taken | later)
        detail["collisions"] = int(collide.sum())
        out = df[~collide].copy()
        out.index = pd.DatetimeIndex(snapped[~collide], name=index.name)
        out = out.sort_index(kind="stable")
    return out, CleaningStep(
        "off_grid", len(df), len(out), int(off.sum()), detail, _examples(index[off])
    )


def find_gaps(df: pd.DataFrame, freq: str | pd.Timedelta) -> pd.DataFrame:
    """Missing bars in a sorted frame on a ``freq`` grid.

    Parameters
    ----------
    df : pandas.DataFrame
        Bars on a sorted UTC ``DatetimeIndex``.
    freq : str or pandas.Timedelta
        Bar size.

    Returns
    -------
    pandas.DataFrame
        One row per gap: ``after`` (last bar before the gap), ``before`` (first bar after it),
        ``missing`` (bars absent, ``(before - after) / freq - 1``), ``duration``.
    """
    index = _require_datetime_index(df)
    step = as_timedelta(freq)
    if len(index) < 2:
        return pd.DataFrame(columns=["after", "before", "missing", "duration"])
    delta = index[1:] - index[:-1]
    at = np.flatnonzero(np.asarray(delta > step))
    missing = (np.asarray(delta[at] // step) - 1).astype(int)
    return pd.DataFrame(
        {
            "after": index[:-1][at],
            "before": index[1:][at],
            "missing": missing,
            "duration": delta[at],
        }
    )


def fill_gaps(
    df: pd.DataFrame, freq: str | pd.Timedelta, max_missing: int | None = None
) -> tuple[pd.DataFrame, CleaningStep]:
    """Insert flat zero-volume bars into gaps (the frame must be sorted, unique, on grid).

    A filled bar has open = high = low = close = the previous close and volume 0; a boolean
    ``filled`` column marks it. Gaps longer than ``max_missing`` bars are left open (and
    counted as ``skipped_gaps``).

    Parameters
    ----------
    df : pandas.DataFrame
        Sorted, unique, on-grid bars.
    freq : str or pandas.Timedelta
        Bar size.
    max_missing : int, optional
        Longest gap filled, in bars (default: every gap).

    Returns
    -------
    frame : pandas.DataFrame
        The repaired bars.
    step : CleaningStep
        What was changed.
    """
    index = _require_datetime_index(df)
    step = as_timedelta(freq)
    gaps = find_gaps(df, step)
    if max_missing is not None:
        keep = gaps["missing"] <= max_missing
        skipped = int((~keep).sum())
        gaps = gaps[keep]
    else:
        skipped = 0
    new_index = index
    for after, before in zip(gaps["after"], gaps["before"], strict=True):
        new_index = new_index.append(pd.date_range(after + step, before - step, freq=step))
    new_index = pd.DatetimeIndex(new_index, name=index.name).sort_values()
    out = df.reindex(new_index)
    filled = ~new_index.isin(index)
    close = out["close"].ffill()
    for column in ("open", "high", "low", "close"):
        out[column] = out[column].where(~filled, close)
    out["volume"] = out["volume"].where(~filled, 0.0)
    out["filled"] = filled
    return out, CleaningStep(
        "fill_gaps",
        len(df),
        len(out),
        int(filled.sum()),
        {"gaps_filled": len(gaps), "skipped_gaps": skipped},
        _examples(new_index[filled]),
    )


def resample_ohlcv(df: pd.DataFrame, rule: str) -> tuple[pd.DataFrame, CleaningStep]:
    """Aggregate bars to a coarser bar size with pandas.

    Bins are left-closed and left-labelled, on the grid of
    :func:`~crypto_strategy_lab.data.timeframes.grid_origin`.

    Empty bins (no source bar) are dropped rather than invented; their count is reported as
    ``empty_bins``.

    Parameters
    ----------
    df : pandas.DataFrame
        Bars on a UTC ``DatetimeIndex``.
    rule : str
        Target bar size.

    Returns
    -------
    frame : pandas.DataFrame
        First open, max high, min low, last close and summed volume per bin.
    step : CleaningStep
        Rows in and out, with the empty bins.
    """
    _require_datetime_index(df)
    agg = {c: OHLCV_AGG[c] for c in OHLCV_COLUMNS}
    grouped = df[list(OHLCV_COLUMNS)].resample(
        as_timedelta(rule),
        label="left",
        closed="left",
        origin=grid_origin(rule),
    )
    out = grouped.agg(agg)
    counts = grouped.size()
    empty = counts == 0
    out = out[~empty.to_numpy()]
    out.index.name = "timestamp"
    return out, CleaningStep(
        "resample",
        len(df),
        len(out),
        len(df) - len(out),
        {"rule": rule, "empty_bins": int(empty.sum())},
        _examples(counts.index[empty]),
    )


def resample_bars(df: pd.DataFrame, timeframe: str, to: str) -> tuple[pd.DataFrame, CleaningStep]:
    """``timeframe`` bars -> ``to`` bars, keeping only edge bins the source covers completely.

    Each output bar aggregates the source bars whose open time lies in ``[t, t + to)`` and is
    labelled ``t``; it is complete (usable) only at ``t + to``, after the last of them closed,
    so nothing later leaks into it. A first bin entered after ``t`` or a last bin whose
    source ends before ``t + to`` is dropped (``partial_edges``). Inner bins with missing
    source bars are kept, built from the bars present, as exchanges build them.

    Parameters
    ----------
    df : pandas.DataFrame
        Bars of bar size `timeframe`.
    timeframe : str
        Their bar size.
    to : str
        Target bar size, a whole multiple of `timeframe` (equal: returned unchanged).

    Returns
    -------
    frame : pandas.DataFrame
        The ``to`` bars.
    step : CleaningStep
        Rows in and out, with the empty bins and partial edges dropped.

    Raises
    ------
    DataValidationError
        If ``to`` is not a whole multiple of ``timeframe``.
    """
    src, dst = parse_timeframe(timeframe), parse_timeframe(to)
    step, target = TIMEFRAMES[src], TIMEFRAMES[dst]
    if target < step or target % step:
        raise DataValidationError(
            f"cannot make {dst} bars from {src} bars: the target must be the same bar size "
            f"or a whole multiple of {src}"
        )
    if target == step:
        return df, CleaningStep("resample", len(df), len(df), 0, {"rule": dst})
    out, full = resample_ohlcv(df, dst)
    keep = np.ones(len(out), dtype=bool)
    if len(out) and df.index[0] != out.index[0]:
        keep[0] = False
    if len(out) and df.index[-1] + step != out.index[-1] + target:
        keep[-1] = False
    out = out[keep]
    detail = {**full.detail, "partial_edges": int((~keep).sum())}
    return out, CleaningStep("resample", len(df), len(out), len(df) - len(out), detail, [])


def infer_bar_size(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The most common positive spacing between consecutive timestamps.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Timestamps, in any order.

    Returns
    -------
    pandas.Timedelta
        The modal spacing (the smallest one on a tie).

    Raises
    ------
    DataValidationError
        If there are fewer than two distinct timestamps.
    """
    delta = pd.Series(np.diff(np.sort(index.asi8)))
    delta = delta[delta > 0]
    if delta.empty:
        raise DataValidationError("cannot infer the bar size from fewer than two timestamps")
    return pd.Timedelta(int(delta.mode().iloc[0]), unit=index.unit)


def clean_ohlcv(
    df: pd.DataFrame,
    freq: str | pd.Timedelta,
    duplicates: str = "last",
    off_grid: str = "drop",
    fill_max_missing: int | None = None,
    fill: bool = False,
) -> tuple[pd.DataFrame, CleaningReport]:
    """Apply the chosen repairs in order: sort, duplicates, off-grid, optional gap filling.

    Every step runs (and is reported, possibly with ``changed == 0``) so the report is the
    full record of what was done to the data.

    Parameters
    ----------
    df : pandas.DataFrame
        Bars on a UTC ``DatetimeIndex``.
    freq : str or pandas.Timedelta
        Bar size of the grid.
    duplicates : {"last", "first", "merge"}, default "last"
        How rows sharing a timestamp collapse (:func:`drop_duplicate_timestamps`).
    off_grid : {"drop", "snap"}, default "drop"
        What happens to off-grid rows (:func:`align_to_grid`).
    fill_max_missing : int, optional
        Longest gap filled when `fill` (:func:`fill_gaps`).
    fill : bool, default False
        Fill gaps with flat zero-volume bars.

    Returns
    -------
    frame : pandas.DataFrame
        The repaired bars.
    report : CleaningReport
        Every step, in order.
    """
    report = CleaningReport()
    out, step = sort_by_time(df)
    report.add(step)
    out, step = drop_duplicate_timestamps(out, keep=duplicates)
    report.add(step)
    out, step = align_to_grid(out, freq, how=off_grid)
    report.add(step)
    if fill:
        out, step = fill_gaps(out, freq, max_missing=fill_max_missing)
        report.add(step)
    return out, report
