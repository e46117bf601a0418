"""The journal's facade: :class:`Journal`, one append-only repository over per-aggregate stores.

Each aggregate has its own store module, and they all write through one
:class:`~crypto_strategy_lab.journal.writer.ChainWriter` (one transaction per write, or one per
:meth:`Journal.batch`, each record with its audit-chain link; see :mod:`.writer`):

=================  =======================================================  =================
module             tables                                                   store
=================  =======================================================  =================
:mod:`.runs`       ``runs``                                                 ``RunStore``
:mod:`.orders`     ``orders``, ``order_events`` (the order state machine)   ``OrderStore``
:mod:`.fills`      ``fills``                                                ``FillStore``
:mod:`.snapshots`  ``position_snapshots``, ``equity_blocks`` (:mod:`.equity`)  ``SnapshotStore``
:mod:`.decisions`  ``signals``, ``risk_events``                             ``DecisionStore``
:mod:`.alerts`     ``alerts``, ``alert_acks``                               ``AlertStore``
:mod:`.halts`      ``halt_events`` (halt switches, the kill switch)         ``HaltStore``
=================  =======================================================  =================

:class:`Journal` forwards each of its public methods to the store that owns the table, with
the store method's own signature and docstring, so callers keep one object to hold.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crypto_strategy_lab.journal.alerts import AlertStore
from crypto_strategy_lab.journal.audit import AUDITED_MODELS, AuditReport, verify_audit_chain
from crypto_strategy_lab.journal.db import make_engine, require_sqlite_file
from crypto_strategy_lab.journal.decisions import DecisionStore
from crypto_strategy_lab.journal.fills import FillStore
from crypto_strategy_lab.journal.halts import HaltStore
from crypto_strategy_lab.journal.orders import OrderStore
from crypto_strategy_lab.journal.reads import PointReads
from crypto_strategy_lab.journal.runs import RunStore
from crypto_strategy_lab.journal.snapshots import SnapshotStore
from crypto_strategy_lab.journal.writer import ChainWriter

P = ParamSpec("P")
R = TypeVar("R")


def _forward(
    store: str, method: Callable[Concatenate[Any, P], R]
) -> Callable[Concatenate[Journal, P], R]:
    """A :class:`Journal` method that calls ``method`` on the journal's store ``store``."""

    @wraps(method)
    def forward(journal: Journal, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(getattr(journal, store), *args, **kwargs)

    return forward


class Journal:
    """Append-only access to the journal database.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        A SQLAlchemy engine on a migrated journal (see :meth:`open`).
    retries : int, default 20
        How many times a write transaction that lost a race with another writer is retried.
    """

    def __init__(self, engine: Engine, *, retries: int = 20) -> None:
        self.engine = engine
        self.writer = ChainWriter(engine, retries=retries)
        reads = PointReads(engine)  # the order path's point reads (journal/reads.py)
        self._runs = RunStore(self.writer)
        self._orders = OrderStore(self.writer, reads)
        self._fills = FillStore(self.writer, self._orders, reads)
        self._snapshots = SnapshotStore(self.writer)
        self._decisions = DecisionStore(self.writer)
        self._alerts = AlertStore(self.writer)
        self._halts = HaltStore(self.writer, reads)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        migrate: bool = True,
        create: bool = True,
        synchronous: str = "FULL",
    ) -> Journal:
        """The journal at ``url``, migrated to the latest schema.

        The storage is checked (:func:`~crypto_strategy_lab.journal.integrity.check_storage`)
        before anything is written.

        Parameters
        ----------
        url : str, optional
            A SQLAlchemy URL; default ``CSL_JOURNAL_URL`` or the SQLite file in the data
            directory.
        migrate : bool, default True
            Upgrade the schema to the latest revision; ``False`` leaves it as it is.
        create : bool, default True
            ``False`` refuses a SQLite journal file that does not exist (a mistyped path must
            not silently become a new, empty journal).
        synchronous : str, default "FULL"
            SQLite's durability level (see :func:`make_engine`).

        Returns
        -------
        Journal
            The journal on a new engine.

        Raises
        ------
        JournalError
            For a missing file (``create=False``) or folder, damaged storage, or an unknown
            ``synchronous`` level.
        """
        from crypto_strategy_lab.journal.integrity import check_storage, reading

        engine = make_engine(url, synchronous=synchronous)
        require_sqlite_file(engine, create=create)
        check_storage(engine)
        if migrate:
            from crypto_strategy_lab.journal.migrate import upgrade

            with reading(engine):
                upgrade(engine)
        return cls(engine)

    def session(self) -> Session:
        """A read session; commits the current batch's buffer first.

        So a read sees every write made before it; writes through the session are refused
        unless append-only.

        Returns
        -------
        sqlalchemy.orm.Session
            The session, to use as a context manager.
        """
        return self.writer.session()

    def batch(self) -> AbstractContextManager[None]:
        """Buffer the frequent writes made inside and commit them in one transaction at the end.

        See :mod:`.writer` for what commits earlier. Nested batches join the outermost one; the
        buffer is committed even when the block raises.

        Returns
        -------
        contextlib.AbstractContextManager
            The writer's batch (:meth:`ChainWriter.batch`), to use in a ``with`` statement.
        """
        return self.writer.batch()

    def flush(self) -> None:
        """Commit the buffered writes now (nothing to do outside a batch)."""
        self.writer.flush()

    def audit(self, kind: str, payload: dict[str, Any], *, run_id: str | None = None) -> None:
        """Journal an audit-only event (e.g. ``kill.requested``, ``reconcile.ok``, ``exchange.*``).

        Parameters
        ----------
        kind : str
            The event's kind.
        payload : dict
            Its content, hashed into the chain.
        run_id : str, optional
            The run it belongs to.
        """
        self.writer.audit(kind, payload, run_id=run_id)

    def verify(self, *, expected_head: str | None = None) -> AuditReport:
        """The audit chain's verification (:func:`~.audit.verify_audit_chain`).

        Parameters
        ----------
        expected_head : str, optional
            A chain head recorded elsewhere that the chain must still contain.

        Returns
        -------
        AuditReport
            What the verification found.
        """
        return verify_audit_chain(self.engine, expected_head=expected_head)

    # runs
    start_run = _forward("_runs", RunStore.start_run)
    finish_run = _forward("_runs", RunStore.finish_run)
    get_run = _forward("_runs", RunStore.get_run)
    runs = _forward("_runs", RunStore.runs)
    # orders and their states
    record_order = _forward("_orders", OrderStore.record_order)
    record_order_event = _forward("_orders", OrderStore.record_order_event)
    order = _forward("_orders", OrderStore.order)
    order_status = _forward("_orders", OrderStore.order_status)
    order_events = _forward("_orders", OrderStore.order_events)
    open_orders = _forward("_orders", OrderStore.open_orders)
    run_orders = _forward("_orders", OrderStore.run_orders)
    # fills
    record_fill = _forward("_fills", FillStore.record_fill)
    fills = _forward("_fills", FillStore.fills)
    net_quantities = _forward("_fills", FillStore.net_quantities)
    fees_by_order = _forward("_fills", FillStore.fees_by_order)
    # positions and equity
    record_position = _forward("_snapshots", SnapshotStore.record_position)
    record_equity = _forward("_snapshots", SnapshotStore.record_equity)
    record_equity_points = _forward("_snapshots", SnapshotStore.record_equity_points)
    latest_positions = _forward("_snapshots", SnapshotStore.latest_positions)
    equity_frame = _forward("_snapshots", SnapshotStore.equity_frame)
    equity_points = _forward("_snapshots", SnapshotStore.equity_points)
    peak_equity = _forward("_snapshots", SnapshotStore.peak_equity)
    last_equity_time = _forward("_snapshots", SnapshotStore.last_equity_time)
    equity_at_or_before = _forward("_snapshots", SnapshotStore.equity_at_or_before)
    # signals and risk decisions
    record_signal = _forward("_decisions", DecisionStore.record_signal)
    record_risk_event = _forward("_decisions", DecisionStore.record_risk_event)
    signals = _forward("_decisions", DecisionStore.signals)
    risk_events = _forward("_decisions", DecisionStore.risk_events)
    signal_keys = _forward("_decisions", DecisionStore.signal_keys)
    decided_order_ids = _forward("_decisions", DecisionStore.decided_order_ids)
    # alerts
    raise_alert = _forward("_alerts", AlertStore.raise_alert)
    acknowledge_alert = _forward("_alerts", AlertStore.acknowledge_alert)
    alerts = _forward("_alerts", AlertStore.alerts)
    # halt switches
    halt = _forward("_halts", HaltStore.halt)
    rearm = _forward("_halts", HaltStore.rearm)
    halt_state = _forward("_halts", HaltStore.halt_state)
    halted = _forward("_halts", HaltStore.halted)
    is_halted = _forward("_halts", HaltStore.is_halted)


__all__ = ["AUDITED_MODELS", "Journal"]
