"""The gate-verdict table: one row per strategy the validation gate judged in a lab run.

Lives on the journal's declarative :class:`~crypto_strategy_lab.journal.db.Base` (like the
trial log in :mod:`.trials`) so that migrations and ``load_all_models`` see it;
:class:`~crypto_strategy_lab.journal.verdict_store.GateVerdictStore` reads it and appends to it
(for :class:`crypto_strategy_lab.research.verdicts.VerdictStore`), migrating the journal first
and writing every row through the audit hash chain, so a row inserted by hand fails
``csl audit verify`` and is refused by ``csl live``. Timestamps are UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crypto_strategy_lab.journal.db import Base
from crypto_strategy_lab.journal.types import UTCDateTime


class GateVerdictRecord(Base):
    """One strategy's gate verdict in one lab run.

    Overall pass, the selected parameters and every criterion (name, value, comparison,
    threshold, result, detail) as JSON, and what it tested: ``instrument`` (e.g.
    ``BTCUSDT``), ``timeframe``, the data's content fingerprint, its family and the
    strategy's code version. ``symbol`` is the dataset's name.
    """

    __tablename__ = "gate_verdicts"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids never reused (journal.models)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    strategy: Mapped[str] = mapped_column(String(100), index=True)
    symbol: Mapped[str] = mapped_column(String(200), default="")
    passed: Mapped[bool] = mapped_column(Boolean)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    report_path: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    instrument: Mapped[str] = mapped_column(String(100), default="", server_default="")
    timeframe: Mapped[str] = mapped_column(String(16), default="", server_default="")
    data_fingerprint: Mapped[str] = mapped_column(String(64), default="", server_default="")
    family: Mapped[str] = mapped_column(String(64), default="", server_default="")
    code_version: Mapped[str] = mapped_column(String(64), default="", server_default="")
