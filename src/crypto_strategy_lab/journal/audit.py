r"""The hash-chained audit log and its verifier.

Every journal write appends one ``audit_events`` row in the same transaction. Row ``n``
carries

.. math::  h_n = \mathrm{SHA256}\big(h_{n-1} \,\|\, c_n\big), \qquad h_0 = 0^{64},

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
  must equal the payload of the latest audit event naming it (a bulky column declared
  ``info={"audit": "sha256"}``, an equity block's points, by its SHA-256: :func:`audit_payload`),
  and every audit event that names a record must find it,
* a deleted record whose id was later **reused**: a row of an append-only table is written by
  exactly one audit event (the journal's tables never reuse ids, ``AUTOINCREMENT`` on SQLite,
  so this can only happen behind the journal's back).

Verifying is two passes over the same rules. On SQLite a fast pass has the database write
each link's hash input and each record's canonical JSON (``json_object``) and compare the
records with their payloads, so Python mostly only hashes; it answers "intact" or hands
over to the exact pass, which compares everything in Python and names each problem. The
exact pass is the only one on other backends.

What a chain cannot prove on its own: deleting the *last* rows together with their records,
or rewriting the whole chain with recomputed hashes. Against those, keep the head hash that
``csl audit verify`` prints somewhere else and pass it back as ``expected_head``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from operator import attrgetter, itemgetter
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Dialect,
    Engine,
    Integer,
    LargeBinary,
    Select,
    String,
    Table,
    Text,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import DeclarativeBase, Session

from crypto_strategy_lab.journal.models import (
    Alert,
    AlertAck,
    AuditEvent,
    EquityBlock,
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
    canonical_json_value,
    decimal_text,
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
    "equity_blocks": (EquityBlock, "id"),
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
    """Every column of a mapped row, by column name.

    Parameters
    ----------
    record : DeclarativeBase
        A mapped journal row (any model, audited or not).

    Returns
    -------
    dict of str to Any
        ``{column name: attribute value}`` for every column of the row's table, keyed by
        the SQL column name (which may differ from the attribute key), values as held on
        the object (not yet canonicalised).
    """
    table = record.__table__  # type: ignore[attr-defined]
    return {col.name: getattr(record, col.key) for col in table.columns}


def content_digest(data: str | bytes) -> str:
    """What an audit payload holds for a column audited by digest: ``sha256:<hex>``.

    Parameters
    ----------
    data : str or bytes
        The column's stored value (e.g. an equity block's compressed ``points``); text is
        hashed as its UTF-8 bytes.

    Returns
    -------
    str
        ``"sha256:"`` followed by the lowercase hex SHA-256 (FIPS 180-4) of the bytes.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


@cache
def _digested(table: Table) -> tuple[str, ...]:
    """Names of ``table``'s columns audited by digest (``info={"audit": "sha256"}``)."""
    return tuple(c.name for c in table.columns if c.info.get("audit") == "sha256")


