"""The journal's one write path: transactions, the per-bar batch buffer and the audit-chain links.

Every write inserts the record(s) *and* the matching audit-chain link (``journal.audit``) in
one transaction, so a record and its audit event exist together or not at all. Inside
:meth:`ChainWriter.batch` (the engine opens one per bar) the records and audit events of the
engine's frequent writes (order events, fills, signals, risk decisions, equity, positions,
audit-only events) are buffered in memory and committed together when the batch ends, one
``executemany`` per table (on SQLite the driver's, the rows already in their stored form;
elsewhere a SQLAlchemy Core insert), the chain links computed in memory -- or earlier: an
order is committed (with everything buffered before it) before
:meth:`~crypto_strategy_lab.journal.orders.OrderStore.record_order` returns, so it is on disk
before it can reach a venue; any other write or read commits the buffer first. A kill -9
inside a batch therefore loses exactly what a crash at the batch's last commit would have
lost.

There is no update or delete: the sessions the writer opens refuse any attempt
(``JournalError``). The only mutable row is a run's ``status``/``ended_at``, set once by
:meth:`~crypto_strategy_lab.journal.runs.RunStore.finish_run` (and audited).

Concurrent writers: on PostgreSQL appends are serialised by an advisory lock; on SQLite each
write takes the database's write lock first, and a writer that loses a race (``database is
locked`` or a unique-constraint clash on the chain head) retries its whole transaction. Ids
of buffered rows are reserved in memory and moved, at the commit, to what the database would
hand out then (another writer may have taken some).

A store may also hold rows in memory until the next commit (:class:`PendingRows`: the equity
points of the bars since, which become one block row per run); the writer drains them at the
start of every write transaction, behind everything buffered before.

The stores of :mod:`crypto_strategy_lab.journal.repository`'s facade share one
:class:`ChainWriter`; a store that indexes what the buffer holds (the latest order event of an
order, a fill by trade id) registers a :class:`BufferIndex` so the index follows the buffer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    Column,
    Connection,
    Dialect,
    Engine,
    Insert,
    Table,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crypto_strategy_lab.journal.audit import (
    GENESIS_HASH,
    LINK_COLUMNS,
    AuditEvent,
    append_audit_event,
    audit_payload,
    entity_key,
    link_encoder,
    lock_chain,
    record_encoder,
    record_payload,
)
from crypto_strategy_lab.journal.db import Base
from crypto_strategy_lab.journal.models import Run
from crypto_strategy_lab.journal.types import JournalError, canonical_json, exact_decimal, utcnow

T = TypeVar("T")

_MUTABLE_RUN_FIELDS = {"status", "ended_at"}


def jsonable(value: Any) -> Any:
    """``value`` with decimals/datetimes/enums encoded as the audit chain encodes them.

    Parameters
    ----------
    value : Any
        Anything :func:`canonical_json` accepts.

    Returns
    -------
    Any
        ``json.loads(canonical_json(value))``: plain JSON types, decimals as their exact
        text, times as UTC ISO 8601 text, enums as their values, dict keys in sorted order.
    """
    # A signal's statistics and a risk decision's rules (per bar, per order) are JSON already:
    # their plain types are copied as that round trip gives them (keys sorted, -0.0 as 0.0);
    # anything else takes the round trip itself.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float and value - value == 0.0:  # finite (inf - inf and nan - nan are nan)
        return value + 0.0
    if kind is dict and all(type(key) is str for key in value):
        return {key: jsonable(value[key]) for key in sorted(value)}
    if kind is list:
        return [jsonable(item) for item in value]
    return json.loads(canonical_json(value))


def optional_decimal(value: Decimal | None) -> Decimal | None:
    """``value`` as an exact journal decimal, ``None`` kept.

    Parameters
    ----------
    value : Decimal or None
        An amount, or None for an absent one.

    Returns
    -------
    Decimal or None
        :func:`exact_decimal` of ``value``, or None.
    """
    return None if value is None else exact_decimal(value)


def record_ts(record: Base) -> datetime:
    """The time a record's audit event carries: its own timestamp, else now.

    Parameters
    ----------
    record : Base
        A mapped journal row.

    Returns
    -------
    datetime
        The first of its ``ts``, ``created_at``, ``started_at`` attributes that holds a
        datetime; :func:`utcnow` when none does.
    """
    for name in ("ts", "created_at", "started_at"):  # an equity block's ts: its last point
        value = getattr(record, name, None)
        if isinstance(value, datetime):
            return value
    return utcnow()


def _forbid_history_mutation(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, Base):
            raise JournalError(f"the journal is append-only: cannot delete {obj.__tablename__}")
    for obj in session.dirty:
        if not isinstance(obj, Base) or not session.is_modified(obj):
            continue
        state = inspect(obj)
        changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
        if isinstance(obj, Run) and changed <= _MUTABLE_RUN_FIELDS:
            continue
        raise JournalError(
            f"the journal is append-only: cannot update {obj.__tablename__} "
            f"({', '.join(sorted(changed))})"
        )


class ColumnRow:
    """A row to append given by its column values: the cheap form of a per-bar record.

    The engine journals an equity point on every bar; building a mapped ORM instance for it
    costs more than inserting it (every attribute set goes through SQLAlchemy's
    instrumentation). The writer reads a ``ColumnRow`` as it reads a record -- ``__table__``,
    ``__tablename__`` and one attribute per column key -- so its insert, audit payload and
    entity key are those the mapped record would have had.

    Parameters
    ----------
    table : sqlalchemy.Table
        The mapped table (e.g. ``EquityPoint.__table__``).
    values : dict
        Column key -> value, every column except an autoincrement ``id`` (the writer reserves
        it), each already in its journal form (exact decimals, aware UTC times).
    """

    def __init__(self, table: Table, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self.__table__ = table
        # a plain str, as a mapped class's: the table's name is a str subclass (quoted_name),
        # which the sqlite3 driver adapts through a __conform__ lookup (~1.8 us per audit row)
        self.__tablename__ = str(table.name)


@dataclass(slots=True)
class _Buffered:
    """A record (or an audit-only event: ``record`` is ``None``) waiting for the batch's commit."""

    record: Base | ColumnRow | None
    kind: str
    ts: datetime
    run_id: str | None
    payload: str | None = None  # the canonical JSON of an audit-only event


