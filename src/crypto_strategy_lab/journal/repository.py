"""The journal's one write path: :class:`Journal`, an append-only repository.

Every write inserts the record(s) *and* the matching audit-chain link (``journal.audit``) in
one transaction, so a record and its audit event exist together or not at all. Inside
:meth:`Journal.batch` (the engine opens one per bar) the records and audit events of the
engine's frequent writes (order events, fills, signals, risk decisions, equity, positions,
audit-only events) are buffered in memory and committed together, with SQLAlchemy Core
``executemany`` and the chain links computed in memory, when the batch ends -- or earlier:
an order is committed (with everything buffered before it) before :meth:`Journal.record_order`
returns, so it is on disk before it can reach a venue; any other write or read commits the
buffer first. A kill -9 inside a batch therefore loses exactly what a crash at the batch's
last commit would have lost.

There is no update or delete method; the sessions the journal opens refuse any attempt
(``JournalError``). The only mutable row is a run's ``status``/``ended_at``, set once by
:meth:`Journal.finish_run` (and audited).

Order state machine (``order_events``), checked on every append::

    new ──► submitted ──► partially_filled ──► filled
     │          │               │ ▲ (more fills)
     │          └──► cancelled / rejected / expired ◄──┘
     └──► any later state directly (crash recovery: the venue may already have filled
          an order whose "submitted" event was never written)

Terminal states (filled, cancelled, rejected, expired) accept no further event; the filled
quantity never decreases and never exceeds the order quantity.

Concurrent writers: on PostgreSQL appends are serialised by an advisory lock; on SQLite each
write takes the database's write lock first, and a writer that loses a race (``database is
locked`` or a unique-constraint clash on the chain head) retries its whole transaction. Ids
of buffered rows are reserved in memory and moved, at the commit, to what the database would
hand out then (another writer may have taken some).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Table,
    bindparam,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crypto_strategy_lab.core.enums import OrderStatus, TradingMode
from crypto_strategy_lab.core.orders import ALLOWED_TRANSITIONS, Fill, OrderRequest, Position
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.journal.audit import (
    AUDITED_MODELS,
    GENESIS_HASH,
    AuditEvent,
    AuditReport,
    append_audit_event,
    entity_key,
    event_hash,
    lock_chain,
    record_payload,
    verify_audit_chain,
)
from crypto_strategy_lab.journal.db import Base, make_engine, require_sqlite_file
from crypto_strategy_lab.journal.models import (
    Alert,
    AlertAck,
    EquityPoint,
    FillRecord,
    HaltEvent,
    Order,
    OrderEvent,
    PositionSnapshot,
    RiskEventRecord,
    Run,
    SignalRecord,
)
from crypto_strategy_lab.journal.types import (
    JournalError,
    canonical_json,
    exact_decimal,
    utc,
    utcnow,
)

T = TypeVar("T")

SEVERITIES = ("info", "warning", "error", "critical")
RUN_END_STATUSES = ("completed", "stopped", "failed")
RISK_DECISIONS = ("approve", "resize", "reject", "halt")
KILL_SWITCH_SCOPE = "global"

_MUTABLE_RUN_FIELDS = {"status", "ended_at"}


def _jsonable(value: Any) -> Any:
    """``value`` with decimals/datetimes/enums encoded as the audit chain encodes them."""
    return json.loads(canonical_json(value))


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


@dataclass
class _Buffered:
    """A record (or an audit-only event: ``record`` is ``None``) waiting for the batch's commit."""

    record: Base | None
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
)


# Statements built once (a statement built per commit costs more than its execution).
_CHAIN_HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_ORDER_EXISTS = select(Order.client_order_id).where(Order.client_order_id == bindparam("coid"))


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


def _last_ids(conn: Connection, tables: list[Table]) -> dict[str, int]:
    """The highest id each table has handed out (ids are never reused: a deleted row's id
    still counts), in one query on SQLite."""
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
    """Explicit ids do not move a PostgreSQL sequence: move it past ``top`` (SQLite's
    ``AUTOINCREMENT`` counter follows explicit ids by itself)."""
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