def audit_payload(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """The audit payload of a row of ``table`` whose columns are ``values``.

    The row itself (:func:`record_payload`), except that a column declared
    ``info={"audit": "sha256"}`` is carried as its :func:`content_digest`: a bulky column
    (an equity block's points) is stored once, and the chain still commits to every byte of
    it, since the link hashes the payload and the verifier hashes the stored value.

    Parameters
    ----------
    table : sqlalchemy.Table
        The audited table.
    values : dict of str to Any
        Column name -> value, as :func:`record_payload` gives them.

    Returns
    -------
    dict of str to Any
        ``values`` itself when no column is digested, else a copy with each digested
        column's text replaced by its digest.
    """
    digested = _digested(table)
    if not digested:
        return values
    payload = dict(values)
    for name in digested:
        payload[name] = content_digest(values[name])
    return payload


def entity_key(record: DeclarativeBase) -> str:
    """The value of the record's key column (:data:`AUDITED_MODELS`), as audit events name it.

    Parameters
    ----------
    record : DeclarativeBase
        A row of an audited table.

    Returns
    -------
    str
        ``str()`` of the key column's value (the id, or ``content`` for data fingerprints).

    Raises
    ------
    KeyError
        If the record's table is not in :data:`AUDITED_MODELS`.
    """
    key_column = AUDITED_MODELS[record.__tablename__][1]  # type: ignore[attr-defined]
    return str(getattr(record, key_column))


# An event's fields in the order its canonical JSON writes them (sorted).
_EVENT_FIELDS = ("entity_key", "entity_table", "kind", "payload", "run_id", "seq", "ts")
# A link's hash input: the previous hash, then the canonical JSON of the event, each ``%s``
# one value's canonical JSON. The verifier's fast pass has SQLite write the same object
# (:func:`_clean_journal`); the tests hold the two equal.
_EVENT_JSON = "%s{" + ",".join(f'"{name}":%s' for name in _EVENT_FIELDS) + "}"


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    """``SHA-256(prev_hash || canonical_json(content))`` as 64 hex characters.

    Parameters
    ----------
    prev_hash : str
        The previous link's hash (64 lowercase hex characters; :data:`GENESIS_HASH`, 64
        zeros, before the first event).
    content : dict of str to Any
        The event's fields; serialised with :func:`canonical_json` (sorted keys, exact
        decimal and UTC time encodings).

    Returns
    -------
    str
        The lowercase hex SHA-256 digest (FIPS 180-4) of the UTF-8 bytes of ``prev_hash``
        followed by ``canonical_json(content)``.
    """
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

    Parameters
    ----------
    prev_hash : str
        The hash of event ``seq - 1``, or :data:`GENESIS_HASH` for ``seq == 1``.
    seq : int
        The event's position in the chain, from 1.
    ts : datetime
        The event time (aware UTC; encoded as :func:`canonical_json` encodes it).
    kind : str
        The event kind.
    entity_table : str or None
        The table of the row the event records; None for an event about no row.
    entity_key : str or None
        That row's key (:func:`entity_key`); None for an event about no row.
    run_id : str or None
        The run the event belongs to; None outside a run.
    payload : str
        The canonical JSON text stored in the row's ``payload`` column (hashed as a JSON
        string, i.e. encoded a second time).

    Returns
    -------
    str
        64 lowercase hex characters.

    Notes
    -----
    ``hash_seq = SHA-256(hash_{seq-1} || J)``, with ``J`` the canonical JSON of the object
    ``{"entity_key", "entity_table", "kind", "payload", "run_id", "seq", "ts"}`` (keys in
    that sorted order, no spaces, ASCII escapes) and ``hash_0 = GENESIS_HASH``. Changing
    any stored field of any event therefore changes every later hash.
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
    """:func:`event_hash` with the time already as its canonical JSON.

    The verifier reads SQLite's stored text and rewrites it (:func:`~.types.stored_time_json`).
    """
    # _scalar_json's own first case written out: a call per field was a third of a link
    escape = encode_basestring_ascii
    content = _EVENT_JSON % (
        prev_hash,
        escape(entity_key) if type(entity_key) is str else _scalar_json(entity_key),
        escape(entity_table) if type(entity_table) is str else _scalar_json(entity_table),
        escape(kind) if type(kind) is str else _scalar_json(kind),
        escape(payload) if type(payload) is str else _scalar_json(payload),
        escape(run_id) if type(run_id) is str else _scalar_json(run_id),
        _scalar_json(seq),
        ts_json,
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _scalar_json(value: Any) -> str:
    """One value of an audit event as :func:`canonical_json` writes it."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    # canonical_json's own per-value rule (a decimal, float or time through canonical_json
    # itself would go through json.dumps: ~3 us instead of ~0.5)
    return canonical_json_value(value)


# The columns of an ``audit_events`` row in the order :func:`link_encoder` gives them.
LINK_COLUMNS = (
    "seq",
    "ts",
    "run_id",
    "kind",
    "entity_table",
    "entity_key",
    "payload",
    "prev_hash",
    "hash",
)

_Codec = Callable[[Any], tuple[Any, str]]


def _column_codec(column: Any, dialect: Dialect | None) -> _Codec | None:
    """``value -> (parameter, canonical JSON)`` for one column of a row to insert.

    The parameter is the value as ``dialect``'s bind processing of the column's type makes it
    (what SQLAlchemy Core would hand the driver), or the value itself when ``dialect`` is
    None. The JSON is what :func:`audit_payload` and :func:`canonical_json` make of the
    value. On SQLite a decimal's stored text *is* its canonical text and a time's stored
    text is a slice of its canonical JSON, so each is computed once for both. None for a
    column whose parameter is the value itself and whose JSON is :func:`_scalar_json`'s.
    """
    bind = None if dialect is None else column.type.dialect_impl(dialect).bind_processor(dialect)
    sqlite = dialect is not None and dialect.name == "sqlite"
    if column.info.get("audit") == "sha256":

        def digested(value: Any) -> tuple[Any, str]:
            return (value if bind is None else bind(value)), _scalar_json(content_digest(value))

        return digested
    if bind is None:
        return None
    if sqlite and isinstance(column.type, ExactDecimal):

        def decimal(value: Any) -> tuple[Any, str]:
            if type(value) is Decimal:
                # decimal_text is format(exact_decimal(value), "f"): the column's SQLite text
                text = decimal_text(value)
                return text, '"' + text + '"'
            return bind(value), _scalar_json(value)

        return decimal
    if sqlite and isinstance(column.type, UTCDateTime):
        # one per dialect, shared by every time column and the audit rows' own: a record's
        # audit event carries the record's time object
        shared = _TIME_CODECS.get(dialect)
        if shared is None:
            shared = _TIME_CODECS[dialect] = _sqlite_time_codec(bind)
        return shared
    return lambda value: (bind(value), _scalar_json(value))


# The SQLite time codec of each dialect (see _column_codec).
_TIME_CODECS: WeakKeyDictionary[Dialect, _Codec] = WeakKeyDictionary()


def _sqlite_time_codec(bind: Callable[[Any], Any]) -> _Codec:
    """:func:`_column_codec` of a :class:`UTCDateTime` column on SQLite (``bind``: its own)."""
    last: tuple[Any, tuple[Any, str]] = (None, (None, "null"))

    def time(value: Any) -> tuple[Any, str]:
        nonlocal last
        # the rows of a bar mostly carry the same time object (one swap of a tuple: safe
        # when two threads share the encoder)
        seen = last
        if seen[0] is value:
            return seen[1]
        text = _scalar_json(value)
        if type(value) is datetime:
            # '"2024-03-01T12:00:00.000000+00:00"' (UTC, microseconds always written)
            # -> '2024-03-01 12:00:00.000000', SQLAlchemy's SQLite DATETIME text of the
            # naive UTC time (stored_time_json is the inverse)
            encoded = (text[1:11] + " " + text[12:27], text)
            last = (value, encoded)
            return encoded
        return bind(value), text

    return time


def record_encoder(
    table: Table, dialect: Dialect | None
) -> Callable[[Any], tuple[tuple[Any, ...], str]]:
    """One pass over a row to append that gives its insert parameters and its audit payload.

    A batch commit encodes every buffered record twice otherwise: once for the insert
    (SQLAlchemy's per-value bind processing) and once for the audit payload
    (:func:`record_payload`, :func:`audit_payload`, :func:`canonical_json`).

    Parameters
    ----------
    table : sqlalchemy.Table
        The record's table (audited or not; a column declared ``info={"audit": "sha256"}`` is
        carried by its digest, as :func:`audit_payload` carries it).
    dialect : Dialect or None
        Whose stored forms the parameters take: each value as the dialect's bind processing
        of its column's type makes it, i.e. what SQLAlchemy Core would send to the driver.
        None gives the values as they are (for a Core insert, which processes them itself).

    Returns
    -------
    callable
        ``record -> (params, payload)`` for a mapped row or a
        :class:`~crypto_strategy_lab.journal.writer.ColumnRow` (read by attribute):
        ``params`` the column values in ``table.columns`` order, ``payload`` the text
        ``canonical_json(audit_payload(table, record_payload(record)))``.
    """
    columns = list(table.columns)
    values = attrgetter(*(c.key for c in columns))  # one call, a tuple in column order
    codecs = [_column_codec(c, dialect) for c in columns]
    plain = [i for i, codec in enumerate(codecs) if codec is None]
    processed = [(i, codec) for i, codec in enumerate(codecs) if codec is not None]
    # canonical JSON writes the columns sorted by name: one format with each '"name":'
    order = sorted(range(len(columns)), key=lambda i: columns[i].name)
    heads = [encode_basestring_ascii(columns[i].name).replace("%", "%%") for i in order]
    payload = "{" + ",".join(head + ":%s" for head in heads) + "}"
    in_order = itemgetter(*order)
    escape = encode_basestring_ascii

    def encode(record: Any) -> tuple[tuple[Any, ...], str]:
        # written out per column kind: a call per value was most of the cost
        row = values(record)
        params = list(row)
        texts = params.copy()
        for i in plain:
            value = row[i]
            texts[i] = escape(value) if type(value) is str else _scalar_json(value)
        for i, codec in processed:
            params[i], texts[i] = codec(row[i])
        return tuple(params), payload % in_order(texts)

    return encode


def link_encoder(
    dialect: Dialect | None,
) -> Callable[
    [str, int, datetime, str, str | None, str | None, str | None, str],
    tuple[tuple[Any, ...], str],
]:
    """The chain's rule (:func:`event_hash`) giving the ``audit_events`` row with the hash.

    Parameters
    ----------
    dialect : Dialect or None
        Whose stored form the row's time takes (as in :func:`record_encoder`; the other
        columns are text and integers, which no journal dialect processes); None keeps
        the datetime.

    Returns
    -------
    callable
        ``(prev_hash, seq, ts, kind, entity_table, entity_key, run_id, payload) -> (row,
        hash)``, the arguments as :func:`event_hash` takes them; ``row`` holds the values of
        :data:`LINK_COLUMNS` in that order, ``hash`` is ``event_hash(...)``.
    """
    time = _column_codec(AuditEvent.__table__.c.ts, dialect) or (lambda ts: (ts, _scalar_json(ts)))

    def link(
        prev_hash: str,
        seq: int,
        ts: datetime,
        kind: str,
        entity_table: str | None,
        entity_key: str | None,
        run_id: str | None,
        payload: str,
    ) -> tuple[tuple[Any, ...], str]:
        stored_ts, ts_json = time(ts)
        hash_ = _link(prev_hash, seq, ts_json, kind, entity_table, entity_key, run_id, payload)
        return (
            seq,
            stored_ts,
            run_id,
            kind,
            entity_table,
            entity_key,
            payload,
            prev_hash,
            hash_,
        ), hash_

    return link


def lock_chain(session: Session | Connection) -> None:
    """Serialise chain appends.

    A transaction-scoped advisory lock on PostgreSQL; on SQLite the database's write lock,
    taken at once by a write statement that changes nothing.

    The writer then reads the chain head (and, for a batch, the tables' last ids) knowing
    that no other writer can change them before its commit. Appenders that still race (a
    writer that does not lock) lose on the unique ``seq``/``prev_hash`` constraints and the
    repository retries them.

    Parameters
    ----------
    session : Session or Connection
        The session (or Core connection) whose transaction will append; the lock lasts until
        it commits or rolls back. On other dialects nothing is locked.
    """
    conn = session.connection() if isinstance(session, Session) else session
    dialect = conn.dialect.name
    # driver SQL: nothing to compile or process (a text() statement's cache lookup and result
    # setup cost ~25 us a commit)
    if dialect == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7243001)")
    elif dialect == "sqlite":
        conn.exec_driver_sql("UPDATE audit_events SET seq = seq WHERE 0")


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
    """Append the next link of the chain (flushes; the caller commits).

    Parameters
    ----------
    session : Session
        The open session; the event is added and flushed in its transaction. Call
        :func:`lock_chain` first where writers may race.
    kind : str
        The event kind.
    ts : datetime
        The event time (aware).
    payload : dict of str to Any
        The event's content; stored as its :func:`canonical_json` text.
    run_id : str or None, optional
        The run the event belongs to; None (default) for none.
    entity_table : str or None, optional
        The table of the row recorded; None (default) for an event about no row.
    entity_key : str or None, optional
        That row's key; None (default) for none.

    Returns
    -------
    AuditEvent
        The flushed event, with ``seq`` one past the chain head (1 on an empty chain),
        ``prev_hash`` the head's hash (:data:`GENESIS_HASH` on an empty chain) and
        ``hash`` from :func:`event_hash`.
    """
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
    """The verifier's answer: ``ok`` when ``problems`` is empty.

    Attributes
    ----------
    n_events : int
        Audit events checked.
    head_hash : str
        The hash of the chain's last event.
    problems : list of str
        One line per problem found (empty for an intact journal).
    """

    n_events: int
    head_hash: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


class _ChainCheck:
    """One pass over the audit events in ``seq`` order.

    The links, the written-once rule, and the latest payload naming each record (for
    :func:`_check_records`).
    """

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
    """A query over ``table`` and the function giving each of its rows' canonical JSON.

    The JSON equals ``canonical_json(record_payload(record))`` (columns in sorted order, each
    encoded as :func:`canonical_json` encodes it). On SQLite the decimals are read as their
    stored text and times as their stored text, encoded by :func:`~.types.stored_decimal_text`
    and :func:`~.types.stored_time_json` (no round trip through ``Decimal`` or ``datetime``).
    """
    columns = sorted(table.columns, key=lambda c: c.name)
    raw = dialect == "sqlite"
    selected = []
    encoders: list[Callable[[Any], str]] = []
    digested = _digested(table)
    for column in columns:
        if column.name in digested:
            selected.append(column)
            encoders.append(_digest_json)
        elif raw and isinstance(column.type, ExactDecimal):
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


def _digest_json(stored: Any) -> str:
    digestible = isinstance(stored, str | bytes | memoryview)
    return _scalar_json(content_digest(stored) if digestible else stored)


def _stored_decimal_json(stored: Any) -> str:
    return "null" if stored is None else '"' + stored_decimal_text(stored) + '"'


def _stored_time_json(stored: Any) -> str:
    return "null" if stored is None else stored_time_json(stored)


def _check_records(conn: Connection, check: _ChainCheck) -> None:
    """Check the audited records against the chain.

    Every audited record equals the payload of the latest audit event naming it, and every
    audit event naming a record finds it.
    """
    for table_name, (_model, key_column) in AUDITED_MODELS.items():
        audited = check.latest.get(table_name, {})
        _record_problems(conn, table_name, key_column, audited, check.problems)


def _record_problems(
    conn: Connection,
    table_name: str,
    key_column: str,
    audited: dict[str, tuple[int, str]],
    problems: list[str],
) -> None:
    """Each record of ``table_name`` against its audited payload, one at a time."""
    table = AUDITED_MODELS[table_name][0].__table__  # type: ignore[attr-defined]
    query, canonical = _record_reader(table, conn.dialect.name)
    names = sorted(c.name for c in table.columns)
    key_index = names.index(table.c[key_column].name)
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


def _sqlite_json(column: Any) -> Any:
    """SQL rendering ``column`` as the JSON value :func:`canonical_json` writes for it.

    ``None`` when SQLite cannot (a float: SQLite prints 15 digits, not the shortest repr; a
    column audited by its digest: SQLite has no SHA-256).

    Strings are quoted by SQLite's ``json_object`` as ``json.dumps`` quotes them except for
    characters above ``~``, which SQLite leaves unescaped and canonical JSON never does: equal
    texts are equal strings. Decimals are their stored text (canonical when the journal wrote
    it), times their stored text with the space turned into the ``T``, booleans ``true`` or
    ``false`` for 1 and 0, JSON documents minified by ``json()`` with their number and string
    tokens as stored. A stored value the journal did not write comes out different from every
    canonical payload it could be compared with (or fails the query), never equal to one the
    exact path (:func:`_record_reader`) would not also give.
    """
    kind = column.type
    if column.info.get("audit") == "sha256":  # SQLite has no SHA-256: compared in Python
        return None
    if isinstance(kind, ExactDecimal):
        return type_coerce(column, String())
    if isinstance(kind, UTCDateTime):
        return func.replace(type_coerce(column, String()), " ", "T", type_=String()) + "+00:00"
    if isinstance(kind, Boolean):
        value = type_coerce(column, Integer())
        return case((value == 1, func.json("true")), (value == 0, func.json("false")), else_=value)
    if isinstance(kind, JSON):
        return func.json(type_coerce(column, String()))
    if isinstance(kind, String | Integer):  # Text is a String
        return type_coerce(column, kind)
    return None


def _sqlite_object(pairs: list[tuple[str, Any]]) -> Any:
    """``json_object(name, value, ...)``: a JSON object with the pairs in the order given."""
    args: list[Any] = []
    for name, value in pairs:
        args += [literal(name, String()), value]
    return func.json_object(*args, type_=String())


def _clean_journal(conn: Connection) -> tuple[int, str] | None:
    """``(n_events, head)`` of a SQLite journal with nothing to report, else ``None``.

    Also ``None`` on another backend: the exact pass then finds and names the problems.

    The same checks as the exact pass, with SQLite doing the per-row work in C: it writes
    each link's hash input (:data:`_EVENT_JSON` as ``json_object``, values rendered by
    :func:`_sqlite_json`), which is only hashed and compared here; it finds a written-once
    record named twice; and it compares each record's canonical JSON with the payload of the
    latest event naming it (:func:`_records_clean`).
    """
    if conn.dialect.name != "sqlite":
        return None
    links, named_twice = _chain_queries()
    sha256 = hashlib.sha256
    head = GENESIS_HASH
    n_events = 0
    try:
        for seq, prev_hash, hash_, content in conn.execution_options(yield_per=_YIELD_PER).execute(
            links
        ):
            n_events += 1
            if seq != n_events or prev_hash != head:
                return None
            if sha256(content).hexdigest() != hash_:
                return None
            head = hash_
        if conn.scalar(named_twice) is not None:
            return None
        if not all(_records_clean(conn, table_name) for table_name in AUDITED_MODELS):
            return None
    except DatabaseError:  # a value SQLite cannot render (a BLOB, JSON that does not parse)
        return None
    return n_events, head


@cache
def _chain_queries() -> tuple[Select[Any], Select[Any]]:
    """The fast pass's links and its written-once check (a key named twice).

    The links are ``seq``, ``prev_hash``, ``hash`` and the hash input as bytes (ASCII unless a
    stored value is not).
    """
    t = AuditEvent.__table__
    event = _sqlite_object([(name, _sqlite_json(t.c[name])) for name in _EVENT_FIELDS])
    link_input = type_coerce(cast(t.c.prev_hash + event, LargeBinary()), LargeBinary())
    links = select(t.c.seq, t.c.prev_hash, t.c.hash, link_input).order_by(t.c.seq)
    named_twice = (
        select(t.c.entity_key)
        .where(t.c.entity_table.in_(sorted(WRITTEN_ONCE)), t.c.entity_key.is_not(None))
        .group_by(t.c.entity_table, t.c.entity_key)
        .having(func.count() > 1)
        .limit(1)
    )
    return links, named_twice


def _records_clean(conn: Connection, table_name: str) -> bool:
    """Whether ``table_name``'s records and the audit events naming them agree.

    Every record equals the payload of the latest audit event naming it, and every key an
    event names has its record (the keys are primary keys, so equal counts make the two sets
    equal). SQLite compares the canonical JSON it writes for each record
    (:func:`_sqlite_json`) with the payload; where it cannot, the records are compared in
    Python (:func:`_record_problems`).
    """
    n_named, n_records, matched, latest = _record_queries(table_name)
    named = conn.scalar(n_named)
    if conn.scalar(n_records) != named:
        return False
    if matched is not None and conn.scalar(matched) == named:
        return True
    # A float or digested column, or a record SQLite renders differently (a JSON document
    # whose keys are stored unsorted): record by record, as the exact pass compares them.
    audited = {k: (seq, payload) for k, seq, payload in conn.execute(latest)}
    problems: list[str] = []
    _record_problems(conn, table_name, AUDITED_MODELS[table_name][1], audited, problems)
    return not problems


@cache
def _record_queries(
    table_name: str,
) -> tuple[Select[Any], Select[Any], Select[Any] | None, Select[Any]]:
    """The SQL statements :func:`_records_clean` runs on one table.

    The number of keys events name, the number of records, the number of records equal to
    their latest event's payload (``None`` for a table with a float or digested column), and
    each named key's latest event (``entity_key``, ``seq``, ``payload``).
    """
    model, key_column = AUDITED_MODELS[table_name]
    table = model.__table__  # type: ignore[attr-defined]
    event, later = AuditEvent.__table__.alias("event"), AuditEvent.__table__.alias("later")
    latest = event.c.entity_table == table_name
    if table_name not in WRITTEN_ONCE:  # (_clean_journal found no written-once key twice)
        latest &= ~(
            select(later.c.seq)
            .where(
                later.c.entity_table == table_name,
                later.c.entity_key == event.c.entity_key,
                later.c.seq > event.c.seq,
            )
            .exists()
        )
    n_named = select(func.count(event.c.entity_key.distinct())).where(
        event.c.entity_table == table_name
    )
    n_records = select(func.count()).select_from(table)
    rendered = [(c.name, _sqlite_json(c)) for c in sorted(table.columns, key=lambda c: c.name)]
    matched = None
    if all(value is not None for _name, value in rendered):
        # for each record, its latest event through the (entity_table, entity_key) index
        matches = (
            select(event.c.seq)
            .where(
                latest,
                event.c.entity_key == cast(table.c[key_column], Text()),
                event.c.payload == _sqlite_object(rendered),
            )
            .exists()
        )
        matched = select(func.count()).select_from(table).where(matches)
    return (
        n_named,
        n_records,
        matched,
        select(event.c.entity_key, event.c.seq, event.c.payload).where(latest),
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

    Notes
    -----
    A fast pass (:func:`_clean_journal`, SQLite only) proves an intact journal
    intact; where it cannot, the exact pass reads again and names each problem. SQLite's
    ``integrity_check`` runs on a second connection in a thread meanwhile (SQLite releases the
    GIL while it checks); its verdict comes first, since a zeroed page hides its rows from
    every query and the rows left would still verify.
    """
    from crypto_strategy_lab.journal.db import sqlite_path
    from crypto_strategy_lab.journal.integrity import check_storage

    engine = source.get_bind() if isinstance(source, Session) else source
    if sqlite_path(engine) is None:  # another backend (nothing to check), or in memory
        check_storage(engine, thorough=True)  # type: ignore[arg-type]
        return _verified(source, expected_head)
    with ThreadPoolExecutor(max_workers=1) as pool:
        storage = pool.submit(check_storage, engine, thorough=True)  # type: ignore[arg-type]
        try:
            report = _verified(source, expected_head)
        except Exception:
            storage.result()  # damaged storage explains a failed read: its error first
            raise
        storage.result()
    return report


