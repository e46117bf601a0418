"""Decisions before any order: the strategies' signals and the risk engine's verdicts.

Signals are ``signals`` rows; the risk engine's verdict on each order it was asked to
approve is a ``risk_events`` row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.journal.models import RiskEventRecord, SignalRecord
from crypto_strategy_lab.journal.types import JournalError, exact_decimal, utc, utcnow
from crypto_strategy_lab.journal.writer import ChainWriter, ColumnRow, jsonable, optional_decimal

RISK_DECISIONS = ("approve", "resize", "reject", "halt")

# Written as column rows: one signal and one decision per order on the order path, where a
# mapped instance cost ~10 us of instrumented attribute sets; the writer inserts and audits
# both alike.
_SIGNALS = SignalRecord.__table__
_RISK_EVENTS = RiskEventRecord.__table__


class DecisionStore:
    """The ``signals`` and ``risk_events`` tables, written through ``writer``.

    Parameters
    ----------
    writer : ChainWriter
        The journal's one writer: every write goes through its audit chain (and its batch
        buffer), every read through its sessions.
    """

    def __init__(self, writer: ChainWriter) -> None:
        self._writer = writer

    def record_signal(self, run_id: str, signal: Signal) -> ColumnRow:
        """Journal a strategy's signal for the bar ``signal.timestamp`` (buffered in a batch).

        Parameters
        ----------
        run_id : str
            The run.
        signal : Signal
            The strategy's output for the bar, with its statistics (stored as JSON).

        Returns
        -------
        ColumnRow
            The ``signals`` row, its columns as attributes (``id`` reserved).
        """
        record = ColumnRow(
            _SIGNALS,
            {
                "run_id": run_id,
                "ts": utc(signal.timestamp),
                "recorded_at": utcnow(),
                "strategy": signal.strategy,
                "symbol": signal.symbol,
                "action": signal.action.value,
                "strength": float(signal.strength),
                "price": signal.price,
                "quantity": optional_decimal(signal.quantity),
                "statistics": jsonable(signal.statistics),
            },
        )
        return self._writer.buffered(record, "signal", run_id)

    def record_risk_event(
        self,
        *,
        decision: str,
        symbol: str,
        side: str,
        reason: str,
        requested_quantity: Decimal,
        approved_quantity: Decimal,
        reference_price: Decimal,
        rules: list[dict[str, Any]],
        rule: str | None = None,
        run_id: str | None = None,
        client_order_id: str | None = None,
        strategy: str | None = None,
        venue: str | None = None,
        stop_loss: Decimal | None = None,
        take_profit: Decimal | None = None,
        ts: datetime | None = None,
    ) -> ColumnRow:
        """Journal one risk decision (``RiskEngine`` calls this for every evaluation).

        Buffered in a batch (committed at once outside one). Every argument is a column of
        ``risk_events``; quantities and prices are stored as exact decimals.

        Parameters
        ----------
        decision : {"approve", "resize", "reject", "halt"}
            The verdict (:data:`RISK_DECISIONS`).
        symbol : str
            The order's symbol.
        side : str
            The order's side (stored as ``str(side)``, so an ``OrderSide`` is its value).
        reason : str
            Why, in words (the deciding rule's message).
        requested_quantity : Decimal
            The quantity the order asked for, in base units.
        approved_quantity : Decimal
            The quantity allowed (0 for a rejection or a halt; less than requested for a
            resize).
        reference_price : Decimal
            The price the rules valued the order at, in the quote currency.
        rules : list of dict
            Each rule's result, stored as JSON.
        rule : str or None, optional
            The deciding rule's name; ``None``: none (an approval).
        run_id : str or None, optional
            The run the order belongs to; ``None``: outside a run.
        client_order_id : str or None, optional
            The order's client id, when it has one.
        strategy : str or None, optional
            The sleeve's strategy, when known.
        venue : str or None, optional
            The venue, when known.
        stop_loss : Decimal or None, optional
            The protective stop price attached to the order; ``None``: none.
        take_profit : Decimal or None, optional
            The take-profit price attached to the order; ``None``: none.
        ts : datetime.datetime or None, optional
            When the decision was made (converted to UTC); ``None``: now.

        Returns
        -------
        ColumnRow
            The ``risk_events`` row, its columns as attributes (``id`` reserved: an order
            names its decision by it).

        Raises
        ------
        JournalError
            For a ``decision`` outside :data:`RISK_DECISIONS`.
        """
        if decision not in RISK_DECISIONS:
            raise JournalError(f"risk decision must be one of {RISK_DECISIONS}, got {decision!r}")
        record = ColumnRow(
            _RISK_EVENTS,
            {
                "run_id": run_id,
                "ts": utc(ts) if ts else utcnow(),
                "client_order_id": client_order_id,
                "strategy": strategy,
                "venue": venue,
                "symbol": symbol,
                "side": str(side),
                "decision": decision,
                "rule": rule,
                "reason": reason,
                "requested_quantity": exact_decimal(requested_quantity),
                "approved_quantity": exact_decimal(approved_quantity),
                "reference_price": exact_decimal(reference_price),
                "stop_loss": optional_decimal(stop_loss),
                "take_profit": optional_decimal(take_profit),
                "rules": jsonable(rules),
            },
        )
        return self._writer.buffered(record, f"risk.{decision}", run_id)

    def signals(self, run_id: str) -> list[SignalRecord]:
        """The run's journaled signals, in the order they were recorded.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        list of SignalRecord
            Ordered by id (the order of recording), buffered ones included (the read commits
            the buffer first).
        """
        stmt = select(SignalRecord).where(SignalRecord.run_id == run_id).order_by(SignalRecord.id)
        with self._writer.session() as session:
            return list(session.scalars(stmt))

    def signal_keys(self, run_id: str) -> set[tuple[str, datetime]]:
        """``(strategy, bar time)`` of every signal the run journaled.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        set of tuple of (str, datetime.datetime)
            The strategy and UTC bar time of each signal: the decisions a resume re-uses.
        """
        stmt = select(SignalRecord.strategy, SignalRecord.ts).where(SignalRecord.run_id == run_id)
        with self._writer.session() as session:
            return {(strategy, ts) for strategy, ts in session.execute(stmt)}

    def decided_order_ids(self, run_id: str) -> set[str]:
        """The client order ids the run's risk decisions name.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        set of str
            Every non-empty ``client_order_id`` of the run's risk events.
        """
        stmt = select(RiskEventRecord.client_order_id).where(RiskEventRecord.run_id == run_id)
        with self._writer.session() as session:
            return {coid for coid in session.scalars(stmt) if coid}

    def risk_events(self, run_id: str | None = None) -> list[RiskEventRecord]:
        """The risk decisions, in the order they were made.

        Parameters
        ----------
        run_id : str or None, optional
            Only this run's; ``None`` (default): every run's, and those outside a run.

        Returns
        -------
        list of RiskEventRecord
            Ordered by id.
        """
        stmt = select(RiskEventRecord).order_by(RiskEventRecord.id)
        if run_id is not None:
            stmt = stmt.where(RiskEventRecord.run_id == run_id)
        with self._writer.session() as session:
            return list(session.scalars(stmt))
