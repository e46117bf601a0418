"""The equity curve's storage: the points of one commit as one column block.

The engine marks its book to market on every bar. A row per point (``equity_curve``, before
migration 0007) plus its audit event cost ~55 µs and ~980 bytes per bar, six times the rest of
an idle bar, for values that share their run, their table and their commit. The points are
now held in memory until the journal commits (:class:`EquityBuffer`, one of the writer's
pending sources) and written as one :class:`~.models.EquityBlock` per run and commit: a
crash loses exactly the points a crash at the same moment lost before (those after the last
commit).

A block's ``points`` is the zlib-compressed (RFC 1950, level 1) canonical JSON (sorted keys,
no whitespace) of an object of equal-length arrays: ``ts`` as integer microseconds since the
Unix epoch (UTC) and each of :data:`EQUITY_COLUMNS` as exact decimal text
(:func:`~.types.decimal_text`). Compressed, a point is ~20 bytes instead of ~125 (a run's
cash and realised P&L repeat between fills, times step evenly, marks share their leading
digits) for ~0.5 µs; its audit event carries the SHA-256 of the stored bytes
(:func:`~.audit.audit_payload`).

Readers get the points of both storages merged (:func:`equity_points`): legacy rows first,
then the blocks in id order, each in its own order, sorted stably by time. A block that cannot
be read is a :class:`~.types.JournalError` naming it, never a traceback.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from crypto_strategy_lab.core.epoch import EPOCH, utc_from_epoch_us
from crypto_strategy_lab.journal.models import EquityBlock, EquityPoint
from crypto_strategy_lab.journal.types import JournalError, decimal_text, utc
from crypto_strategy_lab.journal.writer import ColumnRow

EQUITY_COLUMNS = (
    "equity",
    "cash",
    "gross_exposure",
    "net_exposure",
    "realized_pnl",
    "unrealized_pnl",
)
_BLOCK_TABLE = EquityBlock.__table__
_US = timedelta(microseconds=1)


def epoch_us(ts: datetime) -> int:
    """``ts`` as integer microseconds since 1970-01-01 UTC (exact: integer arithmetic).

    Parameters
    ----------
    ts : datetime
        Timezone-aware.

    Returns
    -------
    int
        ``(ts - epoch) // 1 µs``.

    Raises
    ------
    JournalError
        If ``ts`` is naive.
    """
    # an aware pandas Timestamp (a replayed bar's close time) has an offset: checked first
    aware_timestamp = type(ts) is pd.Timestamp and ts.tzinfo is not None
    if not aware_timestamp and (ts.tzinfo is None or ts.utcoffset() is None):
        utc(ts)  # raises the journal's error for a naive time
    if isinstance(ts, pd.Timestamp):
        try:
            return ts.value // 1000  # nanoseconds since the epoch: 10x the datetime route
        except OverflowError:  # a non-nanosecond Timestamp beyond 2262
            ts = ts.to_pydatetime()
    return (ts - EPOCH) // _US  # an aware difference is the UTC one


class _RunPoints:
    """The points of one run since the last commit, as stored: µs times, a text list per column."""

    __slots__ = ("columns", "ts")

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.columns: list[list[str]] = [[] for _ in EQUITY_COLUMNS]  # texts, point by point


class EquityBuffer:
    """Equity points waiting for the journal's next commit, per run.

    The writer drains it (:meth:`drain`) at the start of every write transaction, so the
    points are committed with everything journaled before that transaction; each value is
    checked and encoded when it is added, so a value that cannot be journaled fails its
    caller, not the commit.
    """

    def __init__(self) -> None:
        self._runs: dict[str, _RunPoints] = {}
        # per run, each column's last value and its text: between fills a run's cash and
        # realised P&L repeat, and a flat book's exposures are zero bar after bar
        self._last: dict[str, list[tuple[Decimal | None, str]]] = {}

    def __bool__(self) -> bool:
        """Whether points are waiting."""
        return bool(self._runs)

    def add(self, run_id: str, ts: datetime, values: tuple[Decimal, ...]) -> None:
        """Hold one point of ``run_id``.

        Parameters
        ----------
        run_id : str
            The run.
        ts : datetime
            Timezone-aware time of the point.
        values : tuple of Decimal
            The amounts of :data:`EQUITY_COLUMNS`, in that order (quote currency).

        Raises
        ------
        JournalError
            If ``ts`` is naive, an amount is not finite or not one amount per column
            (nothing is held then).
        """
        if len(values) != len(EQUITY_COLUMNS):
            raise JournalError(
                f"an equity point holds {len(EQUITY_COLUMNS)} amounts, got {len(values)}"
            )
        self.extend(run_id, (epoch_us(ts),), [(value,) for value in values])

    def extend(
        self,
        run_id: str,
        stamps: Sequence[int],
        columns: Sequence[Sequence[Decimal]],
    ) -> None:
        """Hold points of ``run_id``, given by column: :meth:`add` of each, all or none.

        Parameters
        ----------
        run_id : str
            The run.
        stamps : sequence of int
            Time of each point, integer microseconds since the epoch (UTC), as stored
            (:func:`epoch_us` of a datetime).
        columns : sequence of sequence of Decimal
            The amounts of each of :data:`EQUITY_COLUMNS` (in that order), one per time.

        Raises
        ------
        JournalError
            If a time is not an integer, an amount is not finite, or there is not one column
            per name and one amount per time in each (nothing is held then).

        Notes
        -----
        A value equal to the one before it in its column (the previous point's, across
        calls) reuses its text, and a column given as the same object as an earlier one
        (a long book's net exposure is its gross) reuses that column's texts.
        """
        n = len(stamps)
        if not n:
            return
        if len(columns) != len(EQUITY_COLUMNS) or any(len(c) != n for c in columns):
            raise JournalError(
                f"equity points hold {len(EQUITY_COLUMNS)} amounts each, got columns of "
                f"{[len(c) for c in columns]} for {n} times"
            )
        if not all(type(us) is int for us in stamps):
            raise JournalError(
                "equity point times are integer microseconds since the epoch, got "
                f"{next(us for us in stamps if type(us) is not int)!r}"
            )
        last = self._last.get(run_id) or [(None, "")] * len(EQUITY_COLUMNS)
        texts: list[list[str]] = []
        ends: list[tuple[Decimal | None, str]] = []
        for k, values in enumerate(columns):
            same = next((j for j in range(k) if columns[j] is values), None)
            if same is not None:
                texts.append(texts[same])
                ends.append(ends[same])
                continue
            known, text = last[k]
            out = []
            for value in values:
                if value != known:  # also a first point (None) or a NaN: decimal_text decides
                    text = decimal_text(value)
                    known = value
                out.append(text)
            texts.append(out)
            ends.append((known, text))
        # every value encoded: only now is anything held
        self._last[run_id] = ends
        held = self._runs.get(run_id)
        if held is None:
            held = self._runs[run_id] = _RunPoints()
        held.ts += stamps
        for stored, new in zip(held.columns, texts, strict=True):
            stored += new

    def drain(self) -> Iterator[tuple[ColumnRow, str, str | None]]:
        """The held points as one block row per run, emptying the buffer.

        Yields
        ------
        tuple of (ColumnRow, str, str or None)
            The ``equity_blocks`` row, its audit kind (``"equity"``) and its run.
        """
        runs, self._runs = self._runs, {}
        for run_id, points in runs.items():
            content: dict[str, Any] = dict(zip(EQUITY_COLUMNS, points.columns, strict=True))
            content["ts"] = points.ts
            row = ColumnRow(
                _BLOCK_TABLE,
                {
                    "run_id": run_id,
                    "first_ts": utc_from_epoch_us(points.ts[0]),
                    "ts": utc_from_epoch_us(points.ts[-1]),
                    "n_points": len(points.ts),
                    "points": encode_points(content),
                },
            )
            yield row, "equity", run_id


def encode_points(content: dict[str, Sequence[Any]]) -> bytes:
    """A block's stored ``points``: zlib level 1 of the canonical JSON of its arrays.

    Parameters
    ----------
    content : dict of str to sequence
        ``ts`` (integer microseconds) and each of :data:`EQUITY_COLUMNS` (the texts of
        :func:`~.types.decimal_text`: digits, ``-`` and ``.``).

    Returns
    -------
    bytes
        ``zlib.compress(json.dumps(content, sort_keys=True, separators=(",", ":")), 1)``.

    Notes
    -----
    The JSON is written by joining the columns: a decimal text has nothing to escape, and
    ``json.dumps`` escaping each of a block's ~7 strings per point cost 1 µs a point, half of
    its encoding (``tests/journal/test_equity_buffer.py`` holds the two texts equal).
    """
    parts = []
    for name in sorted(content):
        values = content[name]
        if name == "ts":
            body = ",".join(map(int.__repr__, values))
        else:
            body = '"' + '","'.join(values) + '"' if values else ""
        parts.append(f'"{name}":[{body}]')
    text = "{" + ",".join(parts) + "}"
    return zlib.compress(text.encode("ascii"), 1)


def _decode(block_id: int, n_points: int, stored: Any) -> dict[str, list[Any]]:
    """A block's ``points`` as its arrays; :class:`JournalError` naming the block if unreadable."""
    try:
        content = json.loads(zlib.decompress(bytes(stored)))
        if not isinstance(content, dict) or set(content) != {"ts", *EQUITY_COLUMNS}:
            raise ValueError(f"keys {sorted(content) if isinstance(content, dict) else None}")
        for name, values in content.items():
            if not isinstance(values, list) or len(values) != n_points:
                raise ValueError(f"{name} does not hold {n_points} values")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in content["ts"]):
            raise ValueError("ts holds a value that is not an integer")
        for name in EQUITY_COLUMNS:
            if not all(isinstance(v, str) for v in content[name]):
                raise ValueError(f"{name} holds a value that is not decimal text")
    except (ValueError, TypeError, zlib.error) as exc:
        raise JournalError(
            f"equity_blocks id={block_id}: column points holds {str(stored)[:40]!r}, not a "
            f"valid equity block ({str(exc)[:80]})"
        ) from exc
    return content