# Buffered rows are inserted table by table in this order (an order names its risk decision,
# order events and fills name their order); the audit events follow them.
_INSERT_ORDER = (
    "risk_events",
    "orders",
    "order_events",
    "fills",
    "signals",
    "position_snapshots",
    "equity_curve",
    "equity_blocks",
)


# Statements built once (a statement built per commit costs more than its execution).
_CHAIN_HEAD = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"  # plain types


_AUDIT: Table = AuditEvent.__table__  # type: ignore[assignment]
_LINK_COLUMNS = [_AUDIT.c[name] for name in LINK_COLUMNS]


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


def _last_ids(conn: Connection, tables: list[Table]) -> dict[str, int]:
    """The highest id each table has handed out, in one query on SQLite.

    Ids are never reused: a deleted row's id still counts.
    """
    if not tables:
        return {}
    if conn.dialect.name == "sqlite":
        # a journal from before migration 0004 has no AUTOINCREMENT table, hence no counter
        counter = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"
        ).scalar()
        parts = []
        for table in tables:
            parts.append(f"(SELECT max(id) FROM {table.name})")
            seq = f"(SELECT seq FROM sqlite_sequence WHERE name = '{table.name}')"
            parts.append(seq if counter else "NULL")
        row = conn.exec_driver_sql("SELECT " + ", ".join(parts)).one()
        return {t.name: max(row[2 * i] or 0, row[2 * i + 1] or 0) for i, t in enumerate(tables)}
    last = {}
    for table in tables:
        last[table.name] = conn.scalar(select(func.max(table.c.id))) or 0
        if conn.dialect.name == "postgresql":
            sequence = conn.scalar(
                text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
            )
            if sequence:
                used = conn.scalar(text(f"SELECT last_value FROM {sequence}")) or 0
                last[table.name] = max(last[table.name], used)
    return last


