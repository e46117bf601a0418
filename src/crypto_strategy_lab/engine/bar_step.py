"""The bar step of one sleeve: observe its venue, then trade toward a changed target.

:meth:`BarStep.observe`: the venue's fills of the bar (simulated venue) or the status of every
open order (real venue) go through the order manager into the journal; after a position change
the protective exits are re-placed.

:meth:`BarStep.retarget`, when the target weight changed::

    signal -> journal;  size (sleeve) -> RiskEngine.evaluate (journaled decision)
    -> order manager: journal ``new`` FIRST -> cover the resting exits -> Exchange.place_order

Semantics shared with the backtest kernel (``backtest.kernel``), which the parity tests check:
an order is decided on bar t's close and, on the simulated venue, fills at bar t+1's open; only
a *change* of the target weight trades (equity drift does not rebalance, and after a stop exit
the sleeve stays flat until the signal changes).
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from decimal import Decimal

from crypto_strategy_lab.core.enums import OrderSide, OrderStatus, OrderType, SignalAction
from crypto_strategy_lab.core.errors import ExchangeError, InvalidOrder
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.engine.book import Book
from crypto_strategy_lab.engine.exits import Exits
from crypto_strategy_lab.engine.feeds import BarEvent
from crypto_strategy_lab.engine.halts import Halts
from crypto_strategy_lab.engine.ids import decision_order_id
from crypto_strategy_lab.engine.monitor import EngineMonitor
from crypto_strategy_lab.engine.orders import OrderManager
from crypto_strategy_lab.engine.resume import RunProgress
from crypto_strategy_lab.engine.runner import SignalPoint
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import MarketState, OrderIntent, RiskAction, RiskEngine

D0 = Decimal(0)


class BarStep:
    """What one bar does to one sleeve (the parts of the run it needs, wired once per run).

    Parameters
    ----------
    journal, run_id:
        Where signals go.
    orders, risk, book, exits, halts:
        The run's order manager, risk engine, book, exits and halts.
    progress:
        What the journal already holds: decisions re-taken after a restart are re-used.
    monitor:
        Optional observer (orders sent, rejects, unknown outcomes).
    simulated:
        The venue is the simulated one (its book died with a crashed process).
    """

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        *,
        orders: OrderManager,
        risk: RiskEngine,
        book: Book,
        exits: Exits,
        halts: Halts,
        progress: RunProgress,
        monitor: EngineMonitor | None,
        simulated: bool,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.orders = orders
        self.risk = risk
        self.book = book
        self.exits = exits
        self.halts = halts
        self.progress = progress
        self.monitor = monitor
        self.simulated = simulated
        self.latencies_ns: list[int] = []  # bar arrival -> order handed to the venue

    async def observe(self, sleeve: Sleeve, bar: BarEvent, now: datetime) -> None:
        """Bring the journal up to date with the venue for one sleeve.

        A simulated venue (one with ``on_bar``) matches its resting orders against ``bar``
        and its fills are journaled; another venue is asked for each open order's state
        (a failed query halts, see :meth:`Halts.venue_error`, and ends the step). When a
        fill changed the position, the exits are re-placed (:meth:`Exits.protect`).

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve whose venue is observed.
        bar : BarEvent
            The bar just closed.
        now : datetime
            The observation time (aware UTC), journaled with the order events.
        """
        changed = False
        on_bar = getattr(sleeve.exchange, "on_bar", None)
        if on_bar is not None:
            fills = on_bar(bar.symbol, bar.timestamp, bar.as_mapping(), close_time=bar.close_time)
            for fill in fills:
                self.orders.record_fill(sleeve.name, fill)
                changed = True
        else:
            for state in self.orders.open_orders(sleeve.name):
                try:
                    result = await sleeve.exchange.get_order_by_client_id(
                        state.client_order_id, sleeve.symbol, market=sleeve.market
                    )
                except ExchangeError as exc:
                    self.halts.venue_error(sleeve, exc, "order status query")
                    return
                if result is not None:
                    before = state.filled
                    self.orders.apply_result(state, result, ts=now)
                    changed = changed or state.filled != before
        if changed:
            await self.exits.protect(sleeve, bar, now)

    async def retarget(
        self, sleeve: Sleeve, bar: BarEvent, point: SignalPoint, now: datetime
    ) -> None:
        """Trade the sleeve toward its new target weight ``point.strength``.

        Records the signal, sizes the order ``target - position`` from the account equity,
        has the risk engine evaluate it, journals it as ``new`` (rounded by the venue's
        ``prepare_order``), keeps the resting exits covering the new position and sends it.
        A decision already taken before a restart is re-sent, not re-decided; nothing is
        traded when the position or equity query fails or the delta is zero.

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve to trade.
        bar : BarEvent
            The bar whose close produced the signal (its close time names the order).
        point : SignalPoint
            The signal; ``strength`` is the target weight.
        now : datetime
            The decision time (aware UTC).
        """
        self._record_signal(sleeve, bar, point)
        coid = decision_order_id(self.run_id, sleeve.name, bar.close_time)
        if coid in self.progress.decided:  # re-taken after a restart: re-use, don't re-decide
            if self.orders.known(coid):
                request = self.orders.journaled_request(coid)
                position = await self.book.position(sleeve) or D0
                target = position + request.side.sign * request.quantity
                await self.exits.cover_rebalance(sleeve, target, now)
                await self._send(sleeve, request, bar, now, restore=True)
            return
        account = await self.book.account_value(sleeve)
        if account is None:
            return
        position, equity = account.quantity, account.equity
        target = sleeve.target_quantity(point.strength, equity, bar.as_mapping(), position)
        delta = target - position
        if delta == 0:
            return
        request = OrderRequest(
            symbol=sleeve.symbol,
            side=OrderSide.BUY if delta > 0 else OrderSide.SELL,
            order_type=OrderType.MARKET,
            quantity=abs(delta),
            market=sleeve.market,
            time_in_force=sleeve.time_in_force,
            client_order_id=coid,
            strategy=sleeve.name,
        )
        decision = self.risk.evaluate(
            OrderIntent(request=request, venue=sleeve.venue),
            await self.book.portfolio_state(),
            MarketState(
                symbol=sleeve.symbol,
                last_price=self.book.prices[sleeve.symbol],
                timestamp=bar.close_time,
            ),
            now=now,
        )
        if not decision.approved or decision.order is None:
            if self.monitor is not None and decision.action is RiskAction.REJECT:
                self.monitor.order_rejected(now)
            return
        # Protection is managed for the whole position (see :mod:`.exits`): the brackets the
        # risk engine computed are journaled with its decision and re-placed from the average
        # entry price once the order fills.
        order = decision.order.with_quantities(stop_loss=None, take_profit=None)
        # Journal exactly what the venue receives (rounded to its lot and tick), or a venue
        # that rounds 0.17945 to 0.179 leaves the order "partially filled" in the journal for
        # ever. Below the venue's minimum it stays as decided and is journaled as rejected.
        with contextlib.suppress(InvalidOrder):
            order = await sleeve.exchange.prepare_order(order)
        self.orders.record_new(sleeve.name, order, risk_event_id=decision.risk_event_id, ts=now)
        await self.exits.cover_rebalance(sleeve, position + order.side.sign * order.quantity, now)
        await self._send(sleeve, order, bar, now)

    async def _send(
        self,
        sleeve: Sleeve,
        request: OrderRequest,
        bar: BarEvent,
        now: datetime,
        *,
        restore: bool = False,
    ) -> None:
        state = self.orders.orders[request.client_order_id]
        if restore and self.simulated:
            # the simulated venue's book died with the old process: give it the order again
            try:
                result = await sleeve.exchange.place_order(request)
            except ExchangeError:
                return
            self.orders.apply_result(state, result, ts=now)
            return
        sent_at = time.perf_counter_ns()
        await self.orders.send(sleeve.name, sleeve.exchange, request, ts=now)
        self.latencies_ns.append(time.perf_counter_ns() - bar.received_ns)
        if self.monitor is not None:
            self.monitor.order_sent(sleeve.venue, (time.perf_counter_ns() - sent_at) / 1e9)
            if state.status is OrderStatus.REJECTED:
                self.monitor.order_rejected(now)
        self.halts.after_send(sleeve, request.client_order_id, self.orders.unresolved, now)

    def _record_signal(self, sleeve: Sleeve, bar: BarEvent, point: SignalPoint) -> None:
        """Journal the signal of a decision, once (a resume re-takes journaled decisions)."""
        key = (sleeve.name, bar.close_time)
        if key in self.progress.signal_keys:
            return
        stats = point.statistics or sleeve.runner.statistics_at(bar.index)
        action = (
            SignalAction.BUY
            if point.strength > 0
            else SignalAction.SELL
            if point.strength < 0
            else SignalAction.HOLD
        )
        self.journal.record_signal(
            self.run_id,
            Signal(
                strategy=sleeve.name,
                symbol=sleeve.symbol,
                timestamp=bar.close_time,
                action=action,
                strength=point.strength,
                price=bar.close,
                market=sleeve.market,
                statistics=stats,
            ),
        )
        self.progress.signal_keys.add(key)
