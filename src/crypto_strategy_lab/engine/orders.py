"""The order manager: every order's life, written to the journal *before* it happens.

State machine (the journal enforces it, see ``journal.repository``)::

    new ──► submitted ──► partially_filled ──► filled
              │                  │
              └────► cancelled / rejected / expired

Protocol for one order:

1. ``new`` is journaled (with the risk decision that approved it) **before** anything is sent.
   Its client order id is deterministic (:mod:`.ids`), so a restarted engine that re-takes
   the same decision finds it in the journal and never creates a second one.
2. ``Exchange.place_order`` sends it; the exchange layer already looks the order up by client
   id after an ambiguous failure (timeout, 5xx, rate limit) and resends only with the same id.
3. The venue's answer is journaled: ``submitted`` (venue order id), then fills and
   ``partially_filled``/``filled`` as they are observed. A definite refusal (``InvalidOrder``,
   ``InsufficientFunds``) is journaled as ``rejected`` with the venue's reason.
4. If the outcome stays unknown (the venue could not be reached even to look the order up),
   the order stays ``new``/``submitted`` in the journal, an alert is raised and the order is
   *unresolved*: the engine halts new risk until reconciliation finds out what happened. An
   unknown outcome is never taken to mean "not there".

Fills: a venue that reports executions (the simulated venue) gives trade ids; for venues that
report only cumulative quantities (Bybit/Alpaca order queries) a fill is derived from the
increase of ``filled_quantity`` with price ``(avg' q' - avg q) / (q' - q)`` and trade id
``"<venue order id>:<cumulative quantity>"`` — the same observation always yields the same
id, so journaling it again is a no-op (``(venue, trade_id)`` is unique).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from crypto_strategy_lab.core.enums import OrderSide, OrderStatus, OrderType
from crypto_strategy_lab.core.errors import CSLError, ExchangeError, InsufficientFunds, InvalidOrder
from crypto_strategy_lab.core.orders import Fill, OrderRequest, OrderResult
from crypto_strategy_lab.engine.ids import venue_order_alias
from crypto_strategy_lab.exchanges.base import Exchange
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.types import exact_decimal

log = logging.getLogger(__name__)
D0 = Decimal(0)


class OrderError(CSLError):
    """An order the order manager refuses (e.g. one without a risk decision)."""


@dataclass
class OrderState:
    """The journal's current view of one order (cached; the journal is the truth)."""

    client_order_id: str
    sleeve: str
    symbol: str
    quantity: Decimal
    status: OrderStatus
    filled: Decimal = D0
    venue_order_id: str | None = None
    fee_paid: Decimal = D0
    average: Decimal | None = None

    @property
    def open(self) -> bool:
        """Whether the order's status is not terminal yet."""
        return not self.status.is_terminal


