"""The hash-chained audit log and its verifier.

Every journal write appends one ``audit_events`` row in the same transaction. Row ``n``
carries

.. math::  h_n = \\mathrm{SHA256}\\big(h_{n-1} \\,\\|\\, c_n\\big), \\qquad h_0 = 0^{64},

where :math:`c_n` is the canonical JSON of the row's own content (sequence number, time,
kind, entity, run and the canonical JSON ``payload`` of the journaled record). This is the
hash-chain construction of Haber & Stornetta (1991), "How to time-stamp a digital document",
*J. Cryptology* 3(2).

:func:`verify_audit_chain` detects

* an **edited** audit row (its recomputed hash differs from the stored one),
* a **deleted** audit row (a gap in ``seq`` and a broken ``prev_hash`` link),
* an **inserted** audit row (its successor's ``prev_hash`` no longer matches, or ``seq``
  repeats/skips),
* an edited, deleted or inserted **journal record** (orders, fills, ...): each audited record
  must equal the payload of the latest audit event naming it, and every audit event that
  names a record must find it,
* a deleted record whose id was later **reused**: a row of an append-only table is written by
  exactly one audit event (the journal's tables never reuse ids, ``AUTOINCREMENT`` on SQLite,
  so this can only happen behind the journal's back).

What a chain cannot prove on its own: deleting the *last* rows together with their records,
or rewriting the whole chain with recomputed hashes. Against those, keep the head hash that
``csl audit verify`` prints somewhere else and pass it back as ``expected_head``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import Connection, Engine, Select, String, Table, func, select, text, type_coerce
from sqlalchemy.orm import DeclarativeBase, Session

from crypto_strategy_lab.journal.models import (
    Alert,
    AlertAck,
    AuditEvent,
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
from crypto_strategy_lab.journal.trials import DataFingerprintRecord, TrialRecord
from crypto_strategy_lab.journal.types import (
    ExactDecimal,
    UTCDateTime,
    canonical_json,
    stored_decimal_text,
    stored_time_json,
)
from crypto_strategy_lab.journal.verdicts import GateVerdictRecord

GENESIS_HASH = "0" * 64

# Every table whose rows are audited, with the column that names a row in ``entity_key``.
AUDITED_MODELS: dict[str, tuple[type[DeclarativeBase], str]] = {
    "runs": (Run, "run_id"),
    "orders": (Order, "client_order_id"),
    "order_events": (OrderEvent, "id"),
    "fills": (FillRecord, "id"),
    "position_snapshots": (PositionSnapshot, "id"),
    "equity_curve": (EquityPoint, "id"),
    "signals": (SignalRecord, "id"),
    "risk_events": (RiskEventRecord, "id"),
    "alerts": (Alert, "id"),
    "alert_acks": (AlertAck, "id"),
    "halt_events": (HaltEvent, "id"),
    # research's records: a trial or a gate verdict inserted by hand must fail verification
    "trials": (TrialRecord, "id"),
    "data_fingerprints": (DataFingerprintRecord, "content"),
    "gate_verdicts": (GateVerdictRecord, "id"),
}

# Tables whose rows are never changed once written (every audited table but ``runs``, whose
# end is a second audited write of the same row).
WRITTEN_ONCE = frozenset(AUDITED_MODELS) - {"runs"}


def record_payload(record: DeclarativeBase) -> dict[str, Any]:
    """Every column of a mapped row, by column name."""
    table = record.__table__  # type: ignore[attr-defined]
    return {col.name: getattr(record, col.key) for col in table.columns}


def entity_key(record: DeclarativeBase) -> str:
    key_column = AUDITED_MODELS[record.__tablename__][1]  # type: ignore[attr-defined]
    return str(getattr(record, key_column))


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """``SHA-256(prev_hash || canonical_json(content))`` as 64 hex characters."""
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


def event_hash(
    prev_hash: str,
    *,
    seq: int,
    ts: datetime,
    kind: str,
    entity_table: str | None,
    entity_key: str | None,
    run_id: str | None,
    payload: str,
) -> str:
    """The chain's one rule: the hash of audit event ``seq`` after ``prev_hash``.

    Equal to ``chain_hash(prev_hash, {seq, ts, kind, entity_table, entity_key, run_id,
    payload})``; the canonical JSON of that fixed shape is written out directly (sorted
    keys, each value encoded as :func:`canonical_json` encodes it), which makes verifying a
    chain several times faster. Every writer (single writes, per-bar batches, migrations) and
    :func:`verify_audit_chain` compute a link with this function; ``payload`` is the
    canonical JSON text stored in the row.
    """
    return _link(prev_hash, seq, _scalar_json(ts), kind, entity_table, entity_key, run_id, payload)


def _link(
    prev_hash: str,
    seq: int,
    ts_json: str,
    kind: str,
    entity_table: str | None,
    entity_key: str | None,
    run_id: str | None,
    payload: str,
) -> str:
    """:func:`event_hash` with the time already as its canonical JSON (the verifier reads
    SQLite's stored text and rewrites it, :func:`~.types.stored_time_json`)."""
    content = (
        '{"entity_key":'
        + _scalar_json(entity_key)
        + ',"entity_table":'
        + _scalar_json(entity_table)
        + ',"kind":'
        + _scalar_json(kind)
        + ',"payload":'
        + _scalar_json(payload)
        + ',"run_id":'
        + _scalar_json(run_id)
        + ',"seq":'
        + _scalar_json(seq)
        + ',"ts":'
        + ts_json
        + "}"
    )
    return hashlib.sha256((prev_hash + content).encode("utf-8")).hexdigest()


def _scalar_json(value: Any) -> str:
    """One value of an audit event as :func:`canonical_json` writes it."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    return canonical_json(value)


def lock_chain(session: Session) -> None:
    """Serialise chain appends: a transaction-scoped advisory lock on PostgreSQL; on SQLite
    the database's write lock, taken at once by a write statement that changes nothing.

    The writer then reads the chain head (and, for a batch, the tables' last ids) knowing
    that no other writer can change them before its commit. Appenders that still race (a
    writer that does not lock) lose on the unique ``seq``/``prev_hash`` constraints and the
    repository retries them.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7243001)"))
    elif dialect == "sqlite":
        session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))


