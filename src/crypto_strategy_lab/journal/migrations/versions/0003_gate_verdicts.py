"""Gate verdicts (research's ``gate_verdicts`` table, declared in ``journal/verdicts.py``).

``research.verdicts.VerdictStore`` may already have created the table in a journal that was
not migrated (it uses ``create(checkfirst=True)``), so this revision creates it only when it
is missing.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "gate_verdicts" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "gate_verdicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=200), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("report_path", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_gate_verdicts_run_id", "gate_verdicts", ["run_id"], unique=False)
    op.create_index("ix_gate_verdicts_strategy", "gate_verdicts", ["strategy"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_gate_verdicts_strategy", table_name="gate_verdicts")
    op.drop_index("ix_gate_verdicts_run_id", table_name="gate_verdicts")
    op.drop_table("gate_verdicts")
