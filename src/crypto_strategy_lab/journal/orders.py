"""Orders and their state, checked against the order domain's state machine.

An ``orders`` row per order intent and an ``order_events`` row per state it reaches, checked
on every append::

    new ──► submitted ──► partially_filled ──► filled
     │          │               │ ▲ (more fills)
     │          └──► cancelled / rejected / expired ◄──┘
     └──► any later state directly (crash recovery: the venue may already have filled
          an order whose "submitted" event was never written)

Terminal states (filled, cancelled, rejected, expired) accept no further event; the filled
quantity never decreases and never exceeds the order quantity. The table of allowed
transitions is :data:`crypto_strategy_lab.core.orders.ALLOWED_TRANSITIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from crypto_strategy_lab.core.enums import OrderStatus
from crypto_strategy_lab.core.orders import ALLOWED_TRANSITIONS, OrderRequest
from crypto_strategy_lab.journal.models import Order, OrderEvent
from crypto_strategy_lab.journal.reads import PointReads
from crypto_strategy_lab.journal.types import JournalError, exact_decimal, utc, utcnow
from crypto_strategy_lab.journal.writer import ChainWriter, ColumnRow, optional_decimal

# Orders and their events are written as column rows: four or more rows per order on the
# order path, where a mapped instance cost ~8-12 us (SQLAlchemy's instrumented attribute
# sets, and an InstanceState the GC tracks for as long as the order is cached) and a
# ColumnRow ~0.3 us; the writer inserts and audits both alike.
_ORDERS = Order.__table__
_EVENTS = OrderEvent.__table__

# built once: record_order asks it for every order
_ORDER_EXISTS = select(Order.client_order_id).where(Order.client_order_id == bindparam("coid"))


class OrderStore:
    """The ``orders`` and ``order_events`` tables, written through ``writer``.

    Parameters
    ----------
    writer : ChainWriter
        The journal's one writer: every write goes through its audit chain (and its batch
        buffer), every ORM read through its sessions.
    reads : PointReads
        The journal's point reads: a new order's duplicate check reads through them.
    """

    def __init__(self, writer: ChainWriter, reads: PointReads) -> None:
        self._writer = writer
        self._reads = reads
        # the latest order event per order that the buffer holds (a later event of the same
        # batch follows it)
        self._buffered_events: dict[str, OrderEvent | ColumnRow] = {}
        # rows that never change once committed, kept to check later writes without a query:
        # the orders this journal wrote or read, and the latest committed event of the orders
        # whose events it wrote (an order's events are written by the one engine running it)
        self._orders: dict[str, Order | ColumnRow] = {}
        self._last_events: dict[str, OrderEvent | ColumnRow] = {}
        writer.index_buffer(self)

    def detach(self) -> Callable[[], None]:
        """The buffered events go to the commit; once it succeeded they are the latest.

        See :class:`~crypto_strategy_lab.journal.writer.BufferIndex`.

        Returns
        -------
        Callable[[], None]
            Called after the commit: records the detached events as each order's latest
            committed event.
        """
        events, self._buffered_events = self._buffered_events, {}
        return lambda: self._last_events.update(events)

    def record_order(
        self,
        run_id: str,
        request: OrderRequest,
        *,
        venue: str,
        risk_event_id: int | None = None,
        ts: datetime | None = None,
        commit: bool = True,
    ) -> ColumnRow:
        """Persist an order intent and its first state ``new`` *before* it is sent.

        The order and everything buffered before it are committed before this returns, so the
        caller can send it knowing the journal holds it -- unless ``commit`` is false inside a
        batch, for a venue that lives in the caller's process (see ``commit``).

        Parameters
        ----------
        run_id : str
            The run placing it.
        request : OrderRequest
            The order, identified by its ``client_order_id``.
        venue : str
            Where it is sent.
        risk_event_id : int, optional
            The risk engine's decision that approved it.
        ts : datetime, optional
            Timezone-aware; default now (UTC).
        commit : bool, default True
            Commit now. ``False`` leaves the order in the current batch, ahead of everything
            written after it, for a venue whose state dies with the process (the simulated
            venue): a crash then loses the order and its effect together, and a resumed run
            re-lives the same decision with the same client id (``engine/resume.py``). A venue
            outside the process must get ``True``: it can act on an order the journal lost.
            Outside a batch the order is committed either way.

        Returns
        -------
        ColumnRow
            The journaled ``orders`` row, its columns as attributes (as a mapped
            :class:`Order` would hold them).

        Raises
        ------
        JournalError
            If the client order id is already journaled (a resend must reuse the existing
            record, never create a second one).
        """
        created = utc(ts) if ts else utcnow()
        order = ColumnRow(
            _ORDERS,
            {
                "client_order_id": request.client_order_id,
                "run_id": run_id,
                "created_at": created,
                "strategy": request.strategy,
                "venue": venue,
                "symbol": request.symbol,
                "market": request.market.value if request.market else None,
                "side": request.side.value,
                "order_type": request.order_type.value,
                "time_in_force": request.time_in_force.value,
                "quantity": exact_decimal(request.quantity),
                "price": optional_decimal(request.price),
                "stop_price": optional_decimal(request.stop_price),
                "stop_loss": optional_decimal(request.stop_loss),
                "take_profit": optional_decimal(request.take_profit),
                "reduce_only": request.reduce_only,
                "risk_event_id": risk_event_id,
            },
        )

        if order.client_order_id in self._orders or self._journaled(order.client_order_id):
            raise JournalError(f"order {order.client_order_id} is already in the journal")
        first = ColumnRow(
            _EVENTS,
            {
                "client_order_id": order.client_order_id,
                "run_id": run_id,
                "seq": 1,
                "ts": created,
                "status": OrderStatus.NEW.value,
                "venue_order_id": None,
                "filled_quantity": Decimal(0),
                "average_price": None,
                "reason": None,
            },
        )
        self._writer.buffer_only(order, "order.created", run_id)
        self._writer.buffer_only(first, "order.new", run_id)
        self._buffered_events[order.client_order_id] = first
        # journal first: the order (and everything buffered before it) is committed before
        # the caller can send it to a venue outside this process
        if commit or not self._writer.in_batch:
            self._writer.flush()
        self._orders[order.client_order_id] = order
        return order

    def _journaled(self, client_order_id: str) -> bool:
        """Whether the journal holds this order, committed by any process or run.

        A point read (no ORM load); the orders this journal wrote, buffered or committed,
        are in ``_orders`` and never get here.
        """
        return self._reads.first(_ORDER_EXISTS, {"coid": client_order_id}) is not None

    def order(self, client_order_id: str) -> Order | ColumnRow | None:
        """The journaled order (``None``: not journaled); orders never change once written.

        Parameters
        ----------
        client_order_id : str
            The order's client id.

        Returns
        -------
        Order or ColumnRow or None
            The order row, cached after the first read (the :class:`ColumnRow` this
            journal wrote, or the mapped :class:`Order` read back), or None when the journal
            holds no such order (a miss is not cached).
        """
        order = self._orders.get(client_order_id)
        if order is None:
            with self._writer.sessions() as session:
                order = session.get(Order, client_order_id)
            if order is not None:
                self._orders[client_order_id] = order
        return order

    def record_order_event(
        self,
        client_order_id: str,
        status: OrderStatus | str,
        *,
        filled_quantity: Decimal | None = None,
        average_price: Decimal | None = None,
        venue_order_id: str | None = None,
        reason: str | None = None,
        ts: datetime | None = None,
    ) -> ColumnRow:
        """Append the order's next state, checked against the state machine.

        Buffered inside a batch (:meth:`~crypto_strategy_lab.journal.Journal.batch`), committed
        at once outside one.

        Parameters
        ----------
        client_order_id : str
            The order.
        status : OrderStatus or str
            Its new state.
        filled_quantity : Decimal, optional
            Cumulative filled quantity; default the previous event's.
        average_price : Decimal, optional
            Average fill price; default the previous event's.
        venue_order_id : str, optional
            The venue's id; default the previous event's.
        reason : str, optional
            Why (a reject's or cancel's reason).
        ts : datetime, optional
            Timezone-aware; default now (UTC).

        Returns
        -------
        ColumnRow
            The new ``order_events`` row, its columns as attributes (``id`` once reserved):
            what a mapped :class:`OrderEvent` would hold, without its cost.

        Raises
        ------
        JournalError
            For an unknown order, a transition the state machine does not allow, a filled
            quantity that decreases or exceeds the order's, ``filled`` without the whole
            quantity, or ``partially_filled`` without ``0 < filled < quantity``.
        """
        new_status = OrderStatus(status)

        def build() -> tuple[ColumnRow, str]:
            order = self.order(client_order_id)
            if order is None:
                raise JournalError(f"no order {client_order_id!r} in the journal")
            last = self._buffered_events.get(client_order_id) or self._last_events.get(
                client_order_id
            )
            if last is None:
                with self._writer.sessions() as session:
                    last = _last_event(session, client_order_id)
            current = OrderStatus(last.status)
            if new_status not in ALLOWED_TRANSITIONS[current]:
                raise JournalError(
                    f"order {client_order_id}: illegal transition {current} -> {new_status}"
                )
            filled = last.filled_quantity if filled_quantity is None else filled_quantity
            filled = exact_decimal(filled)
            if filled < last.filled_quantity:
                raise JournalError(
                    f"order {client_order_id}: filled quantity cannot decrease "
                    f"({last.filled_quantity} -> {filled})"
                )
            if filled > order.quantity:
                raise JournalError(
                    f"order {client_order_id}: filled {filled} exceeds quantity {order.quantity}"
                )
            if new_status is OrderStatus.FILLED and filled != order.quantity:
                raise JournalError(
                    f"order {client_order_id}: 'filled' needs filled_quantity == "
                    f"{order.quantity}, got {filled}"
                )
            if new_status is OrderStatus.PARTIALLY_FILLED and not 0 < filled < order.quantity:
                raise JournalError(
                    f"order {client_order_id}: 'partially_filled' needs 0 < filled < "
                    f"{order.quantity}, got {filled}"
                )
            record = ColumnRow(
                _EVENTS,
                {
                    "client_order_id": client_order_id,
                    "run_id": order.run_id,
                    "seq": last.seq + 1,
                    "ts": utc(ts) if ts else utcnow(),
                    "status": new_status.value,
                    "venue_order_id": venue_order_id or last.venue_order_id,
                    "filled_quantity": filled,
                    "average_price": optional_decimal(average_price)
                    if average_price is not None
                    else last.average_price,
                    "reason": reason,
                },
            )
            return record, order.run_id

        record, run_id = build()
        self._buffered_events[client_order_id] = record
        self._writer.buffered(record, f"order.{new_status.value}", run_id)
        return record

    def order_status(self, client_order_id: str) -> OrderEvent:
        """The order's latest event (its current state).

        Commits the writer's buffer first, so a buffered event is seen.

        Parameters
        ----------
        client_order_id : str
            The order's client id.

        Returns
        -------
        OrderEvent
            The event with the highest ``seq``.

        Raises
        ------
        JournalError
            If the journal holds no such order.
        """
        with self._writer.session() as session:
            if session.get(Order, client_order_id) is None:
                raise JournalError(f"no order {client_order_id!r} in the journal")
            return _last_event(session, client_order_id)

    def order_events(self, client_order_id: str) -> list[OrderEvent]:
        """Every state the order went through, in order (``new`` first).

        Parameters
        ----------
        client_order_id : str
            The order's client id.

        Returns
        -------
        list of OrderEvent
            Its events by ascending ``seq``; empty for an order the journal does not hold.
        """
        with self._writer.session() as session:
            return list(
                session.scalars(
                    select(OrderEvent)
                    .where(OrderEvent.client_order_id == client_order_id)
                    .order_by(OrderEvent.seq)
                )
            )

    def run_orders(self, run_id: str) -> list[tuple[Order, OrderEvent]]:
        """The run's orders, each with its latest event (its current state).

        In the order they were journaled (by their first event's id: a restart restores
        them in the order it would have sent them, on every database; a bare SELECT's order
        is unspecified).

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        list of tuple of (Order, OrderEvent)
            Every order of the run, terminal or not, with its latest event; empty for an
            unknown run.
        """
        with self._writer.session() as session:
            events = session.scalars(
                select(OrderEvent).where(OrderEvent.run_id == run_id).order_by(OrderEvent.id)
            )
            first: dict[str, int] = {}
            latest: dict[str, OrderEvent] = {}
            for event in events:
                first.setdefault(event.client_order_id, event.id)
                latest[event.client_order_id] = event
            orders = session.scalars(select(Order).where(Order.run_id == run_id))
            ranked = sorted(orders, key=lambda order: first[order.client_order_id])
            return [(order, latest[order.client_order_id]) for order in ranked]

    def open_orders(self, run_id: str | None = None) -> list[tuple[Order, OrderEvent]]:
        """Orders whose latest state is not terminal (new, submitted, partially filled).

        Parameters
        ----------
        run_id : str or None, optional
            Only this run's orders; None (default) for every run's.

        Returns
        -------
        list of tuple of (Order, OrderEvent)
            Each open order with its latest event, by ascending ``created_at``.
        """
        latest = (
            select(OrderEvent.client_order_id, func.max(OrderEvent.seq).label("seq"))
            .group_by(OrderEvent.client_order_id)
            .subquery()
        )
        stmt = (
            select(Order, OrderEvent)
            .join(OrderEvent, OrderEvent.client_order_id == Order.client_order_id)
            .join(
                latest,
                (latest.c.client_order_id == OrderEvent.client_order_id)
                & (latest.c.seq == OrderEvent.seq),
            )
            .where(OrderEvent.status.in_([s.value for s in OrderStatus if not s.is_terminal]))
            .order_by(Order.created_at)
        )
        if run_id is not None:
            stmt = stmt.where(Order.run_id == run_id)
        with self._writer.session() as session:
            return [(o, e) for o, e in session.execute(stmt)]


def _last_event(session: Session, client_order_id: str) -> OrderEvent:
    event_ = session.scalar(
        select(OrderEvent)
        .where(OrderEvent.client_order_id == client_order_id)
        .order_by(OrderEvent.seq.desc())
        .limit(1)
    )
    if event_ is None:
        raise JournalError(f"order {client_order_id} has no events (corrupt journal)")
    return event_
