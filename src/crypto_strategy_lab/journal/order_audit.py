"""The exchange layer's order-action audit, written to the journal's hash-chained table.

:class:`JournalAuditSink` is an audit sink (``write(event)``, see
:mod:`crypto_strategy_lab.security.audit_log`) for ``Exchange(audit=...)``: every order action
the exchange client records (request, venue reply, error, lookup, resend, cancel, cancel-all,
close, leverage) becomes an ``audit_events`` row of kind ``exchange.<action>`` whose payload is
the event as the exchange's ``AuditLog`` hands it over, i.e. **already redacted** (API key and
secret masked before any sink sees the event). Each row is chained like every journal record,
so ``csl audit verify`` covers the order trail too.

Cost: inside a journal batch (the engine's bar) an event is buffered and committed with the
bar's other writes; outside one it is a transaction of its own. A payload that cannot be
journaled fails when the event is recorded, which ``AuditLog`` logs without breaking the
order path (the journal's own order records are written by the engine regardless).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crypto_strategy_lab.journal.repository import Journal
    from crypto_strategy_lab.security.audit_log import AuditEvent

KIND_PREFIX = "exchange."


class JournalAuditSink:
    """Write redacted order-action audit events to ``journal`` under ``run_id``.

    Parameters
    ----------
    journal:
        The journal whose ``audit_events`` chain receives the events.
    run_id:
        The run the events belong to (settable: the engine knows it only once the run
        starts).
    """

    # always listening; declared, so AuditLog's ``getattr(sink, "enabled", True)`` per event
    # finds it instead of raising and catching an AttributeError
    enabled = True

    def __init__(self, journal: Journal, run_id: str | None = None) -> None:
        self.journal = journal
        self.run_id = run_id

    def write(self, event: AuditEvent) -> None:
        """Journal ``event`` as an audit-only event of kind ``exchange.<action>``.

        Parameters
        ----------
        event : AuditEvent
            The exchange's already redacted event; its ``to_dict()`` is the payload, under
            the sink's current ``run_id``.
        """
        self.journal.audit(KIND_PREFIX + event.action, event.to_dict(), run_id=self.run_id)
