"""Halt switches (``halt_events``): a scope is halted while its latest event is a halt.

The ``global`` scope is the kill switch. Halts survive restarts; only a named human re-arms.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select

from crypto_strategy_lab.journal.models import HaltEvent
from crypto_strategy_lab.journal.reads import PointReads
from crypto_strategy_lab.journal.types import JournalError, utc, utcnow
from crypto_strategy_lab.journal.writer import ChainWriter


@cache
def _latest(scope: str) -> Select[Any]:
    """The query for the newest halt event of ``scope`` (built once per scope)."""
    return select(HaltEvent).where(HaltEvent.scope == scope).order_by(HaltEvent.id.desc()).limit(1)


@cache
def _latest_actions(n: int) -> Select[Any]:
    """One row: the newest event's ``action`` of each of ``n`` scopes (``scope_0``, ...).

    A scalar subquery per scope, each one step down the ``(scope, id)`` index; NULL for a scope
    that was never halted. Built once per ``n``: the risk engine asks on every decision.
    """
    return select(
        *(
            select(HaltEvent.action)
            .where(HaltEvent.scope == bindparam(f"scope_{i}"))
            .order_by(HaltEvent.id.desc())
            .limit(1)
            .scalar_subquery()
            for i in range(n)
        )
    )


KILL_SWITCH_SCOPE = "global"


class HaltStore:
    """The ``halt_events`` table, written through ``writer``.

    Parameters
    ----------
    writer : ChainWriter
        The journal's one writer: every write goes through its audit chain (and its batch
        buffer), every ORM read through its sessions.
    reads : PointReads
        The journal's point reads: :meth:`halted` reads through them.
    """

    def __init__(self, writer: ChainWriter, reads: PointReads) -> None:
        self._writer = writer
        self._reads = reads

    def halt(
        self,
        reason: str,
        *,
        scope: str = KILL_SWITCH_SCOPE,
        actor: str = "system",
        run_id: str | None = None,
        ts: datetime | None = None,
    ) -> HaltEvent:
        """Set a halt switch (scope ``global`` = the kill switch); idempotent in effect.

        Parameters
        ----------
        reason : str
            Why, e.g. the risk rule that halted.
        scope : str, default ``global``
            What halts.
        actor : str, default "system"
            Who halted.
        run_id : str, optional
            The run that halted.
        ts : datetime, optional
            When it halted (aware): the decision's time for a rule's halt (a replay's bar
            time); default now. The latest event of a scope is the newest by id, whatever
            its time.

        Returns
        -------
        HaltEvent
            The journaled ``halt`` event.
        """
        return self._switch("halt", scope, reason, actor, run_id, ts)

    def rearm(self, reason: str, *, actor: str, scope: str = KILL_SWITCH_SCOPE) -> HaltEvent:
        """Re-arm a halt switch by hand.

        Parameters
        ----------
        reason : str
            Why it is safe to trade again.
        actor : str
            The human who re-arms.
        scope : str, default ``global``
            The halt scope.

        Returns
        -------
        HaltEvent
            The journaled ``rearm`` event.

        Raises
        ------
        JournalError
            Without a named human ``actor`` (empty or ``system``).
        """
        if not actor or actor == "system":
            raise JournalError("re-arming a halt needs a named human actor")
        return self._switch("rearm", scope, reason, actor, None)

    def _switch(
        self,
        action: str,
        scope: str,
        reason: str,
        actor: str,
        run_id: str | None,
        ts: datetime | None = None,
    ) -> HaltEvent:
        record = HaltEvent(
            ts=utc(ts) if ts is not None else utcnow(),
            scope=scope,
            action=action,
            reason=reason,
            actor=actor,
            run_id=run_id,
        )
        return self._writer.write(lambda s: self._writer.added(s, record, f"halt.{action}", run_id))

    def halt_state(self, scope: str = KILL_SWITCH_SCOPE) -> HaltEvent | None:
        """The latest halt event of ``scope``.

        Parameters
        ----------
        scope : str, default "global"
            The halt scope (``"global"``: the kill switch).

        Returns
        -------
        HaltEvent or None
            The newest ``halt`` or ``rearm`` event of the scope; ``None``: never halted.
        """
        # halt events are never buffered: no need to commit a batch to read them (the risk
        # engine reads the kill switch on every decision)
        with self._writer.sessions() as session:
            return session.scalar(_latest(scope))

    def halted(self, *scopes: str) -> tuple[bool, ...]:
        """Whether each scope's latest halt event is a halt, read in one statement.

        Read at the newest commit on every call, never cached: the kill switch is engaged by
        another process (``csl kill``), and the risk engine must see it on its next decision.
        Halt events are never buffered, so no batch is committed first.

        Parameters
        ----------
        *scopes : str
            The halt scopes (``"global"``: the kill switch), at least one.

        Returns
        -------
        tuple of bool
            One per scope, in order: ``True`` if its newest event is ``halt``; ``False``
            after a ``rearm`` or when it was never halted.

        Raises
        ------
        JournalError
            Without a scope.
        """
        if not scopes:
            raise JournalError("halted() needs at least one scope")
        values = {f"scope_{i}": scope for i, scope in enumerate(scopes)}
        row = self._reads.first(_latest_actions(len(scopes)), values)
        assert row is not None  # a SELECT without FROM has exactly one row
        return tuple(action == "halt" for action in row)

    def is_halted(self, scope: str = KILL_SWITCH_SCOPE) -> bool:
        """Whether the latest halt event of ``scope`` is a halt (:meth:`halted` of one scope).

        Parameters
        ----------
        scope : str, default "global"
            The halt scope (``"global"``: the kill switch).

        Returns
        -------
        bool
            ``True`` if the scope's newest event is ``halt``; ``False`` after a ``rearm`` or
            when it was never halted.
        """
        return self.halted(scope)[0]
