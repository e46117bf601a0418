"""The journal's tables (SQLAlchemy 2 typed models). Names are stable: see ``README.md``.

History tables are append-only: a row, once written, is never updated or deleted (the
repository has no such method and its sessions refuse it). An order's life is the sequence of
its ``order_events``; an alert's acknowledgement is a row in ``alert_acks``; the kill switch's
state is the latest row of ``halt_events`` for its scope. The one exception is ``runs``, whose
``status`` and ``ended_at`` are set once when a run ends (and that change is itself audited).

Amounts are :class:`~crypto_strategy_lab.journal.types.ExactDecimal`, timestamps
:class:`~crypto_strategy_lab.journal.types.UTCDateTime`. Enumerations are stored as their
string values (``core.enums``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crypto_strategy_lab.journal.db import Base
from crypto_strategy_lab.journal.types import ExactDecimal, UTCDateTime

# An id, once used, is never handed out again, even after the newest row was deleted: an
# audit event naming ``fills id=7`` must never come to name a different fill. PostgreSQL
# sequences already never reuse a value; SQLite reuses ``max(id) + 1`` unless the table is
# declared ``AUTOINCREMENT`` (https://sqlite.org/autoinc.html).
_NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class Run(Base):
    """One engine run (replay, paper or live)."""

    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))  # TradingMode value
    capital: Mapped[Decimal] = mapped_column(ExactDecimal())
    strategies: Mapped[list[Any]] = mapped_column(JSON)  # list of strategy names
    config: Mapped[dict[str, Any]] = mapped_column(JSON)  # the run's resolved config
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # running | completed | stopped | failed
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Order(Base):
    """An order as our code sent (or meant to send) it: immutable; its states are events."""

    __tablename__ = "orders"

    client_order_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    strategy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    market: Mapped[str | None] = mapped_column(String(16), nullable=True)
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(16))
    time_in_force: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    stop_price: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    stop_loss: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    take_profit: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    risk_event_id: Mapped[int | None] = mapped_column(ForeignKey("risk_events.id"), nullable=True)


class OrderEvent(Base):
    """One state of an order (``OrderStatus``), numbered 1, 2, ... per order."""

    __tablename__ = "order_events"
    __table_args__ = (
        UniqueConstraint("client_order_id", "seq", name="uq_order_events_seq"),
        _NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_order_id: Mapped[str] = mapped_column(ForeignKey("orders.client_order_id"), index=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20))
    venue_order_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    filled_quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    average_price: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class FillRecord(Base):
    """One execution. ``(venue, trade_id)`` is unique so a fill is never journaled twice."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("venue", "trade_id", name="uq_fills_venue_trade"),
        _NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id"), index=True)
    client_order_id: Mapped[str | None] = mapped_column(
        ForeignKey("orders.client_order_id"), nullable=True, index=True
    )
    venue_order_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    trade_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    venue: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    price: Mapped[Decimal] = mapped_column(ExactDecimal())
    fee: Mapped[Decimal] = mapped_column(ExactDecimal())
    fee_currency: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PositionSnapshot(Base):
    """A net position at a time.

    ``quantity`` is signed (long > 0). ``source`` is where the number came from:
    ``journal`` (our book) or ``venue`` (reconciliation query).
    """

    __tablename__ = "position_snapshots"
    __table_args__ = (Index("ix_position_snapshots_run_ts", "run_id", "ts"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    venue: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    market: Mapped[str | None] = mapped_column(String(16), nullable=True)
    strategy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    average_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    mark_price: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    unrealized_pnl: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    source: Mapped[str] = mapped_column(String(16))


class EquityPoint(Base):
    """Account equity at a time, in the quote currency (a row per point: before 0007).

    The engine writes :class:`EquityBlock` rows since migration 0007; these rows stay
    readable (the journal is append-only) and readers merge both.

    ``equity = cash + unrealized P&L``; exposures are sums of ``|notional|`` (gross) and
    signed notional (net).
    """

    __tablename__ = "equity_curve"
    __table_args__ = (Index("ix_equity_curve_run_ts", "run_id", "ts"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    equity: Mapped[Decimal] = mapped_column(ExactDecimal())
    cash: Mapped[Decimal] = mapped_column(ExactDecimal())
    gross_exposure: Mapped[Decimal] = mapped_column(ExactDecimal())
    net_exposure: Mapped[Decimal] = mapped_column(ExactDecimal())
    realized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal())
    unrealized_pnl: Mapped[Decimal] = mapped_column(ExactDecimal())


class EquityBlock(Base):
    """The equity points of one commit, stored as columns: the equity curve's storage.

    The engine marks its book to market on every bar; a row per point cost more to write than
    the rest of an idle bar together and carried nothing a column of its commit does not.
    ``points`` holds :data:`~crypto_strategy_lab.journal.equity.EQUITY_COLUMNS` as the
    zlib-compressed (RFC 1950) canonical JSON of an object of equal-length arrays: ``ts`` in
    integer microseconds since the Unix epoch (UTC), the amounts as exact decimal text (quote
    currency). ``first_ts`` and ``ts`` are its first and last point's times, ``n_points`` its
    length. Its audit event carries the SHA-256 of the stored bytes instead of repeating them
    (``info["audit"]``): the link still commits to every point, and the verifier hashes the
    stored bytes to compare.
    Journals written before migration 0007 keep their :class:`EquityPoint` rows; readers
    merge the two.
    """

    __tablename__ = "equity_blocks"
    __table_args__ = (Index("ix_equity_blocks_run_ts", "run_id", "ts"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id"))
    first_ts: Mapped[datetime] = mapped_column(UTCDateTime())
    ts: Mapped[datetime] = mapped_column(UTCDateTime())  # the last point's time
    n_points: Mapped[int] = mapped_column(Integer)
    points: Mapped[bytes] = mapped_column(LargeBinary, info={"audit": "sha256"})


class SignalRecord(Base):
    """A strategy's decision on a bar (``core.signal.Signal``)."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_run_ts", "run_id", "ts"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.run_id"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime())  # bar timestamp
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(4))
    strength: Mapped[float] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float, nullable=True)
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    statistics: Mapped[dict[str, Any]] = mapped_column(JSON)


class RiskEventRecord(Base):
    """One risk decision on an order intent: ``approve``, ``resize``, ``reject`` or ``halt``.

    ``rules`` lists every rule that spoke, ``[{"rule": name, "action": ..., "reason": ...}]``;
    ``rule`` is the deciding (most severe) one.
    """

    __tablename__ = "risk_events"
    __table_args__ = (Index("ix_risk_events_run_ts", "run_id", "ts"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.run_id"), nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    client_order_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    strategy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    venue: Mapped[str | None] = mapped_column(String(32), nullable=True)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    decision: Mapped[str] = mapped_column(String(8))
    rule: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    approved_quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    reference_price: Mapped[Decimal] = mapped_column(ExactDecimal())
    stop_loss: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    take_profit: Mapped[Decimal | None] = mapped_column(ExactDecimal(), nullable=True)
    rules: Mapped[list[Any]] = mapped_column(JSON)


class Alert(Base):
    """Something a human should see. ``severity``: info | warning | error | critical."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_ts", "ts"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.run_id"), nullable=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    severity: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(64))  # e.g. reconciliation, risk, engine
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class AlertAck(Base):
    """The acknowledgement of one alert (at most one per alert)."""

    __tablename__ = "alert_acks"
    __table_args__ = (_NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), unique=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class HaltEvent(Base):
    """A change of a halt switch.

    ``action`` is ``halt`` or ``rearm``; the latest row per ``scope`` is the switch's state.
    Scope ``global`` is the kill switch (``csl kill``): it stays halted across restarts
    until a human re-arms it.
    """

    __tablename__ = "halt_events"
    __table_args__ = (Index("ix_halt_events_scope", "scope", "id"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    scope: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.run_id"), nullable=True)


class AuditEvent(Base):
    """One link of the hash chain.

    ``hash = SHA-256(prev_hash || canonical_json({seq, ts, kind, entity_table, entity_key,
    run_id, payload}))`` in hex; the first row's ``prev_hash`` is 64 zeros. ``payload`` is the
    canonical JSON of the journaled record (or of the action, for audit-only events).
    ``seq`` is the primary key and every writer appends at head + 1, so two writers racing
    for the same head collide on it and cannot fork the chain; the hashes carry no index
    (migration 0006: ``csl audit verify`` checks every link, and an index per hash was most of
    an append's cost).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity_table", "entity_key"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(64))
    entity_table: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entity_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
