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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
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
from crypto_strategy_lab.journal.types import canonical_json
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

    Every writer (the journal's single writes, its per-bar batches, migrations) and
    :func:`verify_audit_chain` compute a link with this function; ``payload`` is the
    canonical JSON text already stored in the row.
    """
    return chain_hash(
        prev_hash,
        {
            "seq": seq,
            "ts": ts,
            "kind": kind,
            "entity_table": entity_table,
            "entity_key": entity_key,
            "run_id": run_id,
            "payload": payload,
        },
    )


def _event_hash(event: AuditEvent) -> str:
    return event_hash(
        event.prev_hash,
        seq=event.seq,
        ts=event.ts,
        kind=event.kind,
        entity_table=event.entity_table,
        entity_key=event.entity_key,
        run_id=event.run_id,
        payload=event.payload,
    )


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
    event.hash = _event_hash(event)
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


def _check_chain(events: list[AuditEvent], problems: list[str]) -> None:
    prev = GENESIS_HASH
    expected_seq = 1
    for event in events:
        if event.seq != expected_seq:
            problems.append(
                f"audit seq {event.seq}: expected seq {expected_seq} "
                "(a row was deleted or inserted)"
            )
        if event.prev_hash != prev:
            problems.append(
                f"audit seq {event.seq}: prev_hash does not match the previous row's hash "
                "(a row before it was deleted, inserted or edited)"
            )
        if _event_hash(event) != event.hash:
            problems.append(f"audit seq {event.seq}: content does not match its hash (edited)")
        prev = event.hash
        expected_seq = event.seq + 1


def _check_written_once(events: list[AuditEvent], problems: list[str]) -> None:
    """A row of an append-only table is written by exactly one audit event.

    A second event naming the same row means its id was handed out again after the row it
    first named was deleted; comparing only the latest event would then see a matching record
    and miss the deletion for good.
    """
    writers: dict[tuple[str, str], list[int]] = {}
    for event in events:
        if event.entity_table in WRITTEN_ONCE and event.entity_key is not None:
            writers.setdefault((event.entity_table, event.entity_key), []).append(event.seq)
    for (table_name, key), seqs in writers.items():
        if len(seqs) > 1:
            key_column = AUDITED_MODELS[table_name][1]
            problems.append(
                f"{table_name} {key_column}={key}: written by {len(seqs)} audit events (seq "
                f"{', '.join(map(str, seqs))}); the record first written was deleted and its "
                "id reused"
            )


def _check_records(session: Session, events: list[AuditEvent], problems: list[str]) -> None:
    latest: dict[tuple[str, str], AuditEvent] = {}
    for event in events:
        if event.entity_table is not None and event.entity_key is not None:
            latest[(event.entity_table, event.entity_key)] = event
    for table_name, (model, key_column) in AUDITED_MODELS.items():
        seen: set[str] = set()
        for record in session.scalars(select(model)):
            key = str(getattr(record, key_column))
            seen.add(key)
            event = latest.get((table_name, key))
            if event is None:
                problems.append(
                    f"{table_name} {key_column}={key}: record has no audit event (inserted "
                    "outside the journal)"
                )
            elif canonical_json(record_payload(record)) != event.payload:
                problems.append(
                    f"{table_name} {key_column}={key}: record differs from its audited "
                    f"content (audit seq {event.seq}; edited)"
                )
        for (event_table, key), event in latest.items():
            if event_table == table_name and key not in seen:
                problems.append(
                    f"{table_name} {key_column}={key}: audited record is missing "
                    f"(audit seq {event.seq}; deleted)"
                )


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
    events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    problems: list[str] = []
    _check_chain(events, problems)
    _check_written_once(events, problems)
    _check_records(session, events, problems)
    head = events[-1].hash if events else GENESIS_HASH
    if expected_head is not None and expected_head != GENESIS_HASH:
        found = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.hash == expected_head)
        )
        if not found:
            problems.append(
                f"expected head {expected_head[:16]}... is not in the chain (rows at the end "
                "were deleted or the chain was rewritten)"
            )
    return AuditReport(n_events=len(events), head_hash=head, problems=problems)