class OrderManager:
    """Journal-first order handling for the sleeves of one run.

    Parameters
    ----------
    journal, run_id:
        Where every state goes.
    venue_names:
        Sleeve name -> the venue name journaled on its orders and fills.
    commit_before_send:
        Commit each ``new`` order before it is sent (default). ``False`` only for venues that
        live in this process (the simulated venue of a replay): the order then commits with
        its bar, and a crash loses the order and the venue's book together (see
        :meth:`Journal.record_order <crypto_strategy_lab.journal.Journal.record_order>`).
    """

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        venue_names: dict[str, str],
        *,
        commit_before_send: bool = True,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.venue_names = venue_names
        self.commit_before_send = commit_before_send
        self.orders: dict[str, OrderState] = {}
        self._open: dict[str, OrderState] = {}  # non-terminal orders (kept by _track/_event)
        self._by_venue_id: dict[tuple[str, str], str] = {}
        self.unresolved: set[str] = set()
        self.sent = 0

    # -- restart -----------------------------------------------------------------------------

    def load(self) -> None:
        """Rebuild the cache of this run's orders from the journal (after a restart)."""
        fees = self.journal.fees_by_order(self.run_id)
        for order, ev in self.journal.run_orders(self.run_id):
            state = OrderState(
                order.client_order_id,
                order.strategy or "",
                order.symbol,
                order.quantity,
                OrderStatus(ev.status),
                ev.filled_quantity,
                ev.venue_order_id,
                fees.get(order.client_order_id, D0),
                ev.average_price,
            )
            self._track(state)
            if state.venue_order_id:
                self._by_venue_id[(state.sleeve, state.venue_order_id)] = state.client_order_id

    def known(self, client_order_id: str) -> bool:
        """Whether the run's order cache holds ``client_order_id``.

        Parameters
        ----------
        client_order_id : str
            The order's client id.

        Returns
        -------
        bool
            True for an order recorded or restored in this run (terminal ones included);
            the journal is not queried.
        """
        return client_order_id in self.orders

    def journaled_request(self, client_order_id: str) -> OrderRequest:
        """The order request as the journal recorded it.

        For a resend with the same client id, or an exit re-placed for a larger position.

        Parameters
        ----------
        client_order_id : str
            The order's client id.

        Returns
        -------
        OrderRequest
            Symbol, side, type, quantity, prices, market, ``reduce_only`` and strategy as
            journaled, with the same client id.

        Raises
        ------
        OrderError
            If the journal holds no such order.
        """
        row = self.journal.order(client_order_id)
        if row is None:
            raise OrderError(f"order {client_order_id} is not in the journal")
        return OrderRequest(
            symbol=row.symbol,
            side=OrderSide(row.side),
            order_type=OrderType(row.order_type),
            quantity=row.quantity,
            price=row.price,
            stop_price=row.stop_price,
            market=row.market,
            reduce_only=row.reduce_only,
            client_order_id=client_order_id,
            strategy=row.strategy,
        )

    def _track(self, state: OrderState) -> None:
        self.orders[state.client_order_id] = state
        if state.open:
            self._open[state.client_order_id] = state

    def open_orders(self, sleeve: str | None = None) -> list[OrderState]:
        """Orders not yet terminal (of ``sleeve``); O(open orders), not O(all orders).

        Parameters
        ----------
        sleeve : str or None, optional
            Only this sleeve's orders; None (default) for all.

        Returns
        -------
        list of OrderState
            The open orders, in the order they were tracked.
        """
        return [o for o in self._open.values() if sleeve in (None, o.sleeve)]

    # -- sending -------------------------------------------------------------------------------

    def record_new(
        self, sleeve: str, request: OrderRequest, *, risk_event_id: int | None, ts: datetime
    ) -> OrderState:
        """Journal the order as ``new`` (step 1); idempotent for a known client id.

        Every new order carries the id of the risk decision that approved it (the risk
        engine is the only path to a venue): ``RiskEngine.evaluate`` for target orders,
        ``RiskEngine.approve_reduce_only`` for exits, the flatten and resends.

        Parameters
        ----------
        sleeve : str
            The sleeve placing the order (names its venue).
        request : OrderRequest
            The order, with its client id.
        risk_event_id : int or None
            The id of the risk decision that approved it; None is refused.
        ts : datetime
            The event time (aware UTC), the bar's time in a replay.

        Returns
        -------
        OrderState
            The new order's state (status ``new``), or the known one for a client id
            already recorded (nothing is journaled then).

        Raises
        ------
        OrderError
            If ``risk_event_id`` is None for an order not yet known.
        """
        state = self.orders.get(request.client_order_id)
        if state is not None:
            return state
        if risk_event_id is None:
            raise OrderError(
                f"order {request.client_order_id} has no risk decision: every order reaches "
                "a venue through the risk engine"
            )
        self.journal.record_order(
            self.run_id,
            request,
            venue=self.venue_names[sleeve],
            risk_event_id=risk_event_id,
            ts=ts,
            commit=self.commit_before_send,
        )
        state = OrderState(
            request.client_order_id, sleeve, request.symbol, request.quantity, OrderStatus.NEW
        )
        self._track(state)
        return state

    async def send(
        self, sleeve: str, exchange: Exchange, request: OrderRequest, *, ts: datetime
    ) -> OrderState:
        """Send a journaled ``new`` order (step 2-4). Never raises on a venue failure.

        A rejection (:class:`InvalidOrder`, :class:`InsufficientFunds`) is journaled as
        ``rejected``; any other :class:`ExchangeError` leaves the outcome unknown: the order
        joins :attr:`unresolved` and an error alert is raised (new risk halts until
        reconciliation resolves it).

        Parameters
        ----------
        sleeve : str
            The sleeve placing the order.
        exchange : Exchange
            The venue to send it to.
        request : OrderRequest
            The order, already journaled by :meth:`record_new`.
        ts : datetime
            The event time (aware UTC), the bar's time in a replay.

        Returns
        -------
        OrderState
            The order's state after the venue's answer (unchanged when it was no longer
            ``new``: already sent).

        Raises
        ------
        KeyError
            If the order was not recorded by :meth:`record_new` first.
        """
        state = self.orders[request.client_order_id]
        if state.status is not OrderStatus.NEW:
            return state  # already at the venue: a restart re-took a decision already sent
        try:
            result = await exchange.place_order(request)
        except (InvalidOrder, InsufficientFunds) as exc:
            self._event(state, OrderStatus.REJECTED, reason=_reason(exc), ts=ts)
            return state
        except ExchangeError as exc:
            self.unresolved.add(state.client_order_id)
            self.journal.raise_alert(
                "error",
                "order_manager",
                f"order {state.client_order_id} outcome unknown: {_reason(exc)}; new risk "
                "halted until reconciliation resolves it",
                details={"client_order_id": state.client_order_id, "symbol": state.symbol},
                run_id=self.run_id,
            )
            return state
        self.sent += 1
        self.apply_result(state, result, ts=ts)
        return state

    # -- observing -----------------------------------------------------------------------------

    def apply_result(self, state: OrderState, result: OrderResult, *, ts: datetime) -> None:
        """Journal what the venue says about an order: fills, then its state.

        Parameters
        ----------
        state : OrderState
            The order (updated in place).
        result : OrderResult
            The venue's report: its fills when listed, else fills derived from the growth
            of its cumulative filled quantity; then its status.
        ts : datetime
            The event time (aware UTC), the bar's time in a replay.
        """
        self.unresolved.discard(state.client_order_id)
        if result.order_id and state.venue_order_id is None:
            state.venue_order_id = result.order_id
            self._by_venue_id[(state.sleeve, result.order_id)] = state.client_order_id
        if state.status is OrderStatus.NEW and (
            not result.status.is_terminal or result.filled_quantity > 0
        ):
            self._event(state, OrderStatus.SUBMITTED, ts=ts, venue_order_id=result.order_id)
        if result.fills:
            for fill in result.fills:
                self.record_fill(state.sleeve, fill)
        elif result.filled_quantity > state.filled:
            self.record_fill(state.sleeve, _derived_fill(state, result, ts))
        self._advance(
            state,
            result.status,
            result.filled_quantity,
            result.average_price,
            ts,
            reason=result.raw.get("rejectReason") if result.raw else None,
        )

    def record_fill(self, sleeve: str, fill: Fill) -> bool:
        """Journal one fill (no-op when its trade id is known); returns whether it was new.

        A fill of an order the venue created itself (an attached stop-loss/take-profit) first
        journals that order under a deterministic alias of its venue order id.

        Parameters
        ----------
        sleeve : str
            The sleeve whose venue reported the fill; the order's own sleeve books it.
        fill : Fill
            The fill, matched to its order by client id, else by venue order id.

        Returns
        -------
        bool
            True when the fill was new (journaled, and the order advanced), False for a
            trade id already journaled.

        Notes
        -----
        The order's average price is the quantity-weighted mean of its fills,
        ``(avg * filled + price * dq) / (filled + dq)``, with the filled quantity capped at
        the order's quantity (an over-report fills the order, no more).
        """
        coid = fill.client_order_id
        state = self.orders.get(coid) if coid else None
        if state is None:
            coid = self._by_venue_id.get((sleeve, fill.order_id))
            state = self.orders.get(coid) if coid else None
        if state is None:
            state = self._record_venue_order(sleeve, fill)
        if fill.client_order_id != state.client_order_id:
            fill = fill.model_copy(update={"client_order_id": state.client_order_id})
        # the order's owner, not the caller, books the fill (fills are routed by client id)
        owner = state.sleeve or sleeve
        _, created = self.journal.record_fill(
            self.run_id,
            fill,
            venue=self.venue_names.get(owner, self.venue_names[sleeve]),
            strategy=owner,
        )
        if created:
            state.fee_paid += fill.fee
            filled = min(state.filled + fill.quantity, state.quantity)
            status = (
                OrderStatus.FILLED if filled >= state.quantity else OrderStatus.PARTIALLY_FILLED
            )
            old = state.average or D0
            average = (old * state.filled + fill.price * (filled - state.filled)) / filled
            self._advance(state, status, filled, average, fill.timestamp)
        return created

    def _record_venue_order(self, sleeve: str, fill: Fill) -> OrderState:
        alias = venue_order_alias(self.run_id, sleeve, fill.order_id)
        if alias in self.orders:
            return self.orders[alias]
        request = OrderRequest(
            symbol=fill.symbol,
            side=fill.side,
            order_type=OrderType.MARKET,
            quantity=fill.quantity,
            reduce_only=True,
            client_order_id=alias,
            strategy=sleeve,
        )
        self.journal.record_order(
            self.run_id, request, venue=self.venue_names[sleeve], ts=fill.timestamp
        )
        state = OrderState(alias, sleeve, fill.symbol, fill.quantity, OrderStatus.NEW)
        self._track(state)
        self._event(
            state,
            OrderStatus.SUBMITTED,
            ts=fill.timestamp,
            venue_order_id=fill.order_id,
            reason="venue-created exit (attached stop-loss/take-profit)",
        )
        self._by_venue_id[(sleeve, fill.order_id)] = alias
        return state

    def _advance(
        self,
        state: OrderState,
        status: OrderStatus,
        filled: Decimal,
        average: Decimal | None,
        ts: datetime,
        *,
        reason: str | None = None,
    ) -> None:
        filled = exact_decimal(filled)
        if status is OrderStatus.PARTIALLY_FILLED and filled == state.filled:
            return
        if status is OrderStatus.SUBMITTED or status is OrderStatus.NEW:
            return
        if status is state.status and filled == state.filled:
            return
        if status is OrderStatus.FILLED and filled < state.quantity:
            status = OrderStatus.PARTIALLY_FILLED
        if state.status is OrderStatus.NEW:
            self._event(state, OrderStatus.SUBMITTED, ts=ts)
        self._event(state, status, ts=ts, filled=filled, average=average, reason=reason)

    def _event(
        self,
        state: OrderState,
        status: OrderStatus,
        *,
        ts: datetime,
        filled: Decimal | None = None,
        average: Decimal | None = None,
        venue_order_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        if state.status.is_terminal or (status is state.status and filled in (None, state.filled)):
            return
        self.journal.record_order_event(
            state.client_order_id,
            status,
            filled_quantity=filled,
            average_price=average,
            venue_order_id=venue_order_id,
            reason=reason,
            ts=ts,
        )
        state.status = status
        if status.is_terminal:
            self._open.pop(state.client_order_id, None)
        if filled is not None:
            state.filled = filled
        if average is not None:
            state.average = average
        if venue_order_id:
            state.venue_order_id = venue_order_id

    def close_unfillable(self, state: OrderState, reason: str, *, ts: datetime) -> None:
        """Journal an open order as ``cancelled`` with ``reason`` once the venue cancelled it.

        E.g. the simulated venue's book closing when the run ends.

        Parameters
        ----------
        state : OrderState
            The order; nothing is journaled when it is already terminal.
        reason : str
            Journaled as the cancel's reason.
        ts : datetime
            The event time (aware UTC), the bar's time in a replay.
        """
        self.unresolved.discard(state.client_order_id)
        self._event(state, OrderStatus.CANCELLED, ts=ts, reason=reason)

    def abandon(self, state: OrderState, reason: str, *, ts: datetime) -> None:
        """Close an order the venue provably never received.

        Reconciliation found no order under its client id *and* the lookup succeeded.

        Parameters
        ----------
        state : OrderState
            The order; it leaves :attr:`unresolved`, and is journaled ``cancelled`` only
            while its status is still ``new``.
        reason : str
            Journaled as the cancel's reason.
        ts : datetime
            The event time (aware UTC), the bar's time in a replay.
        """
        self.unresolved.discard(state.client_order_id)
        if state.status is OrderStatus.NEW:
            self._event(state, OrderStatus.CANCELLED, ts=ts, reason=reason)


def _reason(exc: ExchangeError) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _derived_fill(state: OrderState, result: OrderResult, ts: datetime) -> Fill:
    new_q, old_q = result.filled_quantity, state.filled
    avg = result.average_price or result.price or Decimal(0)
    old_avg = state.average or Decimal(0)
    price = (avg * new_q - old_avg * old_q) / (new_q - old_q) if old_q else avg
    cum_fee = result.raw.get("cumExecFee") if result.raw else None
    fee = Decimal(str(cum_fee)) - state.fee_paid if cum_fee not in (None, "") else D0
    return Fill(
        order_id=result.order_id,
        client_order_id=state.client_order_id,
        symbol=result.symbol,
        side=result.side,
        quantity=new_q - old_q,
        price=price,
        fee=max(fee, D0),
        timestamp=result.updated_at or ts,
        trade_id=f"{result.order_id}:{format(new_q, 'f')}",
    )
