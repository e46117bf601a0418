"""The trial-log tables: one row per distinct trial and one row per distinct dataset.

Trials are the input DSR deflates by; a dataset row holds its content fingerprint and the
market family it belongs to.

Live on the journal's declarative :class:`~crypto_strategy_lab.journal.db.Base`;
:class:`~crypto_strategy_lab.journal.trial_store.TrialStore` reads them and appends to them
(for :class:`crypto_strategy_lab.validation.trial_log.TrialLog`), migrating the journal first
and writing every row through the audit hash chain (:mod:`crypto_strategy_lab.journal.audit`),
so a row inserted outside it fails ``csl audit verify``. Timestamps are UTC (stored naive on
SQLite, which has no timezone type).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crypto_strategy_lab.journal.db import Base
from crypto_strategy_lab.journal.types import UTCDateTime


class TrialRecord(Base):
    """One evaluated configuration: what was run, on which data, and its return moments.

    ``sr`` is the per-period Sharpe ratio, ``kurtosis`` raw (3 = normal). ``config_hash`` is
    the trial's identity (data fingerprint, timeframe, strategy, parameters, backtest
    settings, strategy code version; see :func:`crypto_strategy_lab.validation.trial_log.
    trial_identity`): a configuration run twice, under any study name, is one trial.
    ``family`` names the underlying market data (copies and resamplings of one source share
    it); ``periods_per_year`` puts SRs of different timeframes on one scale. Rows written
    before trial identities existed have an empty ``family``.
    """

    __tablename__ = "trials"
    __table_args__ = (
        UniqueConstraint("study", "config_hash", name="uq_trials_study_config"),
        {"sqlite_autoincrement": True},  # ids never reused (see journal.models)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    study: Mapped[str] = mapped_column(String(200), index=True)
    strategy: Mapped[str] = mapped_column(String(100), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    symbol: Mapped[str] = mapped_column(String(100), default="")
    data_start: Mapped[datetime] = mapped_column(UTCDateTime())
    data_end: Mapped[datetime] = mapped_column(UTCDateTime())
    config_hash: Mapped[str] = mapped_column(String(64))
    sr: Mapped[float] = mapped_column(Float)
    n_obs: Mapped[int] = mapped_column(Integer)
    skew: Mapped[float] = mapped_column(Float)
    kurtosis: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data_fingerprint: Mapped[str] = mapped_column(String(64), default="", server_default="")
    family: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    timeframe: Mapped[str] = mapped_column(String(16), default="", server_default="")
    code_version: Mapped[str] = mapped_column(String(64), default="", server_default="")
    periods_per_year: Mapped[float | None] = mapped_column(Float, nullable=True)


class DataFingerprintRecord(Base):
    """One distinct dataset.

    The SHA-256 of its bars' content, the family of market data it belongs to, and its
    daily-close signature (how a resampling of it is recognised).
    """

    __tablename__ = "data_fingerprints"

    content: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timeframe: Mapped[str] = mapped_column(String(16), default="")
    n_bars: Mapped[int] = mapped_column(Integer)
    data_start: Mapped[datetime] = mapped_column(UTCDateTime())
    data_end: Mapped[datetime] = mapped_column(UTCDateTime())
    daily_closes: Mapped[dict[str, float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
