"""The equity curve is stored as one column block per commit (``equity_blocks``).

A row per equity point (``equity_curve``) and its audit event were ~810 of the 977 bytes a
replayed bar cost the journal, and writing them ~55 µs of a bar whose loop costs ~9 µs
(20,000 one-minute bars, equity every bar). A block holds the points of one commit as arrays
(zlib-compressed JSON, ~20 bytes a point); its audit event carries their SHA-256.
``equity_curve`` is kept: its rows and their audit events are history, readable as before and
merged with the blocks by every reader.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 11:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``equity_blocks`` and its ``(run_id, ts)`` index."""
    op.create_table(
        "equity_blocks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(length=64), sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("first_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n_points", sa.Integer(), nullable=False),
        sa.Column("points", sa.LargeBinary(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_equity_blocks_run_ts", "equity_blocks", ["run_id", "ts"])


def downgrade() -> None:
    """Drop ``equity_blocks`` (its points are lost: export them first)."""
    op.drop_index("ix_equity_blocks_run_ts", table_name="equity_blocks")
    op.drop_table("equity_blocks")
