"""Trial identity and bound gate verdicts, both inside the audit hash chain.

* ``trials`` gains the trial identity's parts (data fingerprint, family, timeframe, strategy
  code version, periods per year); ``data_fingerprints`` records each distinct dataset.
* ``gate_verdicts`` gains what a verdict tested (instrument, timeframe, data fingerprint,
  family, code version), so ``csl live`` can refuse a verdict about something else.
* Both tables are rebuilt ``AUTOINCREMENT`` on SQLite, like 0004 did for the trading tables:
  an id freed by a deletion is never handed to a new row, so the deletion stays visible.
* Rows of both tables written before this revision are adopted into the audit chain (one
  ``<table>.adopted`` event each, in id order): from now on ``csl audit verify`` fails on any
  row inserted outside the journal. Adopted verdicts name no instrument, so they never unlock
  ``csl live``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 20:40:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy import select
from sqlalchemy.orm import Session

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TRIAL_COLUMNS = (
    ("data_fingerprint", sa.String(length=64)),
    ("family", sa.String(length=64)),
    ("timeframe", sa.String(length=16)),
    ("code_version", sa.String(length=64)),
)
_VERDICT_COLUMNS = (
    ("instrument", sa.String(length=100)),
    ("timeframe", sa.String(length=16)),
    ("data_fingerprint", sa.String(length=64)),
    ("family", sa.String(length=64)),
    ("code_version", sa.String(length=64)),
)


def _adopt() -> None:
    # rows are read through reflection (this revision's columns), not the ORM models, so a
    # later revision that adds columns cannot break this one
    from crypto_strategy_lab.journal.audit import append_audit_event

    bind = op.get_bind()
    session = Session(bind=bind)
    for name in ("trials", "gate_verdicts"):
        table = sa.Table(name, sa.MetaData(), autoload_with=bind)
        for row in bind.execute(select(table).order_by(table.c.id)):
            payload = {
                # SQLite returns the stored UTC times naive; the chain encodes aware ones
                k: v.replace(tzinfo=UTC) if isinstance(v, datetime) and v.tzinfo is None else v
                for k, v in row._mapping.items()
            }
            append_audit_event(
                session,
                kind=f"{name}.adopted",
                ts=payload["created_at"],
                payload=payload,
                entity_table=name,
                entity_key=str(payload["id"]),
            )
    session.flush()


def _add_missing(table: str, columns: tuple[tuple[str, sa.types.TypeEngine], ...]) -> None:
    # a table created from the current models before any migration already has them
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    for name, type_ in columns:
        if name not in present:
            op.add_column(table, sa.Column(name, type_, nullable=False, server_default=""))


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    trial_columns = {c["name"] for c in inspector.get_columns("trials")}
    _add_missing("trials", _TRIAL_COLUMNS)
    if "periods_per_year" not in trial_columns:
        op.add_column("trials", sa.Column("periods_per_year", sa.Float(), nullable=True))
    if "ix_trials_family" not in {i["name"] for i in inspector.get_indexes("trials")}:
        op.create_index("ix_trials_family", "trials", ["family"], unique=False)
    _add_missing("gate_verdicts", _VERDICT_COLUMNS)
    if "data_fingerprints" not in inspector.get_table_names():
        op.create_table(
            "data_fingerprints",
            sa.Column("content", sa.String(length=64), nullable=False),
            sa.Column("family", sa.String(length=64), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("timeframe", sa.String(length=16), nullable=False),
            sa.Column("n_bars", sa.Integer(), nullable=False),
            sa.Column("data_start", sa.DateTime(timezone=True), nullable=False),
            sa.Column("data_end", sa.DateTime(timezone=True), nullable=False),
            sa.Column("daily_closes", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("content"),
        )
        op.create_index(
            "ix_data_fingerprints_family", "data_fingerprints", ["family"], unique=False
        )
    if op.get_bind().dialect.name == "sqlite":
        for table in ("trials", "gate_verdicts"):
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass
    _adopt()


def downgrade() -> None:
    op.drop_index("ix_data_fingerprints_family", table_name="data_fingerprints")
    op.drop_table("data_fingerprints")
    with op.batch_alter_table("gate_verdicts") as batch:
        for name, _ in _VERDICT_COLUMNS:
            batch.drop_column(name)
    op.drop_index("ix_trials_family", table_name="trials")
    with op.batch_alter_table("trials") as batch:
        for name, _ in (*_TRIAL_COLUMNS, ("periods_per_year", None)):
            batch.drop_column(name)
