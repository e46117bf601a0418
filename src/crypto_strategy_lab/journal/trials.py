"""The trial-log table: one row per backtest a study ran (the input DSR deflates by).

Lives on the journal's declarative :class:`~crypto_strategy_lab.journal.db.Base`; the
repository that reads and writes it is
:class:`crypto_strategy_lab.validation.trial_log.TrialLog`, which creates this one table when it
is missing (``checkfirst``) so that a study can log trials in any journal database.
Timestamps are UTC (stored naive on SQLite, which has no timezone type).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crypto_strategy_lab.journal.db import Base


class TrialRecord(Base):
    """One evaluated configuration: what was run, on which data, and its return moments.

    ``sr`` is the per-period Sharpe ratio, ``kurtosis`` raw (3 = normal); ``config_hash``
    identifies (strategy, params, data range, backtest settings) so that a rerun of the same
    study skips it.
    """

    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("study", "config_hash", name="uq_trials_study_config"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study: Mapped[str] = mapped_column(String(200), index=True)
    strategy: Mapped[str] = mapped_column(String(100), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    symbol: Mapped[str] = mapped_column(String(100), default="")
    data_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    config_hash: Mapped[str] = mapped_column(String(64))
    sr: Mapped[float] = mapped_column(Float)
    n_obs: Mapped[int] = mapped_column(Integer)
    skew: Mapped[float] = mapped_column(Float)
    kurtosis: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
