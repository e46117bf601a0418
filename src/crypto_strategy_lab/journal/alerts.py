"""Alerts (``alerts``) and their acknowledgements (``alert_acks``).

An alert is acknowledged once, by a named person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto_strategy_lab.journal.models import Alert, AlertAck
from crypto_strategy_lab.journal.types import JournalError, utc, utcnow
from crypto_strategy_lab.journal.writer import ChainWriter, jsonable

SEVERITIES = ("info", "warning", "error", "critical")


class AlertStore:
    """The ``alerts`` and ``alert_acks`` tables, written through ``writer``.

    Parameters
    ----------
    writer : ChainWriter
        The journal's one writer: every write goes through its audit chain (and its batch
        buffer), every read through its sessions.
    """

    def __init__(self, writer: ChainWriter) -> None:
        self._writer = writer

    def raise_alert(
        self,
        severity: str,
        source: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        run_id: str | None = None,
        ts: datetime | None = None,
    ) -> Alert:
        """Journal an alert (committed at once, with its ``alert.<severity>`` audit event).

        Parameters
        ----------
        severity : str
            One of :data:`SEVERITIES` (``info``, ``warning``, ``error``, ``critical``).
        source, message : str
            What raised it (e.g. ``reconciliation``) and what it says.
        details : dict, optional
            JSON-able context, stored as the audit chain encodes it.
        run_id : str, optional
            The run it belongs to (``None``: a run-less alert, e.g. from ``csl kill``).
        ts : datetime, optional
            When (timezone-aware; default now).

        Returns
        -------
        Alert
            The journaled row.
        """
        if severity not in SEVERITIES:
            raise JournalError(f"alert severity must be one of {SEVERITIES}, got {severity!r}")
        record = Alert(
            run_id=run_id,
            ts=utc(ts) if ts else utcnow(),
            severity=severity,
            source=source,
            message=message,
            details=jsonable(details or {}),
        )
        return self._writer.write(
            lambda s: self._writer.added(s, record, f"alert.{severity}", run_id)
        )

    def acknowledge_alert(
        self, alert_id: int, *, by: str, note: str | None = None, ts: datetime | None = None
    ) -> AlertAck:
        """Acknowledge alert ``alert_id`` once, by the person ``by``.

        Parameters
        ----------
        alert_id : int
            The alert.
        by : str
            Who acknowledges.
        note : str, optional
            Why, or what was done.
        ts : datetime, optional
            Timezone-aware; default now (UTC).

        Returns
        -------
        AlertAck
            The acknowledgement.

        Raises
        ------
        JournalError
            For an unknown or already acknowledged alert.
        """

        def work(session: Session) -> AlertAck:
            alert = session.get(Alert, alert_id)
            if alert is None:
                raise JournalError(f"no alert {alert_id} in the journal")
            if session.scalar(select(AlertAck).where(AlertAck.alert_id == alert_id)):
                raise JournalError(f"alert {alert_id} is already acknowledged")
            record = AlertAck(
                alert_id=alert_id, ts=utc(ts) if ts else utcnow(), acknowledged_by=by, note=note
            )
            return self._writer.added(session, record, "alert.ack", alert.run_id)

        return self._writer.write(work)

    def alerts(self, *, unacknowledged_only: bool = False) -> list[tuple[Alert, AlertAck | None]]:
        """Every alert with its acknowledgement, oldest first.

        Parameters
        ----------
        unacknowledged_only : bool, default False
            Only the alerts nobody has acknowledged yet.

        Returns
        -------
        list of tuple of (Alert, AlertAck or None)
            Each alert and its acknowledgement (``None``: not acknowledged), ordered by alert
            time, then id.
        """
        stmt = (
            select(Alert, AlertAck)
            .outerjoin(AlertAck, AlertAck.alert_id == Alert.id)
            .order_by(Alert.ts, Alert.id)
        )
        if unacknowledged_only:
            stmt = stmt.where(AlertAck.id.is_(None))
        with self._writer.session() as session:
            return [(a, k) for a, k in session.execute(stmt)]