def _verified(source: Engine | Session, expected_head: str | None) -> AuditReport:
    from crypto_strategy_lab.journal.integrity import reading

    engine = source.get_bind() if isinstance(source, Session) else source
    with reading(engine):  # type: ignore[arg-type]
        if isinstance(source, Session):
            return _verify(source.connection(), expected_head)
        with source.connect() as conn:
            return _verify(conn, expected_head)


def _verify(conn: Connection, expected_head: str | None) -> AuditReport:
    clean = _clean_journal(conn)
    if clean is None:
        check = _chain_problems(conn)
        check.written_once_problems()
        _check_records(conn, check)
        n_events, head, problems = check.n_events, check.head, check.problems
    else:
        (n_events, head), problems = clean, []
    if expected_head is not None and expected_head != GENESIS_HASH:
        t = AuditEvent.__table__
        found = conn.scalar(select(func.count()).select_from(t).where(t.c.hash == expected_head))
        if not found:
            problems.append(
                f"expected head {expected_head[:16]}... is not in the chain (rows at the end "
                "were deleted or the chain was rewritten)"
            )
    return AuditReport(n_events=n_events, head_hash=head, problems=problems)


def _chain_problems(conn: Connection) -> _ChainCheck:
    """The exact chain pass: every event through :meth:`_ChainCheck.add`."""
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
    return check
