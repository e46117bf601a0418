"""Stored gate verdicts: what each lab run decided, for ``csl live`` and the dashboard.

Every lab run (and ``csl validate``) writes one row per strategy to the journal table
``gate_verdicts`` (declared in :mod:`crypto_strategy_lab.journal.verdicts` on the journal's
``Base``, migration ``0003``; created on first use with ``checkfirst`` in a journal that was
not migrated, like the trial log's table): run id, strategy, dataset, overall pass, the
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

from sqlalchemy import Engine, select

from crypto_strategy_lab.journal.db import make_engine, make_session_factory
from crypto_strategy_lab.journal.verdicts import GateVerdictRecord
from crypto_strategy_lab.validation.gate import Criterion, GateVerdict


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


__all__ = ["GateVerdictRecord", "StoredVerdict", "VerdictStore", "latest_verdict"]