def append_audit_event(
    session: Session,
    *,
    kind: str,
    ts: datetime,
    payload: dict[str, Any],
    run_id: str | None = None,
    entity_table: str | None = None,
    entity_key: str | None = None,
) -> AuditEvent:
    """Append the next link of the chain (flushes; the caller commits)."""
    head = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    event = AuditEvent(
        seq=seq,
        ts=ts,
        run_id=run_id,
        kind=kind,
        entity_table=entity_table,
        entity_key=entity_key,
        payload=canonical_json(payload),
        prev_hash=prev,
        hash="",
    )
    event.hash = event_hash(
        prev,
        seq=seq,
        ts=event.ts,
        kind=kind,
        entity_table=entity_table,
        entity_key=entity_key,
        run_id=run_id,
        payload=event.payload,
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class AuditReport:
    """The verifier's answer: ``ok`` when ``problems`` is empty."""

    n_events: int
    head_hash: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class _ChainCheck:
    """One pass over the audit events in ``seq`` order: the links, the written-once rule, and
    the latest payload naming each record (for :func:`_check_records`)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.n_events = 0
        self.head = GENESIS_HASH
        self.next_seq = 1
        self.latest: dict[str, dict[str, tuple[int, str]]] = {}  # table -> key -> (seq, payload)
        self.writers: dict[tuple[str, str], list[int]] = {}  # a written-once row's 2nd+ writers

    def add(
        self,
        seq: int,
        ts_json: str,
        kind: str,
        entity_table: str | None,
        entity_key: str | None,
        run_id: str | None,
        payload: str,
        prev_hash: str,
        hash_: str,
    ) -> None:
        problems = self.problems
        expected_seq = self.next_seq
        if seq != expected_seq:
            problems.append(
                f"audit seq {seq}: expected seq {expected_seq} (a row was deleted or inserted)"
            )
        if prev_hash != self.head:
            problems.append(
                f"audit seq {seq}: prev_hash does not match the previous row's hash "
                "(a row before it was deleted, inserted or edited)"
            )
        link = _link(prev_hash, seq, ts_json, kind, entity_table, entity_key, run_id, payload)
        if link != hash_:
            problems.append(f"audit seq {seq}: content does not match its hash (edited)")
        self.head = hash_
        self.next_seq = seq + 1
        self.n_events += 1
        if entity_table is None or entity_key is None:
            return
        named = self.latest.setdefault(entity_table, {})
        if entity_table in WRITTEN_ONCE:
            earlier = named.get(entity_key)
            if earlier is not None:
                self.writers.setdefault((entity_table, entity_key), [earlier[0]]).append(seq)
        named[entity_key] = (seq, payload)

    def written_once_problems(self) -> None:
        """A row of an append-only table is written by exactly one audit event.

        A second event naming the same row means its id was handed out again after the row
        it first named was deleted; comparing only the latest event would then see a
        matching record and miss the deletion for good.
        """
        for (table_name, key), seqs in self.writers.items():
            key_column = AUDITED_MODELS[table_name][1]
            self.problems.append(
                f"{table_name} {key_column}={key}: written by {len(seqs)} audit events (seq "
                f"{', '.join(map(str, seqs))}); the record first written was deleted and its "
                "id reused"
            )


def _record_reader(table: Table, dialect: str) -> tuple[Select[Any], Callable[[Any], str]]:
    """A query over ``table`` and the function giving each of its rows' canonical JSON, equal
    to ``canonical_json(record_payload(record))`` (columns in sorted order, each encoded as
    :func:`canonical_json` encodes it). On SQLite the decimals are read as their stored text
    and times as their stored text, encoded by :func:`~.types.stored_decimal_text` and
    :func:`~.types.stored_time_json` (no round trip through ``Decimal`` or ``datetime``)."""
    columns = sorted(table.columns, key=lambda c: c.name)
    raw = dialect == "sqlite"
    selected = []
    encoders: list[Callable[[Any], str]] = []
    for column in columns:
        if raw and isinstance(column.type, ExactDecimal):
            selected.append(type_coerce(column, String()))
            encoders.append(_stored_decimal_json)
        elif raw and isinstance(column.type, UTCDateTime):
            selected.append(type_coerce(column, String()))
            encoders.append(_stored_time_json)
        else:
            selected.append(column)
            encoders.append(_scalar_json)
    heads = [encode_basestring_ascii(c.name) + ":" for c in columns]
    parts = list(zip(heads, encoders, strict=True))

    def canonical(row: Any) -> str:
        return (
            "{"
            + ",".join(
                [head + encode(value) for (head, encode), value in zip(parts, row, strict=True)]
            )
            + "}"
        )

    return select(*selected), canonical


def _stored_decimal_json(stored: Any) -> str:
    return "null" if stored is None else '"' + stored_decimal_text(stored) + '"'


def _stored_time_json(stored: Any) -> str:
    return "null" if stored is None else stored_time_json(stored)


def _check_records(conn: Connection, check: _ChainCheck) -> None:
    """Every audited record equals the payload of the latest audit event naming it, and every
    audit event naming a record finds it."""
    problems = check.problems
    for table_name, (model, key_column) in AUDITED_MODELS.items():
        table = model.__table__  # type: ignore[attr-defined]
        query, canonical = _record_reader(table, conn.dialect.name)
        names = sorted(c.name for c in table.columns)
        key_index = names.index(table.c[key_column].name)
        audited = check.latest.get(table_name, {})
        seen: set[str] = set()
        for row in conn.execution_options(yield_per=_YIELD_PER).execute(query):
            key = str(row[key_index])
            seen.add(key)
            event = audited.get(key)
            if event is None:
                problems.append(
                    f"{table_name} {key_column}={key}: record has no audit event (inserted "
                    "outside the journal)"
                )
            elif canonical(row) != event[1]:
                problems.append(
                    f"{table_name} {key_column}={key}: record differs from its audited "
                    f"content (audit seq {event[0]}; edited)"
                )
        for key, (seq, _payload) in audited.items():
            if key not in seen:
                problems.append(
                    f"{table_name} {key_column}={key}: audited record is missing "
                    f"(audit seq {seq}; deleted)"
                )


# rows fetched per round trip by the verifier's streaming reads
_YIELD_PER = 10_000


def verify_audit_chain(
    source: Engine | Session, *, expected_head: str | None = None
) -> AuditReport:
    """Check the audit chain and every audited record against it.

    Parameters
    ----------
    source:
        An engine or an open session on the journal.
    expected_head:
        A head hash recorded earlier; the chain must still contain it (a later head is fine:
        the journal grows). Detects tail deletion and whole-chain rewrites.

    Returns
    -------
    AuditReport
        ``ok`` is ``True`` only when no problem was found.

    Raises
    ------
    JournalError
        When the journal's storage is damaged (SQLite ``integrity_check``) or a stored value
        cannot be read; the message names the table (and row).
    """
    from crypto_strategy_lab.journal.integrity import check_storage, reading

    engine = source.get_bind() if isinstance(source, Session) else source
    # A zeroed page hides its rows from every query, and the rows left would still verify:
    # the storage itself is checked first.
    check_storage(engine, thorough=True)  # type: ignore[arg-type]
    with reading(engine):  # type: ignore[arg-type]
        if isinstance(source, Session):
            return _verify(source, expected_head)
        with Session(source) as session:
            return _verify(session, expected_head)


def _verify(session: Session, expected_head: str | None) -> AuditReport:
    conn = session.connection()
    check = _ChainCheck()
    t = AuditEvent.__table__
    events = conn.execution_options(yield_per=_YIELD_PER).execute(
        select(
            t.c.seq,
            type_coerce(t.c.ts, String()) if conn.dialect.name == "sqlite" else t.c.ts,
            t.c.kind,
            t.c.entity_table,
            t.c.entity_key,
            t.c.run_id,
            t.c.payload,
            t.c.prev_hash,
            t.c.hash,
        ).order_by(t.c.seq)
    )
    if conn.dialect.name == "sqlite":
        for seq, ts, *rest in events:
            check.add(seq, stored_time_json(ts), *rest)
    else:
        for seq, ts, *rest in events:
            check.add(seq, _scalar_json(ts), *rest)
    check.written_once_problems()
    _check_records(conn, check)
    problems = check.problems
    if expected_head is not None and expected_head != GENESIS_HASH:
        found = conn.scalar(select(func.count()).select_from(t).where(t.c.hash == expected_head))
        if not found:
            problems.append(
                f"expected head {expected_head[:16]}... is not in the chain (rows at the end "
                "were deleted or the chain was rewritten)"
            )
    return AuditReport(n_events=check.n_events, head_hash=check.head, problems=problems)
