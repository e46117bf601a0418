"""Protection and exits: the resting stop-loss / take-profit of each position, and the flatten.

* **Protection**: a reduce-only STOP (stop-loss) and LIMIT (take-profit) for the *whole*
  position at the levels of the sleeve's :class:`~crypto_strategy_lab.risk.ProtectiveStops`
  (default: the run's ``RiskLimits``, ``avg_entry × (1 ∓ sl)`` / ``(1 ± tp)``), placed once the
  fill that set the average is seen and re-placed after every fill. In ATR units they sit at
  ``avg_entry ∓ k × ATR`` with Wilder's ATR of the bar the fill is known at, from the bars the
  runner has seen up to it (``StrategyRunner.average_true_range``), as in the backtest kernel;
  during the ATR's warm-up the position trades unprotected, as there. The levels come from
  ``core.execution.stop_levels`` (through ``risk.bracket_prices``). They rest at the venue, so
  they protect across restarts of the engine.
* **Across a rebalance** they stay live: exits of a position growing in the same direction are
  first re-placed for the larger target (:meth:`Exits.cover_rebalance`), so a stop on the
  rebalance bar closes the whole new position. The backtest kernel models exactly this.
* **Flatten** (the kill switch): cancel the run's orders, close each sleeve's journaled holding
  reduce-only, capped at what the venue holds (``Exchange.closing_order``, the rule
  ``Exchange.close_position`` shares).
* **End of a simulated run**: the simulated venue's book ends with the process, so what is
  still open is cancelled and journaled (:meth:`Exits.close_simulated_book`).

Every exit reaches the venue through ``RiskEngine.approve_reduce_only`` (journaled, never
blocked by a halt) and is journaled ``new`` before it is sent.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from crypto_strategy_lab.core.enums import OrderSide, OrderType
from crypto_strategy_lab.core.errors import ExchangeError, InvalidOrder, OrderNotFound
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.engine.book import Book
from crypto_strategy_lab.engine.feeds import BarEvent
from crypto_strategy_lab.engine.halts import Halts
from crypto_strategy_lab.engine.ids import decision_order_id
from crypto_strategy_lab.engine.orders import OrderManager, OrderState
from crypto_strategy_lab.engine.resume import RunProgress
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import OrderIntent, ProtectiveStops, RiskEngine, RiskLimits

D0 = Decimal(0)


class Exits:
    """The reduce-only orders of a run: protective exits, covers, the flatten.

    Parameters
    ----------
    journal, run_id:
        The run's journal (flatten audit and alerts).
    orders:
        The run's order manager (journal before send).
    risk:
        Approves every exit (``approve_reduce_only``).
    book:
        Venue positions and marks.
    halts:
        Told of every failed venue call.
    limits:
        ``stop_loss_pct`` / ``take_profit_pct``: the protective exits of a sleeve without
        its own ``stops``.
    progress:
        While it replays (a simulated resume), journaled exits are given to the rebuilt venue
        book again instead of being skipped.
    """

    def __init__(
        self,
        journal: Journal,
        run_id: str,
        orders: OrderManager,
        risk: RiskEngine,
        book: Book,
        halts: Halts,
        limits: RiskLimits,
        progress: RunProgress,
    ) -> None:
        self.journal = journal
        self.run_id = run_id
        self.orders = orders
        self.risk = risk
        self.book = book
        self.halts = halts
        self.limits = limits
        self.default_stops = ProtectiveStops.from_limits(limits)
        self.progress = progress

    def approve(self, sleeve: Sleeve, request: OrderRequest, now: datetime) -> int | None:
        """The risk engine's journaled approval of a reduce-only order (its event id).

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve placing the order.
        request : OrderRequest
            The reduce-only order.
        now : datetime
            The decision time (aware UTC).

        Returns
        -------
        int or None
            The risk event id of the ``reduce_only`` approval (recorded at the order's limit
            or stop price, else the last close), or None when the risk engine has no journal.

        Raises
        ------
        RiskError
            If ``request`` is not reduce-only.
        """
        decision = self.risk.approve_reduce_only(
            OrderIntent(request=request, venue=sleeve.venue),
            self.book.prices.get(sleeve.symbol) or request.price or request.stop_price or D0,
            now=now,
        )
        return decision.risk_event_id

    async def _place(self, sleeve: Sleeve, request: OrderRequest, now: datetime) -> None:
        """Journal ``new`` with its approval, then send; an unknown outcome halts new risk."""
        self.orders.record_new(
            sleeve.name, request, risk_event_id=self.approve(sleeve, request, now), ts=now
        )
        await self.orders.send(sleeve.name, sleeve.exchange, request, ts=now)
        self.halts.after_send(sleeve, request.client_order_id, self.orders.unresolved, now)

    async def _replace_at_venue(self, sleeve: Sleeve, request: OrderRequest, now: datetime) -> bool:
        """Give a journaled order to the rebuilt simulated book (replay); ``False`` if refused."""
        try:
            result = await sleeve.exchange.place_order(request)
        except ExchangeError:
            return False
        self.orders.apply_result(self.orders.orders[request.client_order_id], result, ts=now)
        return True

    # -- protection ------------------------------------------------------------------------------

    async def protect(self, sleeve: Sleeve, bar: BarEvent, now: datetime) -> None:
        """Re-place the reduce-only stop-loss / take-profit pair for the whole position.

        The fills of ``bar`` are known (its close: the bar whose ATR scales ATR-unit levels).

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve; its resting exits are cancelled first, and nothing is placed when
            it holds nothing.
        bar : BarEvent
            The bar just observed.
        now : datetime
            The decision time (aware UTC; the bar's close time in a replay), which also
            names the deterministic client ids of the orders placed.

        Notes
        -----
        The levels come from the sleeve's :class:`ProtectiveStops` (else the limits'
        defaults) around the position's average entry price; a level that is disabled, or
        still in its ATR warm-up, places no order.
        """
        await self._cancel(sleeve, now)
        account = await self.book.account_value(sleeve)
        if account is None or not account.positions:
            return
        pos = account.positions[0]
        entry = OrderSide.BUY if pos.quantity > 0 else OrderSide.SELL
        stops = sleeve.stops or self.default_stops
        atr = (
            sleeve.runner.average_true_range(bar, stops.atr_period)
            if stops.stop_unit == "atr"
            else math.nan
        )
        sl, tp = stops.levels(entry, pos.average_price, atr)
        exits = (
            ("stop_loss", OrderType.STOP, "stop_price", sl),
            ("take_profit", OrderType.LIMIT, "price", tp),
        )
        for purpose, order_type, field, level in exits:
            if level is None:  # disabled, or the ATR is still in its warm-up
                continue
            coid = decision_order_id(self.run_id, sleeve.name, now, purpose)
            if self.orders.known(coid) and not self.progress.replaying:
                continue
            request = OrderRequest(
                symbol=sleeve.symbol,
                side=entry.opposite(),
                order_type=order_type,
                quantity=abs(pos.quantity),
                market=sleeve.market,
                time_in_force=sleeve.time_in_force,
                reduce_only=True,
                client_order_id=coid,
                strategy=sleeve.name,
                **{field: level},
            )
            if not self.orders.known(coid):
                await self._place(sleeve, request, now)
            elif not await self._replace_at_venue(sleeve, request, now):
                continue
            sleeve.exit_orders.append(coid)

    async def cover_rebalance(self, sleeve: Sleeve, target: Decimal, now: datetime) -> None:
        """Keep the resting exits live across a rebalance, covering the new position.

        A venue fills a reduce-only exit up to the position it finds, so an exit whose
        quantity covers ``|target|`` closes the whole position whichever way the rebalance
        went: exits of a position that grows in the same direction are re-placed (same
        levels) for ``|target|``; those of a position that shrinks, closes or flips stay as
        they are (the venue clamps or voids them).

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve whose resting exits are kept.
        target : Decimal
            The signed position (base units) after the rebalance.
        now : datetime
            The decision time (aware UTC; the bar's close time in a replay), which also
            names the deterministic client ids of the orders placed.
        """
        keep = []
        replaying = self.progress.replaying  # the venue's book is being rebuilt
        for coid in sleeve.exit_orders:
            state = self.orders.orders.get(coid)
            if state is None or (not state.open and not replaying):
                continue
            old = self.orders.journaled_request(coid)
            grows = (old.side is OrderSide.SELL) == (target > 0) and abs(target) > old.quantity
            if not grows or state.venue_order_id is None:
                keep.append(coid)
                continue
            try:
                result = await sleeve.exchange.cancel_order(
                    state.venue_order_id, sleeve.symbol, market=sleeve.market
                )
            except OrderNotFound:
                continue  # already filled or cancelled at the venue
            except ExchangeError as exc:
                self.halts.venue_error(sleeve, exc, f"cancel of exit {coid}")
                keep.append(coid)
                continue
            self.orders.apply_result(state, result, ts=now)
            purpose = "stop_loss_cover" if old.order_type is OrderType.STOP else "take_profit_cover"
            request = old.model_copy(
                update={
                    "quantity": abs(target),
                    "client_order_id": decision_order_id(self.run_id, sleeve.name, now, purpose),
                }
            )
            if not self.orders.known(request.client_order_id):
                await self._place(sleeve, request, now)
            elif replaying:
                await self._replace_at_venue(sleeve, request, now)
            keep.append(request.client_order_id)
        sleeve.exit_orders = keep

    async def _cancel(self, sleeve: Sleeve, now: datetime) -> None:
        """Cancel the sleeve's resting exits (before new ones are placed).

        An exit with no venue order id (its send's outcome was lost) is looked up first: it
        may rest at the venue, where a forgotten reduce-only stop could close a later position
        at the old level. Not while a resume re-lives its bars: then such an exit is one the
        crash cut off before it was sent, which the resume sends again as the uninterrupted
        run did.
        """
        keep = []
        for coid in sleeve.exit_orders:
            state = self.orders.orders.get(coid)
            if state is None or (not state.open and not self.progress.replaying):
                continue
            if state.venue_order_id is None:
                if self.progress.replaying:
                    continue
                try:
                    live = await self._look_up_unsent(sleeve, state, "exits re-placed", now)
                except ExchangeError as exc:
                    self.halts.venue_error(sleeve, exc, f"look-up of exit {coid}")
                    keep.append(coid)  # looked up again at the next re-placing
                    continue
                if not live:
                    continue
            assert state.venue_order_id is not None
            try:
                result = await sleeve.exchange.cancel_order(
                    state.venue_order_id, sleeve.symbol, market=sleeve.market
                )
            except OrderNotFound:
                continue  # already filled or cancelled at the venue; the next poll tells
            except ExchangeError as exc:
                self.halts.venue_error(sleeve, exc, f"cancel of exit {coid}")
                keep.append(coid)
                continue
            self.orders.apply_result(state, result, ts=now)
        sleeve.exit_orders = keep

    # -- flatten and end of run ------------------------------------------------------------------

    async def flatten(self, sleeves: Sequence[Sleeve], reason: str, now: datetime) -> None:
        """Cancel the run's orders and close what every sleeve holds (the kill switch).

        Each sleeve closes its journaled share (the net of its fills) with the venue's
        closing rule, ``Exchange.closing_order``: capped at what the account holds on that
        side (the position; on spot, where holdings are balances, the free base-asset
        balance), so sleeves and runs sharing an account and symbol together close the
        exposure they created and never more, and what the account held before (a manual
        position, coins bought by hand) is left alone (docs/DECISIONS.md).

        Parameters
        ----------
        sleeves : Sequence[Sleeve]
            The run's sleeves.
        reason : str
            Why (journaled with the cancels).
        now : datetime
            The decision time (aware UTC; the bar's close time in a replay), which also
            names the deterministic client ids of the orders placed.
        """
        self.journal.audit("engine.flatten", {"reason": reason}, run_id=self.run_id)
        # every cancel first, so that no cancel can void a closing order just sent; a failed
        # cancel does not stop the close (the venue's cap keeps it from over-closing)
        for sleeve in sleeves:
            await self._cancel_own(sleeve, reason, now)
        for sleeve in sleeves:
            try:
                # the sleeve's own journaled share (fills journaled above included), capped
                # at what the venue holds: several sleeves or runs on one account and symbol
                # each close their share, together the account's exposure our runs created
                request = await sleeve.exchange.closing_order(
                    sleeve.symbol, await self._held(sleeve), market=sleeve.market
                )
                if request is not None:
                    coid = decision_order_id(self.run_id, sleeve.name, now, "flatten")
                    request = request.model_copy(
                        update={"client_order_id": coid, "strategy": sleeve.name}
                    )
                    await self._place(sleeve, request, now)
            except ExchangeError as exc:
                self._flatten_failed(sleeve, exc)

    async def _held(self, sleeve: Sleeve) -> Decimal:
        """What the journal says the sleeve holds.

        The net of its fills, less (on a venue's balance market, spot) the fees it paid in the
        base asset, since Bybit charges spot buy fees in the coin bought.
        """
        ours = self.journal.net_quantities(self.run_id).get(sleeve.name, D0)
        if sleeve.market not in sleeve.exchange.balance_markets:
            return ours
        base = (await sleeve.exchange.market_rules(sleeve.symbol, sleeve.market)).base
        fees = (
            f.fee
            for f in self.journal.fills(self.run_id)
            if f.strategy == sleeve.name and f.fee_currency == base
        )
        return ours - sum(fees, D0)

    async def _cancel_own(self, sleeve: Sleeve, reason: str, now: datetime) -> None:
        """Cancel the sleeve's open orders one by one and journal what they became.

        Fills are included, so that the journal holds the sleeve's whole position. Only the
        run's own orders: a cancel-all of the symbol would also void the closing orders of
        another run flattening its share at the same account.
        """
        sleeve.exit_orders = []
        sleeve.last_target = 0.0
        exchange, symbol, market = sleeve.exchange, sleeve.symbol, sleeve.market
        try:
            for state in self.orders.open_orders(sleeve.name):
                if state.venue_order_id is None and not await self._look_up_unsent(
                    sleeve, state, reason, now
                ):
                    continue
                assert state.venue_order_id is not None
                # refused when already filled or cancelled: its state is read next
                with contextlib.suppress(OrderNotFound, InvalidOrder):
                    await exchange.cancel_order(state.venue_order_id, symbol, market=market)
                result = await exchange.get_order(state.venue_order_id, symbol, market=market)
                self.orders.apply_result(state, result, ts=now)
        except ExchangeError as exc:
            self._flatten_failed(sleeve, exc)

    async def _look_up_unsent(
        self, sleeve: Sleeve, state: OrderState, reason: str, now: datetime
    ) -> bool:
        """Find an order the journal holds no venue id for (never sent, or its outcome lost).

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve whose venue is asked (by the order's client id).
        state : OrderState
            The order.
        reason : str
            Why it is looked up, journaled with the cancel of an order the venue never got.
        now : datetime
            The event time (aware UTC).

        Returns
        -------
        bool
            True when the venue holds it live (its venue id and state are journaled now);
            False when the venue has no such order (journaled ``cancelled before sending``)
            or it already ended there (its final state journaled).

        Raises
        ------
        ExchangeError
            If the look-up fails (nothing is journaled).
        """
        found = await sleeve.exchange.get_order_by_client_id(
            state.client_order_id, sleeve.symbol, market=sleeve.market
        )
        if found is None:
            self.orders.abandon(state, f"cancelled before sending: {reason}", ts=now)
            return False
        self.orders.apply_result(state, found, ts=now)
        return not found.status.is_terminal

    def _flatten_failed(self, sleeve: Sleeve, exc: ExchangeError) -> None:
        self.journal.raise_alert(
            "critical", "engine", f"flatten of {sleeve.name} failed: {exc}", run_id=self.run_id
        )

    async def close_simulated_book(
        self, sleeves: Sequence[Sleeve], reason: str, now: datetime
    ) -> None:
        """Cancel what is still open at the simulated venues.

        That is an order decided on the last bar and the resting exits: their book ends with
        the run, and an ended run cannot resume.

        Parameters
        ----------
        sleeves : Sequence[Sleeve]
            The run's sleeves.
        reason : str
            Why (journaled with the cancels).
        now : datetime
            The time journaled with the cancels (aware UTC).
        """
        for sleeve in sleeves:
            for state in self.orders.open_orders(sleeve.name):
                if state.venue_order_id is not None:
                    with contextlib.suppress(OrderNotFound):  # already terminal at the venue
                        await sleeve.exchange.cancel_order(
                            state.venue_order_id, sleeve.symbol, market=sleeve.market
                        )
                self.orders.close_unfillable(
                    state, f"{reason}: the simulated venue's book closes with the run", ts=now
                )
            sleeve.exit_orders = []
