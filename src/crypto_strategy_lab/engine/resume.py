"""Restart and resume: what the journal already holds of a run, and how far a resume re-lives it.

:meth:`TradingEngine.start <crypto_strategy_lab.engine.loop.TradingEngine.start>` with an
existing ``run_id`` reloads the orders (:meth:`OrderManager.load
<crypto_strategy_lab.engine.orders.OrderManager.load>`) and the run's progress
(:func:`load_progress`). On a real venue the engine then reconciles: journaled orders are
looked up by client id and brought up to date, ``new`` orders the venue never saw are sent again
with the *same* client id. On the simulated venue, whose book lived in the dead process, the
engine replays the run's bars from the start: every decision gets the same deterministic client
id (:mod:`.ids`), so journaled decisions are re-used (not re-evaluated, not re-recorded) and
only the venue's in-memory book is rebuilt; after the last journaled bar (the *checkpoint*)
the run continues and reconciles.

The bar the crash interrupted has its decisions journaled but not its equity point; it gets
its equity point and position snapshots when it is re-lived (:meth:`RunProgress.journals_snapshot`),
so a crashed-and-resumed run journals the same rows as an uninterrupted one
(``tests/engine/test_crash_restart.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from crypto_strategy_lab.engine.orders import OrderManager
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.journal import Journal


@dataclass
class RunProgress:
    """What the journal holds of a run, as the loop needs it (empty for a new run).

    Attributes
    ----------
    checkpoint:
        The last bar time the journal holds (equity, signal or order); while it is set the
        engine re-lives journaled bars of a simulated resume and writes nothing they already
        wrote. ``None`` in normal operation.
    equity_mark:
        The journal's last equity point.
    signal_keys:
        ``(sleeve, bar close time)`` of every journaled signal (one signal per decision).
    decided:
        Client order ids the risk engine already decided on or the journal holds as orders.
    peak_equity, positions:
        The journal's peak equity and last position per sleeve, for the book to resume from.
    """

    checkpoint: datetime | None = None
    equity_mark: datetime | None = None
    signal_keys: set[tuple[str, datetime]] = field(default_factory=set)
    decided: set[str] = field(default_factory=set)
    peak_equity: Decimal | None = None
    positions: dict[str, Decimal] = field(default_factory=dict)

    @property
    def replaying(self) -> bool:
        """Whether the engine is re-living journaled bars (a simulated resume)."""
        return self.checkpoint is not None

    def caught_up(self, bar_time: datetime) -> bool:
        """Whether ``bar_time`` is past the replayed bars.

        The loop clears the checkpoint on the first such bar, so after that this is
        ``False`` again: it marks the first bar after the replayed ones.

        Parameters
        ----------
        bar_time : datetime.datetime
            The close time of the bar being processed (UTC).

        Returns
        -------
        bool
            ``True`` if a checkpoint is set and `bar_time` is later than it; ``False`` in
            normal operation (no checkpoint).
        """
        return self.checkpoint is not None and bar_time > self.checkpoint

    def journals_snapshot(self, now: datetime, *, force: bool = False) -> bool:
        """Whether an equity snapshot at ``now`` is journaled.

        Always in normal operation; while replaying only on the bar the crash interrupted (its
        decisions are in, its equity point is not), never the end-of-run ``force`` one.

        Parameters
        ----------
        now : datetime.datetime
            The snapshot's time: the close time of the bar just processed (UTC).
        force : bool, default False
            Whether this is the end-of-run snapshot, taken whatever ``equity_every`` says.

        Returns
        -------
        bool
            ``True`` if the snapshot is to be journaled.
        """
        if self.checkpoint is None:
            return True
        interrupted = now == self.checkpoint and (
            self.equity_mark is None or self.equity_mark < now
        )
        return interrupted and not force


def load_progress(journal: Journal, run_id: str) -> RunProgress:
    """Read a run's :class:`RunProgress` from the journal (after a restart).

    Parameters
    ----------
    journal : Journal
        The journal holding the run.
    run_id : str
        The run to resume.

    Returns
    -------
    RunProgress
        Its checkpoint (the latest of the last equity point, signal and order creation
        times; ``None`` if the journal holds none of them), the journaled signals and
        decided client order ids, the peak equity and the last position of each strategy.
    """
    equity_mark = journal.last_equity_time(run_id)
    signal_keys = journal.signal_keys(run_id)
    orders = journal.run_orders(run_id)
    marks = [
        equity_mark,
        max((ts for _, ts in signal_keys), default=None),
        max((order.created_at for order, _ in orders), default=None),
    ]
    return RunProgress(
        checkpoint=max((m for m in marks if m is not None), default=None),
        equity_mark=equity_mark,
        signal_keys=signal_keys,
        decided=journal.decided_order_ids(run_id) | {o.client_order_id for o, _ in orders},
        peak_equity=journal.peak_equity(run_id),
        # positions are journaled when they change: compare with what the journal last holds
        positions={
            p.strategy: p.quantity
            for p in journal.latest_positions(run_id)
            if p.strategy is not None
        },
    )


def restore_exits(sleeves: Sequence[Sleeve], orders: OrderManager) -> None:
    """Give each sleeve back its resting exits: the open orders of the engine's own ids.

    Sets each sleeve's ``exit_orders`` to the client ids of its open orders that start with
    ``"csl-"`` (:func:`~crypto_strategy_lab.engine.ids.decision_order_id`), replacing what
    it held; the venue's own attached exits (``"vex-"``) are not among them.

    Parameters
    ----------
    sleeves : Sequence[Sleeve]
        The run's sleeves, changed in place.
    orders : OrderManager
        The run's order manager, loaded from the journal.
    """
    for sleeve in sleeves:
        sleeve.exit_orders = [
            o.client_order_id
            for o in orders.open_orders(sleeve.name)
            if o.client_order_id.startswith("csl-")
        ]
