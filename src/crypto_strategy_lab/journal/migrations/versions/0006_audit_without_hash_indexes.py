"""The audit chain keeps no unique indexes on its hashes (speed and size of every write).

``audit_events.hash`` and ``prev_hash`` were each declared unique. Neither index guards
anything the chain does not: ``seq`` is the primary key and every writer appends at head + 1,
so two writers racing for one head collide on ``seq`` (and retry), and ``csl audit verify``
recomputes every link in ``seq`` order, so a duplicated, edited or inserted hash fails there
whatever the indexes say. They were most of the cost of appending an event: two random
64-hex B-tree inserts per row. Measured with SQLite alone (50,000 equity-sized events in
commits of 1,000, WAL, ``synchronous=NORMAL``): 15.1 -> 2.8 µs of CPU and 652 -> 485 bytes per
event. Nothing reads an event by its hash (the head is read by ``seq``).

SQLite rebuilds the table (Alembic batch mode: create, copy, drop, rename; the unnamed
constraints get names from a naming convention to be dropped); PostgreSQL drops its
``<table>_<column>_key`` constraints. The rows, and so the chain, are copied unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:55:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = ("hash", "prev_hash")
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    """Drop the unique constraints on ``audit_events.hash`` and ``prev_hash``."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "audit_events", recreate="always", naming_convention=_NAMING
        ) as batch:
            for column in _COLUMNS:
                batch.drop_constraint(f"uq_audit_events_{column}", type_="unique")
        return
    for column in _COLUMNS:
        op.drop_constraint(f"audit_events_{column}_key", "audit_events", type_="unique")


def downgrade() -> None:
    """Restore the unique constraints (fails if the chain holds a duplicated hash)."""
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("audit_events", recreate="always") as batch:
            for column in _COLUMNS:
                batch.create_unique_constraint(f"uq_audit_events_{column}", [column])
        return
    for column in _COLUMNS:
        op.create_unique_constraint(f"audit_events_{column}_key", "audit_events", [column])