def _advance_sequence(conn: Connection, table: Table, top: int) -> None:
    """Move a PostgreSQL sequence past ``top``: explicit ids do not move it.

    SQLite's ``AUTOINCREMENT`` counter follows explicit ids by itself.
    """
    if conn.dialect.name != "postgresql":
        return
    sequence = conn.scalar(
        text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
    )
    if sequence:
        conn.execute(
            text(f"SELECT setval(:sequence, GREATEST(:top, (SELECT last_value FROM {sequence})))"),
            {"sequence": sequence, "top": top},
        )


def _driver_dialect(engine: Engine) -> Dialect | None:
    """The dialect whose rows :class:`ChainWriter` hands to the driver itself: SQLite's.

    None elsewhere: those dialects' rows go through Core inserts, whose parameter processing
    (and executemany batching) is the driver's and SQLAlchemy's own; the tests hold the two
    paths' rows equal on SQLite.
    """
    return engine.dialect if engine.dialect.name == "sqlite" else None


def _commit_buffer(_session: Session) -> None:
    """The work of a transaction that only commits the buffered writes."""


class BufferIndex(Protocol):
    """What a store keeps about the rows in the buffer, handed over with them at a commit."""

    def detach(self) -> Callable[[], None]:
        """Empty the index (the buffer is being committed).

        Returns
        -------
        Callable[[], None]
            What to do once that commit succeeded (called without arguments, only after
            the commit).
        """
        ...


class PendingRows(Protocol):
    """A store's rows held back in memory until the next commit (the equity points of a run).

    The writer drains every registered source at the start of each write transaction, so
    the rows join the buffer behind everything queued before that moment and are committed
    with it.
    """

    def __bool__(self) -> bool:
        """Whether rows are waiting."""
        ...

    def drain(self) -> Iterator[tuple[ColumnRow, str, str | None]]:
        """The waiting rows, each with its audit kind and run, emptying the source.

        Yields
        ------
        tuple of (ColumnRow, str, str or None)
            A row to insert, the kind of its audit event and its run (None: outside a run).
        """
        ...


class _Batch(AbstractContextManager[None]):
    """:meth:`ChainWriter.batch`'s context manager: a depth counter, committed at depth 0."""

    __slots__ = ("_writer",)

    def __init__(self, writer: ChainWriter) -> None:
        self._writer = writer

    def __enter__(self) -> None:
        self._writer._batch_depth += 1

    def __exit__(self, *_exc: object) -> None:
        writer = self._writer
        writer._batch_depth -= 1
        if not writer._batch_depth:
            writer.flush()


