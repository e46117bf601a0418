"""Stored gate verdicts: what each lab run decided, for ``csl live`` and the dashboard.

Every lab run (and ``csl validate``) writes one row per strategy to the journal table
``gate_verdicts`` (on :class:`~crypto_strategy_lab.journal.db.Base`; created on first use with
``checkfirst``, like the trial log's table): run id, strategy, dataset, overall pass, the
selected parameters and every criterion with its value, comparison, threshold and result.

:func:`latest_verdict` is what the trading side asks before going live::

    from crypto_strategy_lab.research.verdicts import latest_verdict
    verdict = latest_verdict("lag_autocorr")          # GateVerdict | None
    if verdict is None or not verdict.passed: refuse()

Non-finite criterion values (NaN for "not computed", ``inf`` for an unreachable MinTRL) are
stored as JSON ``null`` / ``"inf"`` / ``"-inf"`` (JSON has no NaN) and restored on read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Engine, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from crypto_strategy_lab.journal.db import Base, make_engine, make_session_factory
from crypto_strategy_lab.validation.gate import Criterion, GateVerdict


class GateVerdictRecord(Base):
    """One strategy's gate verdict in one lab run (timestamps UTC)."""

    __tablename__ = "gate_verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    strategy: Mapped[str] = mapped_column(String(100), index=True)
    symbol: Mapped[str] = mapped_column(String(200), default="")
    passed: Mapped[bool] = mapped_column(Boolean)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    report_path: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _encode(x: float) -> float | str | None:
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def _decode(x: float | str | None) -> float:
    return math.nan if x is None else float(x)


@dataclass(frozen=True)
class StoredVerdict:
    """A verdict as stored: the :class:`GateVerdict` and where it came from."""

    verdict: GateVerdict
    run_id: str
    symbol: str
    params: dict[str, Any]
    created_at: datetime


class VerdictStore:
    """Repository of :class:`GateVerdictRecord` rows in the journal database."""

    def __init__(self, engine_or_url: Engine | str | None = None) -> None:
        self.engine = (
            engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
        )
        GateVerdictRecord.__table__.create(self.engine, checkfirst=True)
        self._session = make_session_factory(self.engine)

    def save(
        self,
        run_id: str,
        verdict: GateVerdict,
        *,
        symbol: str,
        params: Mapping[str, Any],
        report_path: str = "",
    ) -> None:
        """Append one verdict (rows are never updated)."""
        criteria = [
            {
                "name": c.name,
                "value": _encode(c.value),
                "comparison": c.comparison,
                "threshold": _encode(c.threshold),
                "passed": bool(c.passed),
                "detail": c.detail,
            }
            for c in verdict.criteria
        ]
        row = GateVerdictRecord(
            run_id=run_id,
            strategy=verdict.strategy,
            symbol=symbol,
            passed=verdict.passed,
            params=dict(params),
            criteria=criteria,
            report_path=report_path,
            created_at=datetime.now(UTC),
        )
        with self._session() as session:
            session.add(row)
            session.commit()

    def latest(self, strategy: str, symbol: str | None = None) -> StoredVerdict | None:
        """The most recent verdict for ``strategy`` (optionally on dataset ``symbol``)."""
        stmt = select(GateVerdictRecord).where(GateVerdictRecord.strategy == strategy)
        if symbol is not None:
            stmt = stmt.where(GateVerdictRecord.symbol == symbol)
        stmt = stmt.order_by(GateVerdictRecord.id.desc()).limit(1)
        with self._session() as session:
            row = session.scalars(stmt).first()
        if row is None:
            return None
        criteria = tuple(
            Criterion(
                c["name"],
                _decode(c["value"]),
                _decode(c["threshold"]),
                c["comparison"],
                bool(c["passed"]),
                c.get("detail", ""),
            )
            for c in row.criteria
        )
        return StoredVerdict(
            GateVerdict(row.strategy, criteria), row.run_id, row.symbol, row.params, row.created_at
        )


def latest_verdict(
    strategy: str, engine_or_url: Engine | str | None = None, *, symbol: str | None = None
) -> GateVerdict | None:
    """The latest stored gate verdict of ``strategy`` (default: the journal database), or
    ``None`` if no lab run has judged it."""
    stored = VerdictStore(engine_or_url).latest(strategy, symbol)
    return None if stored is None else stored.verdict