def _commit_buffer(_session: Session) -> None:
    """The work of a transaction that only commits the buffered writes."""


class Journal:
    """Append-only access to the journal database.

    Parameters
    ----------
    engine:
        A SQLAlchemy engine on a migrated journal (see :meth:`open`).
    retries:
        How many times a write transaction that lost a race with another writer is retried.
    """

    def __init__(self, engine: Engine, *, retries: int = 20) -> None:
        self.engine = engine
        self.retries = retries
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)
        event.listen(self._sessions, "before_flush", _forbid_history_mutation)
        self._batch_depth = 0
        self._buffer: list[_Buffered] = []
        # what the buffer holds that a later write of the same batch must see
        self._buffered_events: dict[str, OrderEvent] = {}  # latest order event per order
        self._buffered_fills: dict[tuple[str, str], FillRecord] = {}  # by (venue, trade id)
        self._next_ids: dict[str, int] = {}  # next id to hand out per table
        # rows that never change once committed, kept to check later writes without a query:
        # the orders this journal wrote or read, and the latest committed event of the orders
        # whose events it wrote (an order's events are written by the one engine running it)
        self._orders: dict[str, Order] = {}
        self._last_events: dict[str, OrderEvent] = {}

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        migrate: bool = True,
        create: bool = True,
        synchronous: str = "FULL",
    ) -> Journal:
        """The journal at ``url`` (default: ``CSL_JOURNAL_URL`` or the SQLite file in the data
        directory), migrated to the latest schema unless ``migrate=False``.

        ``create=False`` refuses a SQLite journal file that does not exist (a mistyped path
        must not silently become a new, empty journal). The storage is checked
        (:func:`~crypto_strategy_lab.journal.integrity.check_storage`) before anything is
        written. ``synchronous`` is SQLite's durability level (see :func:`make_engine`).
        """
        from crypto_strategy_lab.journal.integrity import check_storage, reading

        engine = make_engine(url, synchronous=synchronous)
        require_sqlite_file(engine, create=create)
        check_storage(engine)
        if migrate:
            from crypto_strategy_lab.journal.migrate import upgrade

            with reading(engine):
                upgrade(engine)
        return cls(engine)

    def session(self) -> Session:
        """A read session (writes through it are refused unless append-only); commits the
        current batch's buffer first, so a read sees every write made before it."""
        self.flush()
        return self._sessions()

    # -- the write path ------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Buffer the frequent writes made inside and commit them in one transaction at the
        end (see the module docstring for what commits earlier). Nested batches join the
        outermost one; the buffer is committed even when the block raises."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if not self._batch_depth:
                self.flush()

    def flush(self) -> None:
        """Commit the buffered writes now (nothing to do outside a batch)."""
        if self._buffer:
            self._write(_commit_buffer)

    def _buffered(self, record: T, kind: str, run_id: str | None) -> T:
        """Queue ``record`` and its audit event; commit at once outside a batch."""
        self._buffer_only(record, kind, run_id)
        if not self._batch_depth:
            self.flush()
        return record

    def _buffer_only(self, record: Any, kind: str, run_id: str | None) -> None:
        if "id" in record.__table__.c:
            record.id = self._reserve_id(record.__table__)
        self._buffer.append(_Buffered(record, kind, _record_ts(record), run_id))

    def _reserve_id(self, table: Table) -> int:
        """The next id of ``table`` for a buffered row. Another writer may take ids before the
        buffer is committed: :meth:`_insert_buffer` then moves the buffer's ids past them
        (and the risk decision ids its orders name with them)."""
        next_id = self._next_ids.get(table.name)
        if next_id is None:
            with self.engine.connect() as conn:
                next_id = _last_ids(conn, [table])[table.name] + 1
        self._next_ids[table.name] = next_id + 1
        return next_id

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction; retried whole when it lost a race. The buffered
        writes are committed first (so the chain keeps the order of the calls), in a
        transaction of their own: a write that fails must not take them with it."""
        if work is not _commit_buffer and self._buffer:
            self.flush()
        buffered, self._buffer = self._buffer, []
        events, self._buffered_events, self._buffered_fills = self._buffered_events, {}, {}
        delay = 0.005
        for attempt in range(self.retries + 1):
            try:
                with self._sessions.begin() as session:
                    lock_chain(session)
                    if buffered:
                        self._insert_buffer(session.connection(), buffered)
                    result = work(session)
                self._last_events.update(events)
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
        """Insert the buffered records and their audit events (Core ``executemany``); the
        chain links are computed here, after the head was read inside the transaction."""
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
        head = conn.execute(_CHAIN_HEAD).first()
        seq, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
        rows: dict[str, list[dict[str, Any]]] = {}
        links: list[dict[str, Any]] = []
        for item in buffered:
            entity_table = entity = None
            payload = item.payload
            if item.record is not None:
                values = {
                    c.key: getattr(item.record, c.key) for c in tables[item.record.__tablename__].c
                }
                rows.setdefault(item.record.__tablename__, []).append(values)
                payload = canonical_json(record_payload(item.record))
                entity_table, entity = item.record.__tablename__, entity_key(item.record)
            assert payload is not None
            seq += 1
            link = event_hash(
                prev,
                seq=seq,
                ts=item.ts,
                kind=item.kind,
                entity_table=entity_table,
                entity_key=entity,
                run_id=item.run_id,
                payload=payload,
            )
            links.append(
                {
                    "seq": seq,
                    "ts": item.ts,
                    "run_id": item.run_id,
                    "kind": item.kind,
                    "entity_table": entity_table,
                    "entity_key": entity,
                    "payload": payload,
                    "prev_hash": prev,
                    "hash": link,
                }
            )
            prev = link
        for name in sorted(rows, key=lambda n: _INSERT_ORDER.index(n)):
            conn.execute(_insert(tables[name]), rows[name])
            if "id" in tables[name].c:
                _advance_sequence(conn, tables[name], self._next_ids[name] - 1)
        conn.execute(_insert(AuditEvent.__table__), links)

    def _add(self, session: Session, record: Base, kind: str, run_id: str | None) -> None:
        session.add(record)
        session.flush()
        append_audit_event(
            session,
            kind=kind,
            ts=_record_ts(record),
            payload=record_payload(record),
            run_id=run_id,
            entity_table=record.__tablename__,
            entity_key=entity_key(record),
        )

    def start_run(
        self,
        *,
        name: str,
        mode: TradingMode | str,
        capital: Decimal | float | str,
        strategies: Iterable[str],
        config: dict[str, Any] | None = None,
        run_id: str | None = None,
        started_at: datetime | None = None,
    ) -> Run:
        """Open a run; returns it (``run_id`` defaults to a fresh UUID4)."""
        run = Run(
            run_id=run_id or uuid.uuid4().hex,
            name=name,
            mode=TradingMode(mode).value,
            capital=exact_decimal(Decimal(str(capital))),
            strategies=list(strategies),
            config=_jsonable(config or {}),
            started_at=utc(started_at) if started_at else utcnow(),
            status="running",
            ended_at=None,
        )

        def work(session: Session) -> Run:
            self._add(session, run, "run.started", run.run_id)
            return run

        return self._write(work)

    def finish_run(self, run_id: str, status: str, *, ended_at: datetime | None = None) -> Run:
        """Close a run once with ``status`` in completed | stopped | failed."""
        if status not in RUN_END_STATUSES:
            raise JournalError(f"run status must be one of {RUN_END_STATUSES}, got {status!r}")

        def work(session: Session) -> Run:
            run = session.get(Run, run_id)
            if run is None:
                raise JournalError(f"no run {run_id!r} in the journal")
            if run.status != "running":
                raise JournalError(f"run {run_id} already ended ({run.status})")
            run.status = status
            run.ended_at = utc(ended_at) if ended_at else utcnow()
            session.flush()
            append_audit_event(
                session,
                kind="run.finished",
                ts=run.ended_at,
                payload=record_payload(run),
                run_id=run_id,
                entity_table="runs",
                entity_key=run_id,
            )
            return run

        return self._write(work)

    def record_order(
        self,
        run_id: str,
        request: OrderRequest,
        *,
        venue: str,
        risk_event_id: int | None = None,
        ts: datetime | None = None,
    ) -> Order:
        """Persist an order intent and its first state ``new`` *before* it is sent.

        Raises ``JournalError`` if the client order id is already journaled (a resend must
        reuse the existing record, never create a second one).
        """
        created = utc(ts) if ts else utcnow()
        order = Order(
            client_order_id=request.client_order_id,
            run_id=run_id,
            created_at=created,
            strategy=request.strategy,
            venue=venue,
            symbol=request.symbol,
            market=request.market.value if request.market else None,
            side=request.side.value,
            order_type=request.order_type.value,
            time_in_force=request.time_in_force.value,
            quantity=exact_decimal(request.quantity),
            price=_dec(request.price),
            stop_price=_dec(request.stop_price),
            stop_loss=_dec(request.stop_loss),
            take_profit=_dec(request.take_profit),
            reduce_only=request.reduce_only,
            risk_event_id=risk_event_id,
        )

        if order.client_order_id in self._orders or self._journaled(order.client_order_id):
            raise JournalError(f"order {order.client_order_id} is already in the journal")
        first = OrderEvent(
            client_order_id=order.client_order_id,
            run_id=run_id,
            seq=1,
            ts=created,
            status=OrderStatus.NEW.value,
            venue_order_id=None,
            filled_quantity=Decimal(0),
            average_price=None,
            reason=None,
        )
        self._buffer_only(order, "order.created", run_id)
        self._buffer_only(first, "order.new", run_id)
        self._buffered_events[order.client_order_id] = first
        # journal first: the order (and everything buffered before it) is committed before
        # the caller can send it to a venue
        self.flush()
        self._orders[order.client_order_id] = order
        return order

    def _journaled(self, client_order_id: str) -> bool:
        """Whether the journal holds this order (one Core query, no ORM load)."""
        with self.engine.connect() as conn:
            return conn.scalar(_ORDER_EXISTS, {"coid": client_order_id}) is not None

    def _order(self, client_order_id: str) -> Order | None:
        """The journaled order (``None``: not journaled); orders never change once written."""
        order = self._orders.get(client_order_id)
        if order is None:
            with self._sessions() as session:
                order = session.get(Order, client_order_id)
            if order is not None:
                self._orders[client_order_id] = order
        return order

    def record_order_event(
        self,
        client_order_id: str,
        status: OrderStatus | str,
        *,
        filled_quantity: Decimal | None = None,
        average_price: Decimal | None = None,
        venue_order_id: str | None = None,
        reason: str | None = None,
        ts: datetime | None = None,
    ) -> OrderEvent:
        """Append the order's next state, checked against the state machine.

        ``filled_quantity`` and ``venue_order_id`` default to the previous event's values.
        """
        new_status = OrderStatus(status)

        def build() -> tuple[OrderEvent, str]:
            order = self._order(client_order_id)
            if order is None:
                raise JournalError(f"no order {client_order_id!r} in the journal")
            last = self._buffered_events.get(client_order_id) or self._last_events.get(
                client_order_id
            )
            if last is None:
                with self._sessions() as session:
                    last = _last_event(session, client_order_id)
            current = OrderStatus(last.status)
            if new_status not in ALLOWED_TRANSITIONS[current]:
                raise JournalError(
                    f"order {client_order_id}: illegal transition {current} -> {new_status}"
                )
            filled = last.filled_quantity if filled_quantity is None else filled_quantity
            filled = exact_decimal(filled)
            if filled < last.filled_quantity:
                raise JournalError(
                    f"order {client_order_id}: filled quantity cannot decrease "
                    f"({last.filled_quantity} -> {filled})"
                )
            if filled > order.quantity:
                raise JournalError(
                    f"order {client_order_id}: filled {filled} exceeds quantity {order.quantity}"
                )
            if new_status is OrderStatus.FILLED and filled != order.quantity:
                raise JournalError(
                    f"order {client_order_id}: 'filled' needs filled_quantity == "
                    f"{order.quantity}, got {filled}"
                )
            if new_status is OrderStatus.PARTIALLY_FILLED and not 0 < filled < order.quantity:
                raise JournalError(
                    f"order {client_order_id}: 'partially_filled' needs 0 < filled < "
                    f"{order.quantity}, got {filled}"
                )
            record = OrderEvent(
                client_order_id=client_order_id,
                run_id=order.run_id,
                seq=last.seq + 1,
                ts=utc(ts) if ts else utcnow(),
                status=new_status.value,
                venue_order_id=venue_order_id or last.venue_order_id,
                filled_quantity=filled,
                average_price=_dec(average_price)
                if average_price is not None
                else (last.average_price),
                reason=reason,
            )
            return record, order.run_id

        record, run_id = build()
        self._buffered_events[client_order_id] = record
        self._buffered(record, f"order.{new_status.value}", run_id)
        return record

    def record_fill(
        self, run_id: str, fill: Fill, *, venue: str, strategy: str | None = None
    ) -> tuple[FillRecord, bool]:
        """Journal a fill once. Returns ``(record, created)``; a fill whose ``(venue,
        trade_id)`` is already journaled for the same run and order returns the existing record
        and ``False``. The same trade id on another order or run is a venue id collision and
        raises :class:`JournalError` (treating it as a duplicate would silently lose a fill)."""

        def build(session: Session) -> tuple[FillRecord, bool]:
            if fill.trade_id is not None:
                existing = self._buffered_fills.get((venue, fill.trade_id)) or session.scalar(
                    select(FillRecord).where(
                        FillRecord.venue == venue, FillRecord.trade_id == fill.trade_id
                    )
                )
                if existing is not None:
                    if (existing.run_id, existing.client_order_id) != (
                        run_id,
                        fill.client_order_id,
                    ):
                        raise JournalError(
                            f"trade id {fill.trade_id!r} at {venue} is already journaled for "
                            f"order {existing.client_order_id!r} of run {existing.run_id}; a "
                            "venue's trade ids must be unique (refusing to drop this fill)"
                        )
                    return existing, False
            coid = fill.client_order_id
            if coid is not None and self._order(coid) is None:
                raise JournalError(f"fill for unknown order {coid!r}")
            record = FillRecord(
                run_id=run_id,
                client_order_id=coid,
                venue_order_id=fill.order_id,
                trade_id=fill.trade_id,
                venue=venue,
                strategy=strategy,
                symbol=fill.symbol,
                side=fill.side.value,
                quantity=exact_decimal(fill.quantity),
                price=exact_decimal(fill.price),
                fee=exact_decimal(fill.fee),
                fee_currency=fill.fee_currency,
                ts=utc(fill.timestamp),
            )
            return record, True

        with self._sessions() as session:  # orders are committed when recorded
            record, created = build(session)
        if created:
            if fill.trade_id is not None:
                self._buffered_fills[(venue, fill.trade_id)] = record
            self._buffered(record, "fill", run_id)
        return record, created

    def record_position(
        self,
        run_id: str,
        position: Position,
        *,
        ts: datetime | None = None,
        strategy: str | None = None,
        source: str = "journal",
    ) -> PositionSnapshot:
        if source not in ("journal", "venue"):
            raise JournalError(f"position source must be 'journal' or 'venue', got {source!r}")
        record = PositionSnapshot(
            run_id=run_id,
            ts=utc(ts) if ts else utcnow(),
            venue=position.venue,
            symbol=position.symbol,
            market=position.market.value if position.market else None,
            strategy=strategy,
            quantity=exact_decimal(position.quantity),
            average_price=exact_decimal(position.average_price),
            mark_price=_dec(position.mark_price),
            unrealized_pnl=_dec(position.unrealized_pnl),
            source=source,
        )
        return self._buffered(record, "position", run_id)

    def record_equity(
        self,
        run_id: str,
        *,
        ts: datetime,
        equity: Decimal,
        cash: Decimal,
        gross_exposure: Decimal = Decimal(0),
        net_exposure: Decimal = Decimal(0),
        realized_pnl: Decimal = Decimal(0),
        unrealized_pnl: Decimal = Decimal(0),
    ) -> EquityPoint:
        record = EquityPoint(
            run_id=run_id,
            ts=utc(ts),
            equity=exact_decimal(equity),
            cash=exact_decimal(cash),
            gross_exposure=exact_decimal(gross_exposure),
            net_exposure=exact_decimal(net_exposure),
            realized_pnl=exact_decimal(realized_pnl),
            unrealized_pnl=exact_decimal(unrealized_pnl),
        )
        return self._buffered(record, "equity", run_id)

    def record_signal(self, run_id: str, signal: Signal) -> SignalRecord:
        record = SignalRecord(
            run_id=run_id,
            ts=utc(signal.timestamp),
            recorded_at=utcnow(),
            strategy=signal.strategy,
            symbol=signal.symbol,
            action=signal.action.value,
            strength=float(signal.strength),
            price=signal.price,
            quantity=_dec(signal.quantity),
            statistics=_jsonable(signal.statistics),
        )
        return self._buffered(record, "signal", run_id)

    def record_risk_event(
        self,
        *,
        decision: str,
        symbol: str,
        side: str,
        reason: str,
        requested_quantity: Decimal,
        approved_quantity: Decimal,
        reference_price: Decimal,
        rules: list[dict[str, Any]],
        rule: str | None = None,
        run_id: str | None = None,
        client_order_id: str | None = None,
        strategy: str | None = None,
        venue: str | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        ts: datetime | None = None,
    ) -> RiskEventRecord:
        """Journal one risk decision (``RiskEngine`` calls this for every evaluation)."""
        if decision not in RISK_DECISIONS:
            raise JournalError(f"risk decision must be one of {RISK_DECISIONS}, got {decision!r}")
        record = RiskEventRecord(
            run_id=run_id,
            ts=utc(ts) if ts else utcnow(),
            client_order_id=client_order_id,
            strategy=strategy,
            venue=venue,
            symbol=symbol,
            side=str(side),
            decision=decision,
            rule=rule,
            reason=reason,
            requested_quantity=exact_decimal(requested_quantity),
            approved_quantity=exact_decimal(approved_quantity),
            reference_price=exact_decimal(reference_price),
            stop_loss=_dec(stop_loss),
            take_profit=_dec(take_profit),
            rules=_jsonable(rules),
        )
        return self._buffered(record, f"risk.{decision}", run_id)

    def raise_alert(
        self,
        severity: str,
        source: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        run_id: str | None = None,
        ts: datetime | None = None,
    ) -> Alert:
        if severity not in SEVERITIES:
            raise JournalError(f"alert severity must be one of {SEVERITIES}, got {severity!r}")
        record = Alert(
            run_id=run_id,
            ts=utc(ts) if ts else utcnow(),
            severity=severity,
            source=source,
            message=message,
            details=_jsonable(details or {}),
        )
        return self._write(lambda s: self._added(s, record, f"alert.{severity}", run_id))

    def acknowledge_alert(
        self, alert_id: int, *, by: str, note: str | None = None, ts: datetime | None = None
    ) -> AlertAck:
        def work(session: Session) -> AlertAck:
            alert = session.get(Alert, alert_id)
            if alert is None:
                raise JournalError(f"no alert {alert_id} in the journal")
            if session.scalar(select(AlertAck).where(AlertAck.alert_id == alert_id)):
                raise JournalError(f"alert {alert_id} is already acknowledged")
            record = AlertAck(
                alert_id=alert_id, ts=utc(ts) if ts else utcnow(), acknowledged_by=by, note=note
            )
            return self._added(session, record, "alert.ack", alert.run_id)

        return self._write(work)

    def halt(
        self,
        reason: str,
        *,
        scope: str = KILL_SWITCH_SCOPE,
        actor: str = "system",
        run_id: str | None = None,
    ) -> HaltEvent:
        """Set a halt switch (scope ``global`` = the kill switch); idempotent in effect."""
        return self._switch("halt", scope, reason, actor, run_id)

    def rearm(self, reason: str, *, actor: str, scope: str = KILL_SWITCH_SCOPE) -> HaltEvent:
        """Re-arm a halt switch by hand (``actor`` names the human)."""
        if not actor or actor == "system":
            raise JournalError("re-arming a halt needs a named human actor")
        return self._switch("rearm", scope, reason, actor, None)

    def _switch(
        self, action: str, scope: str, reason: str, actor: str, run_id: str | None
    ) -> HaltEvent:
        record = HaltEvent(
            ts=utcnow(), scope=scope, action=action, reason=reason, actor=actor, run_id=run_id
        )
        return self._write(lambda s: self._added(s, record, f"halt.{action}", run_id))

    def audit(self, kind: str, payload: dict[str, Any], *, run_id: str | None = None) -> None:
        """An audit-only event (e.g. ``kill.requested``, ``reconcile.ok``, ``exchange.*``)."""
        # encoded now, so a payload that cannot be journaled fails its caller, not the commit
        self._buffer.append(_Buffered(None, kind, utcnow(), run_id, canonical_json(payload)))
        if not self._batch_depth:
            self.flush()

    def _added(self, session: Session, record: T, kind: str, run_id: str | None) -> T:
        self._add(session, record, kind, run_id)  # type: ignore[arg-type]
        return record

    # -- reads -----------------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run | None:
        with self.session() as session:
            return session.get(Run, run_id)

    def runs(self) -> list[Run]:
        with self.session() as session:
            return list(session.scalars(select(Run).order_by(Run.started_at)))

    def order(self, client_order_id: str) -> Order | None:
        return self._order(client_order_id)

    def order_status(self, client_order_id: str) -> OrderEvent:
        """The order's latest event (its current state)."""
        with self.session() as session:
            if session.get(Order, client_order_id) is None:
                raise JournalError(f"no order {client_order_id!r} in the journal")
            return _last_event(session, client_order_id)

    def order_events(self, client_order_id: str) -> list[OrderEvent]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(OrderEvent)
                    .where(OrderEvent.client_order_id == client_order_id)
                    .order_by(OrderEvent.seq)
                )
            )

    def open_orders(self, run_id: str | None = None) -> list[tuple[Order, OrderEvent]]:
        """Orders whose latest state is not terminal (new, submitted, partially filled)."""
        latest = (
            select(OrderEvent.client_order_id, func.max(OrderEvent.seq).label("seq"))
            .group_by(OrderEvent.client_order_id)
            .subquery()
        )
        stmt = (
            select(Order, OrderEvent)
            .join(OrderEvent, OrderEvent.client_order_id == Order.client_order_id)
            .join(
                latest,
                (latest.c.client_order_id == OrderEvent.client_order_id)
                & (latest.c.seq == OrderEvent.seq),
            )
            .where(OrderEvent.status.in_([s.value for s in OrderStatus if not s.is_terminal]))
            .order_by(Order.created_at)
        )
        if run_id is not None:
            stmt = stmt.where(Order.run_id == run_id)
        with self.session() as session:
            return [(o, e) for o, e in session.execute(stmt)]

    def fills(self, run_id: str | None = None) -> list[FillRecord]:
        stmt = select(FillRecord).order_by(FillRecord.ts, FillRecord.id)
        if run_id is not None:
            stmt = stmt.where(FillRecord.run_id == run_id)
        with self.session() as session:
            return list(session.scalars(stmt))

    def signals(self, run_id: str) -> list[SignalRecord]:
        """The run's journaled signals, in the order they were recorded."""
        stmt = select(SignalRecord).where(SignalRecord.run_id == run_id).order_by(SignalRecord.id)
        with self.session() as session:
            return list(session.scalars(stmt))

    def latest_positions(self, run_id: str, *, source: str = "journal") -> list[PositionSnapshot]:
        """The latest snapshot of each (venue, symbol, strategy) for a run."""
        with self.session() as session:
            rows = session.scalars(
                select(PositionSnapshot)
                .where(PositionSnapshot.run_id == run_id, PositionSnapshot.source == source)
                .order_by(PositionSnapshot.ts, PositionSnapshot.id)
            )
            latest: dict[tuple[str, str, str | None], PositionSnapshot] = {}
            for row in rows:
                latest[(row.venue, row.symbol, row.strategy)] = row
            return list(latest.values())

    def equity_frame(self, run_id: str) -> pd.DataFrame:
        """The equity curve as a float DataFrame indexed by UTC ``ts``."""
        with self.session() as session:
            rows = session.scalars(
                select(EquityPoint)
                .where(EquityPoint.run_id == run_id)
                .order_by(EquityPoint.ts, EquityPoint.id)
            ).all()
        columns = [
            "equity",
            "cash",
            "gross_exposure",
            "net_exposure",
            "realized_pnl",
            "unrealized_pnl",
        ]
        frame = pd.DataFrame(
            {c: [float(getattr(r, c)) for r in rows] for c in columns},
            index=pd.DatetimeIndex([r.ts for r in rows], name="ts"),
        )
        return frame

    def peak_equity(self, run_id: str) -> Decimal | None:
        with self.session() as session:
            values = session.scalars(select(EquityPoint.equity).where(EquityPoint.run_id == run_id))
            return max(values, default=None)

    def equity_at_or_before(self, run_id: str, ts: datetime) -> Decimal | None:
        """The last equity value at or before ``ts`` (e.g. the UTC day's opening equity)."""
        with self.session() as session:
            return session.scalar(
                select(EquityPoint.equity)
                .where(EquityPoint.run_id == run_id, EquityPoint.ts <= utc(ts))
                .order_by(EquityPoint.ts.desc(), EquityPoint.id.desc())
                .limit(1)
            )

    def alerts(self, *, unacknowledged_only: bool = False) -> list[tuple[Alert, AlertAck | None]]:
        stmt = (
            select(Alert, AlertAck)
            .outerjoin(AlertAck, AlertAck.alert_id == Alert.id)
            .order_by(Alert.ts, Alert.id)
        )
        if unacknowledged_only:
            stmt = stmt.where(AlertAck.id.is_(None))
        with self.session() as session:
            return [(a, k) for a, k in session.execute(stmt)]

    def risk_events(self, run_id: str | None = None) -> list[RiskEventRecord]:
        stmt = select(RiskEventRecord).order_by(RiskEventRecord.id)
        if run_id is not None:
            stmt = stmt.where(RiskEventRecord.run_id == run_id)
        with self.session() as session:
            return list(session.scalars(stmt))

    def halt_state(self, scope: str = KILL_SWITCH_SCOPE) -> HaltEvent | None:
        """The latest halt event of ``scope`` (``None``: never halted)."""
        # halt events are never buffered: no need to commit a batch to read them (the risk
        # engine reads the kill switch on every decision)
        with self._sessions() as session:
            return session.scalar(
                select(HaltEvent)
                .where(HaltEvent.scope == scope)
                .order_by(HaltEvent.id.desc())
                .limit(1)
            )

    def is_halted(self, scope: str = KILL_SWITCH_SCOPE) -> bool:
        """Whether the latest halt event of ``scope`` is a halt (one Core query: the risk
        engine asks on every decision)."""
        with self.engine.connect() as conn:
            action = conn.scalar(
                select(HaltEvent.action)
                .where(HaltEvent.scope == scope)
                .order_by(HaltEvent.id.desc())
                .limit(1)
            )
        return action == "halt"

    def verify(self, *, expected_head: str | None = None) -> AuditReport:
        return verify_audit_chain(self.engine, expected_head=expected_head)


def _dec(value: Decimal | None) -> Decimal | None:
    return None if value is None else exact_decimal(value)


def _record_ts(record: Base) -> datetime:
    for name in ("ts", "created_at", "started_at"):
        value = getattr(record, name, None)
        if isinstance(value, datetime):
            return value
    return utcnow()


def _last_event(session: Session, client_order_id: str) -> OrderEvent:
    event_ = session.scalar(
        select(OrderEvent)
        .where(OrderEvent.client_order_id == client_order_id)
        .order_by(OrderEvent.seq.desc())
        .limit(1)
    )
    if event_ is None:
        raise JournalError(f"order {client_order_id} has no events (corrupt journal)")
    return event_


__all__ = ["AUDITED_MODELS", "Journal"]
