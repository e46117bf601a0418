"""Trial log (validation's ``trials`` table, declared in ``journal/trials.py``).

``validation.trial_log.TrialLog`` may already have created the table in a journal that was not
migrated (it uses ``create_all(checkfirst=True)``), so this revision creates it only when it
is missing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:02:32.614219
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "trials" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("study", sa.String(length=200), nullable=False),
        sa.Column("strategy", sa.String(length=100), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("symbol", sa.String(length=100), nullable=False),
        sa.Column("data_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("sr", sa.Float(), nullable=False),
        sa.Column("n_obs", sa.Integer(), nullable=False),
        sa.Column("skew", sa.Float(), nullable=False),
        sa.Column("kurtosis", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study", "config_hash", name="uq_trials_study_config"),
    )
    op.create_index("ix_trials_strategy", "trials", ["strategy"], unique=False)
    op.create_index("ix_trials_study", "trials", ["study"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_trials_study", table_name="trials")
    op.drop_index("ix_trials_strategy", table_name="trials")
    op.drop_table("trials")