class ChainWriter:
    """The transactions and the batch buffer every journal store writes through.

    Parameters
    ----------
    engine : Engine
        A SQLAlchemy engine on a migrated journal.
    retries : int, default 20
        How many times a write transaction that lost a race with another writer is retried
        (after 5 ms, doubling up to 0.5 s between attempts).
    """

    def __init__(self, engine: Engine, *, retries: int = 20) -> None:
        self.engine = engine
        self.retries = retries
        self.sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
        event.listen(self.sessions, "before_flush", _forbid_history_mutation)
        self._batch_depth = 0
        self._buffer: list[_Buffered] = []
        self._next_ids: dict[str, int] = {}  # next id to hand out per table
        self._indexes: list[BufferIndex] = []
        self._pending: list[PendingRows] = []
        self._batch = _Batch(self)
        # SQLite gets each commit's rows in their stored form, through the driver
        # (:meth:`_insert_rows`); other dialects through Core inserts
        self._stored_dialect = _driver_dialect(engine)
        self._encoders: dict[str, Callable[[Any], tuple[tuple[Any, ...], str]]] = {}
        self._link = link_encoder(self._stored_dialect)
        self._sql: dict[str, str] = {}  # table name -> the driver's INSERT statement
        self._with_id: dict[Table, bool] = {}  # whether a table's rows take a reserved id

    def index_buffer(self, index: BufferIndex) -> None:
        """Keep ``index`` in step with the buffer (see :class:`BufferIndex`).

        Parameters
        ----------
        index : BufferIndex
            Detached at every write transaction; its callback runs after the commit.
        """
        self._indexes.append(index)

    def hold(self, source: PendingRows) -> None:
        """Drain ``source`` into the buffer at the start of every write transaction.

        Parameters
        ----------
        source : PendingRows
            Rows a store keeps in memory until the next commit (see :class:`PendingRows`).
        """
        self._pending.append(source)

    @property
    def waiting(self) -> bool:
        """Whether anything waits for a commit (buffered records or held rows)."""
        return bool(self._buffer) or any(self._pending)

    def session(self) -> Session:
        """A read session; commits the current batch's buffer first.

        So a read sees every write made before it; writes through the session are refused
        unless append-only.

        Returns
        -------
        Session
            A new session of :attr:`sessions` (``expire_on_commit=False``); the caller
            closes it.
        """
        self.flush()
        return self.sessions()

    def batch(self) -> AbstractContextManager[None]:
        """Buffer the frequent writes made inside and commit them in one transaction at the end.

        See the module docstring for what commits earlier. Nested batches join the outermost
        one; the buffer is committed even when the block raises.

        Returns
        -------
        contextlib.AbstractContextManager
            A context manager (``with writer.batch(): ...``); entering it costs a counter
            increment, since a venue loop enters one per bar (a generator-based one cost
            ~1 µs per level).
        """
        return self._batch

    @property
    def in_batch(self) -> bool:
        """Whether a :meth:`batch` is open (buffered writes wait for its end)."""
        return self._batch_depth > 0

    def flush(self) -> None:
        """Commit the buffered writes and held rows now (nothing to do when none wait)."""
        if self.waiting:
            self.write(_commit_buffer)

    def buffered(self, record: T, kind: str, run_id: str | None) -> T:
        """Queue ``record`` and its audit event; commit at once outside a batch.

        Parameters
        ----------
        record : T
            A new mapped row of an audited table.
        kind : str
            The audit event kind recorded with it.
        run_id : str or None
            The run the event belongs to; None for a write outside a run.

        Returns
        -------
        T
            ``record`` itself (its ``id`` reserved when its table has one).
        """
        self.buffer_only(record, kind, run_id)
        if not self._batch_depth:
            self.flush()
        return record

    def buffer_only(self, record: Any, kind: str, run_id: str | None) -> None:
        """Queue ``record`` and its audit event for the next commit (the caller commits).

        Parameters
        ----------
        record : Any
            A new mapped row of an audited table.
        kind : str
            The audit event kind recorded with it.
        run_id : str or None
            The run the event belongs to; None for a write outside a run.
        """
        table = record.__table__
        with_id = self._with_id.get(table)
        if with_id is None:  # a ColumnCollection lookup per record cost ~0.3 us
            with_id = self._with_id[table] = "id" in table.c
        if with_id:
            record.id = self._reserve_id(table)
        self._buffer.append(_Buffered(record, kind, record_ts(record), run_id))

    def _reserve_id(self, table: Table) -> int:
        """The next id of ``table`` for a buffered row.

        Another writer may take ids before the buffer is committed: :meth:`_insert_buffer`
        then moves the buffer's ids past them (and the risk decision ids its orders name with
        them).
        """
        next_id = self._next_ids.get(table.name)
        if next_id is None:
            with self.engine.connect() as conn:
                next_id = _last_ids(conn, [table])[table.name] + 1
        self._next_ids[table.name] = next_id + 1
        return next_id

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction; retried whole when it lost a race.

        The buffered writes are committed first (so the chain keeps the order of the calls),
        in a transaction of their own: a write that fails must not take them with it.

        Parameters
        ----------
        work : Callable[[Session], T]
            Called with the transaction's session after the chain is locked
            (:func:`lock_chain`); it may be called again on a retry.

        Returns
        -------
        T
            What ``work`` returned in the attempt that committed.

        Raises
        ------
        OperationalError, IntegrityError
            When the failure is not a lost race (a locked database, or a clash on the
            audit chain's constraints), or the race is still lost after ``retries``
            retries.
        """
        if work is not _commit_buffer and self.waiting:
            self.flush()
        for source in self._pending:
            for row, kind, run_id in source.drain():
                self.buffer_only(row, kind, run_id)
        buffered, self._buffer = self._buffer, []
        on_commit = [index.detach() for index in self._indexes]
        delay = 0.005
        for attempt in range(self.retries + 1):
            try:
                if work is _commit_buffer:
                    # a Core transaction: an ORM session's own bookkeeping cost about as much
                    # as the rest of a small commit (the engine commits at every order)
                    with self.engine.begin() as conn:
                        lock_chain(conn)
                        self._insert_buffer(conn, buffered)
                    result = None
                else:
                    with self.sessions.begin() as session:
                        lock_chain(session)
                        if buffered:
                            self._insert_buffer(session.connection(), buffered)
                        result = work(session)
                for committed in on_commit:
                    committed()
                return result
            except (OperationalError, IntegrityError) as exc:
                racing = isinstance(exc, OperationalError) and "locked" in str(exc).lower()
                racing = racing or (
                    isinstance(exc, IntegrityError) and "audit_events" in str(exc).lower()
                )
                if not racing or attempt == self.retries:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")  # pragma: no cover

    def _insert_buffer(self, conn: Connection, buffered: list[_Buffered]) -> None:
        """Insert the buffered records and their audit events, one executemany per table.

        The chain links are computed here, after the head was read inside the transaction;
        each record is encoded once for both its insert and its audit payload
        (:func:`record_encoder`).
        """
        tables: dict[str, Table] = {}
        by_table: dict[str, list[Base]] = {}
        for item in buffered:
            if item.record is not None:
                table = item.record.__table__  # type: ignore[attr-defined]
                tables[table.name] = table
                by_table.setdefault(table.name, []).append(item.record)
        moved: dict[int, int] = {}  # risk event ids moved by the database's sequence
        with_ids = [tables[name] for name in by_table if "id" in tables[name].c]
        last_ids = _last_ids(conn, with_ids)
        for name, records in by_table.items():
            if name not in last_ids:
                continue
            last = last_ids[name]
            # the rows take the ids the database would give them now (another writer may have
            # taken the reserved ones; a reset sequence is followed as autoincrement would)
            shift = last + 1 - records[0].id  # type: ignore[attr-defined]
            if shift:
                for record in records:
                    old = record.id  # type: ignore[attr-defined]
                    record.id = old + shift  # type: ignore[attr-defined]
                    if name == "risk_events":
                        moved[old] = old + shift
            self._next_ids[name] = records[-1].id + 1  # type: ignore[attr-defined]
        if moved:
            for record in by_table.get("orders", []):
                rid = record.risk_event_id  # type: ignore[attr-defined]
                record.risk_event_id = moved.get(rid, rid)  # type: ignore[attr-defined]
        head = conn.exec_driver_sql(_CHAIN_HEAD).first()
        seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
        rows: dict[str, list[tuple[Any, ...]]] = {}
        links: list[tuple[Any, ...]] = []
        encoders = self._encoders
        link = self._link
        for item in buffered:
            record = item.record
            if record is None:
                entity_table = entity = None
                payload = item.payload
                assert payload is not None
            else:
                entity_table = record.__tablename__
                encode = encoders.get(entity_table)
                if encode is None:
                    encode = encoders[entity_table] = record_encoder(
                        record.__table__, self._stored_dialect
                    )
                # the insert's parameters and the audit payload in one pass over the columns
                params, payload = encode(record)
                rows.setdefault(entity_table, []).append(params)
                entity = entity_key(record)
            seq += 1
            row, prev = link(
                prev, seq, item.ts, item.kind, entity_table, entity, item.run_id, payload
            )
            links.append(row)
        for name in sorted(rows, key=_INSERT_ORDER.index):
            table = tables[name]
            self._insert_rows(conn, table, list(table.columns), rows[name])
            if "id" in table.c:
                _advance_sequence(conn, table, self._next_ids[name] - 1)
        self._insert_rows(conn, _AUDIT, _LINK_COLUMNS, links)

    def _insert_rows(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[Column[Any]],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Insert ``rows`` (values of ``columns``, in that order) with one executemany.

        On SQLite the values are already in their stored form (:func:`record_encoder` with the
        dialect) and go to the driver as they are, with the statement's text built once:
        SQLAlchemy's per-row parameter processing for a Core insert cost more than SQLite's
        own work. Elsewhere a Core insert processes them.
        """
        if self._stored_dialect is None:
            keys = [c.key for c in columns]
            conn.execute(_insert(table), [dict(zip(keys, row, strict=True)) for row in rows])
            return
        sql = self._sql.get(table.name)
        if sql is None:
            quote = conn.dialect.identifier_preparer.quote
            sql = self._sql[table.name] = (
                f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})"
            )
        conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]

    def add(self, session: Session, record: Base, kind: str, run_id: str | None) -> None:
        """Insert ``record`` and its audit event in ``session``'s transaction.

        Parameters
        ----------
        session : Session
            The open write session (flushed here; the caller commits).
        record : Base
            A new mapped row of an audited table.
        kind : str
            The audit event kind recorded with it.
        run_id : str or None
            The run the event belongs to; None for a write outside a run.
        """
        session.add(record)
        session.flush()
        append_audit_event(
            session,
            kind=kind,
            ts=record_ts(record),
            payload=audit_payload(record.__table__, record_payload(record)),
            run_id=run_id,
            entity_table=record.__tablename__,
            entity_key=entity_key(record),
        )

    def added(self, session: Session, record: T, kind: str, run_id: str | None) -> T:
        """:meth:`add`, returning ``record`` (for ``write(lambda s: ...)``).

        Parameters
        ----------
        session : Session
            The open write session.
        record : T
            A new mapped row of an audited table.
        kind : str
            The audit event kind recorded with it.
        run_id : str or None
            The run the event belongs to; None for a write outside a run.

        Returns
        -------
        T
            ``record``, flushed (its ``id`` assigned).
        """
        self.add(session, record, kind, run_id)  # type: ignore[arg-type]
        return record

    def audit(self, kind: str, payload: dict[str, Any], *, run_id: str | None = None) -> None:
        """An audit-only event (e.g. ``kill.requested``, ``reconcile.ok``, ``exchange.*``).

        Queued in the buffer, and committed at once outside a batch.

        Parameters
        ----------
        kind : str
            The event kind.
        payload : dict of str to Any
            The event's content; encoded with :func:`canonical_json` now, so a payload that
            cannot be journaled raises here.
        run_id : str or None, optional
            The run the event belongs to; None (default) for none.
        """
        # encoded now, so a payload that cannot be journaled fails its caller, not the commit
        self._buffer.append(_Buffered(None, kind, utcnow(), run_id, canonical_json(payload)))
        if not self._batch_depth:
            self.flush()