def equity_points(conn: Connection, run_id: str, *, exact: bool = False) -> pd.DataFrame:
    """Every equity point of ``run_id``, from the legacy rows and the blocks, oldest first.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection to the journal (reads only).
    run_id : str
        The run.
    exact : bool, default False
        ``True``: the amounts as :class:`~decimal.Decimal` (object columns); ``False``: as
        float64 (display, statistics).

    Returns
    -------
    pandas.DataFrame
        Columns ``ts`` (aware UTC, ``datetime64[us, UTC]``) and :data:`EQUITY_COLUMNS`, one
        row per point; sorted stably by ``ts`` (legacy rows by id, then blocks by id, each
        block in its stored order), so among points of one time the last journaled is last.

    Raises
    ------
    JournalError
        If a block's points cannot be read (one line naming the block).
    """
    legacy = conn.execute(
        select(EquityPoint.ts, *[getattr(EquityPoint, n) for n in EQUITY_COLUMNS])
        .where(EquityPoint.run_id == run_id)
        .order_by(EquityPoint.ts, EquityPoint.id)
    ).all()
    blocks = conn.execute(
        select(EquityBlock.id, EquityBlock.n_points, EquityBlock.points)
        .where(EquityBlock.run_id == run_id)
        .order_by(EquityBlock.id)
    ).all()
    amount = Decimal if exact else float  # Decimal("x") and float("x") both refuse text
    stamps: list[int] = [epoch_us(row[0]) for row in legacy]
    columns = [[amount(row[i + 1]) for row in legacy] for i in range(len(EQUITY_COLUMNS))]
    for block_id, n_points, stored in blocks:
        content = _decode(block_id, n_points, stored)
        stamps += content["ts"]
        for i, name in enumerate(EQUITY_COLUMNS):
            try:
                columns[i] += [amount(v) for v in content[name]]
            except (ArithmeticError, ValueError) as exc:
                raise JournalError(
                    f"equity_blocks id={block_id}: column points holds a {name} that is not "
                    f"a valid decimal ({type(exc).__name__})"
                ) from exc
    times = np.asarray(stamps, dtype="int64")
    frame = pd.DataFrame(
        {name: columns[i] for i, name in enumerate(EQUITY_COLUMNS)},
        dtype=object if exact else "float64",
    )
    frame.insert(0, "ts", pd.to_datetime(times, unit="us", utc=True))
    order = np.argsort(times, kind="stable")
    return frame.iloc[order].reset_index(drop=True)
