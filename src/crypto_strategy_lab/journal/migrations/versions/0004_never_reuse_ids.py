"""Ids of append-only tables are never reused (SQLite ``AUTOINCREMENT``).

Without ``AUTOINCREMENT`` SQLite gives a new row ``max(id) + 1``: after the newest fill was
deleted, the next fill took its id, its audit event named the same ``fills id=N`` and the
deletion no longer showed in ``csl audit verify``. SQLite cannot add ``AUTOINCREMENT`` to an
existing table, so each table is rebuilt (Alembic batch mode: create, copy, drop, rename);
the copy keeps every id, and SQLite seeds ``sqlite_sequence`` with the largest one.
PostgreSQL's ``SERIAL`` sequences never hand a value out twice: nothing to do there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY_TABLES = (
    "order_events",
    "fills",
    "position_snapshots",
    "equity_curve",
    "signals",
    "risk_events",
    "alerts",
    "alert_acks",
    "halt_events",
)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in APPEND_ONLY_TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
