"""Runs: one row per trading run, opened by :meth:`RunStore.start_run`.

Closed once by :meth:`RunStore.finish_run` (its ``status``/``ended_at`` are the journal's
only mutable fields, and the change is audited).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto_strategy_lab.core.enums import TradingMode
from crypto_strategy_lab.journal.audit import append_audit_event, record_payload
from crypto_strategy_lab.journal.models import Run
from crypto_strategy_lab.journal.types import JournalError, exact_decimal, utc, utcnow
from crypto_strategy_lab.journal.writer import ChainWriter, jsonable

RUN_END_STATUSES = ("completed", "stopped", "failed")


class RunStore:
    """The ``runs`` table, written through ``writer``.

    Parameters
    ----------
    writer : ChainWriter
        The journal's one writer: every write goes through its audit chain (and its batch
        buffer), every read through its sessions.
    """

    def __init__(self, writer: ChainWriter) -> None:
        self._writer = writer

    def start_run(
        self,
        *,
        name: str,
        mode: TradingMode | str,
        capital: Decimal | float | str,
        strategies: Iterable[str],
        config: dict[str, Any] | None = None,
        run_id: str | None = None,
        started_at: datetime | None = None,
    ) -> Run:
        """Open a run (status ``running``), committed with its ``run.started`` audit event.

        Parameters
        ----------
        name : str
            A human label.
        mode : TradingMode or str
            The trading mode.
        capital : Decimal, float or str
            Starting capital (quote currency), stored as an exact decimal.
        strategies : iterable of str
            The strategies the run trades.
        config : dict, optional
            The run's configuration, stored as JSON (what ``csl drift`` rebuilds it from).
        run_id : str, optional
            Default: a fresh UUID4 (hex).
        started_at : datetime, optional
            Timezone-aware; default now (UTC).

        Returns
        -------
        Run
            The journaled run.
        """
        run = Run(
            run_id=run_id or uuid.uuid4().hex,
            name=name,
            mode=TradingMode(mode).value,
            capital=exact_decimal(Decimal(str(capital))),
            strategies=list(strategies),
            config=jsonable(config or {}),
            started_at=utc(started_at) if started_at else utcnow(),
            status="running",
            ended_at=None,
        )

        def work(session: Session) -> Run:
            self._writer.add(session, run, "run.started", run.run_id)
            return run

        return self._writer.write(work)

    def finish_run(self, run_id: str, status: str, *, ended_at: datetime | None = None) -> Run:
        """Close a run once with ``status`` in completed | stopped | failed.

        Parameters
        ----------
        run_id : str
            The run.
        status : {"completed", "stopped", "failed"}
            How it ended.
        ended_at : datetime, optional
            Timezone-aware; default now (UTC).

        Returns
        -------
        Run
            The closed run (audited as ``run.finished``).

        Raises
        ------
        JournalError
            For another status, an unknown run, or a run that already ended.
        """
        if status not in RUN_END_STATUSES:
            raise JournalError(f"run status must be one of {RUN_END_STATUSES}, got {status!r}")

        def work(session: Session) -> Run:
            run = session.get(Run, run_id)
            if run is None:
                raise JournalError(f"no run {run_id!r} in the journal")
            if run.status != "running":
                raise JournalError(f"run {run_id} already ended ({run.status})")
            run.status = status
            run.ended_at = utc(ended_at) if ended_at else utcnow()
            session.flush()
            append_audit_event(
                session,
                kind="run.finished",
                ts=run.ended_at,
                payload=record_payload(run),
                run_id=run_id,
                entity_table="runs",
                entity_key=run_id,
            )
            return run

        return self._writer.write(work)

    def get_run(self, run_id: str) -> Run | None:
        """The run ``run_id``.

        Parameters
        ----------
        run_id : str
            The run's id.

        Returns
        -------
        Run or None
            Its row; ``None``: not in the journal.
        """
        with self._writer.session() as session:
            return session.get(Run, run_id)

    def runs(self) -> list[Run]:
        """Every run, oldest first.

        Returns
        -------
        list of Run
            Ordered by start time.
        """
        with self._writer.session() as session:
            return list(session.scalars(select(Run).order_by(Run.started_at)))
