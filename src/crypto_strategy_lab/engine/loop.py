"""The one trading loop, used by replay, paper and live (NautilusTrader's "same strategy,
different clock, feed and execution client").

Per closed bar of a symbol, for every sleeve on it::

    venue: fills of the bar (simulated venue) or order status polls (real venue) -> journal
    protection: after the position changed, its stop-loss / take-profit exits are re-placed
    strategy runner: target weight w_t
    if w_t != w_{t-1}:  size -> RiskEngine -> order manager (journal first) -> venue
    every `equity_every` bars: equity, exposure and positions -> journal
    every `reconcile_every` bars: reconciliation (fail closed)

Semantics shared with the backtest kernel (``backtest.kernel``), which the parity test checks:

* an order is decided on bar t's close and, on the simulated venue, fills at bar t+1's open;
* only a *change* of the target weight trades: equity drift does not rebalance, and after a
  stop exit the sleeve stays flat until the signal changes;
* stop-loss and take-profit are relative to the position's average entry price and rest at
  the venue as reduce-only stop / limit orders for the whole position (re-placed after every
  fill, kept live across a rebalance and re-sized first for a larger target), so they hold
  across restarts of the engine;
* every order reaches the venue through the risk engine: ``evaluate`` for target orders,
  ``approve_reduce_only`` for exits and the flatten.

Halts: one state, in the ``RiskEngine``: the kill switch and the daily-loss halt (journaled)
and the engine's fail-closed halt for a reconciliation problem or an order with an unknown
outcome (reducing orders still pass) until a reconciliation is clean. Once the kill switch is
seen the engine sends only cancels and the flatten.

Restart (:meth:`TradingEngine.start` with an existing ``run_id``): orders are reloaded from
the journal. On a real venue the engine then reconciles — journaled orders are looked up by
client id and brought up to date, ``new`` orders the venue never saw are sent again with the
*same* client id. On the simulated venue, whose book lived in the dead process, the engine
replays the run's bars from the start: every decision gets the same deterministic client id
(:mod:`.ids`), so journaled decisions are re-used (not re-evaluated, not re-recorded) and only
the venue's in-memory book is rebuilt; from the last journaled bar on, the run continues.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from crypto_strategy_lab.core.enums import (
    MarketType,
    OrderSide,
    OrderStatus,
    OrderType,
    SignalAction,
    TimeInForce,
    TradingMode,
)
from crypto_strategy_lab.core.errors import CSLError, ExchangeError, InvalidOrder, OrderNotFound
from crypto_strategy_lab.core.orders import OrderRequest, Position
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.engine.clock import Clock, ReplayClock
from crypto_strategy_lab.engine.feeds import BarEvent
from crypto_strategy_lab.engine.ids import decision_order_id
from crypto_strategy_lab.engine.monitor import EngineMonitor, EngineState
from crypto_strategy_lab.engine.orders import OrderManager
from crypto_strategy_lab.engine.reconcile import ReconcileReport, reconcile
from crypto_strategy_lab.engine.runner import SignalPoint
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.models import EquityPoint, Order, RiskEventRecord, SignalRecord
from crypto_strategy_lab.journal.order_audit import JournalAuditSink
from crypto_strategy_lab.risk import (
    MarketState,
    OrderIntent,
    PortfolioState,
    PositionExposure,
    RiskAction,
    RiskEngine,
    RiskLimits,
    bracket_prices,
)
from crypto_strategy_lab.risk.state import asset_class_of

log = logging.getLogger(__name__)
D0 = Decimal(0)


class EngineError(CSLError):
    """The engine cannot start or continue (e.g. resuming a run that already ended)."""


@dataclass
class RunSummary:
    """What a finished (or stopped) run did."""

    run_id: str
    status: str
    bars: int
    orders_sent: int
    final_equity: Decimal
    latencies_ns: list[int] = field(default_factory=list)
    alerts: int = 0


class TradingEngine:
    """The trading loop over a set of sleeves.

    Parameters
    ----------
    journal:
        The journal every record goes to.
    sleeves:
        The strategies, each on its symbol and venue account.
    mode:
        The trading mode journaled on the run.
    capital:
        The run's capital (sum of the sleeves' account equity at start).
    limits:
        Risk limits (``RiskLimits()``: the brief's defaults).
    clock:
        ``ReplayClock`` (default) or ``WallClock``.
    run_id, run_name, run_config:
        Journal identity of the run; an existing ``run_id`` resumes it.
    equity_every:
        Journal equity/exposure every this many bars (1: every bar).
    reconcile_every:
        Reconcile with the venues every this many bars (0: only at start/resume).
    kill_check_seconds:
        Look the kill switch up in the journal on a bar at most this often (wall-clock
        seconds; 0: every bar). ``csl kill`` is written by another process, so the engine
        must read it; once a second bounds the reaction time of a fast replay to one second
        and keeps the query off the per-bar path. Every new-risk order is still checked
        against the journal by the risk engine.
    monitor:
        Optional :class:`~.monitor.EngineMonitor`: Prometheus metrics every bar, alert rules
        (log / journal / webhook) every ``every_bars`` bars.
    commit_seconds:
        Commit the journal's buffered writes when this many wall-clock seconds have passed
        since the last commit, instead of at the end of every bar (0: every bar). Orders
        commit before they are sent either way, and every commit holds all writes before it,
        so a crash loses only the writes after the last commit. Default: 0.5 in simulated
        mode (its venue's book dies with the process, so a resume replays the run's bars and
        writes them again: ``test_crash_restart.py``), 0 (every bar) at a venue.
    """

    def __init__(
        self,
        journal: Journal,
        sleeves: Sequence[Sleeve],
        *,
        mode: TradingMode,
        capital: Decimal | float,
        limits: RiskLimits | None = None,
        clock: Clock | None = None,
        run_id: str | None = None,
        run_name: str = "paper",
        run_config: dict[str, Any] | None = None,
        equity_every: int = 1,
        reconcile_every: int = 0,
        kill_check_seconds: float = 1.0,
        monitor: EngineMonitor | None = None,
        commit_seconds: float | None = None,
    ) -> None:
        names = [s.name for s in sleeves]
        if not sleeves or len(set(names)) != len(names):
            raise EngineError(f"sleeves must be non-empty with unique names, got {names}")
        accounts: dict[int, str] = {}
        for sleeve in sleeves:
            other = accounts.setdefault(id(sleeve.exchange), sleeve.name)
            if other != sleeve.name:
                raise EngineError(
                    f"sleeves {other!r} and {sleeve.name!r} share one venue account: a venue "
                    "nets positions per account and symbol, so one sleeve's reduce-only exits "
                    "would close the other's exposure; give each sleeve its own account"
                )
        self.journal = journal
        self.sleeves = list(sleeves)
        self.mode = TradingMode(mode)
        self.capital = Decimal(str(capital))
        self.limits = limits or RiskLimits()
        self.clock = clock or ReplayClock()
        self.run_id = run_id
        self.run_name = run_name
        self.run_config = run_config or {}
        self.equity_every = max(1, equity_every)
        self.reconcile_every = reconcile_every
        self.kill_check_seconds = kill_check_seconds
        if commit_seconds is None:
            commit_seconds = 0.5 if self.mode is TradingMode.SIMULATED else 0.0
        self.commit_seconds = commit_seconds
        self._kill_checked_at = float("-inf")
        self._kill_engaged = False
        self.monitor = monitor
        self._gross = D0
        self._net = D0
        self._last_data: dict[str, datetime] = {}
        self._by_symbol: dict[str, list[Sleeve]] = defaultdict(list)
        for sleeve in self.sleeves:
            self._by_symbol[sleeve.symbol].append(sleeve)
        self.risk: RiskEngine | None = None
        self.orders: OrderManager | None = None
        self.stop_requested = False
        self.killed = False
        self.latencies_ns: list[int] = []
        self.bars = 0
        self._prices: dict[str, Decimal] = {}
        self._peak = self.capital
        self._day: date | None = None
        self._day_start = self.capital
        self._equity = self.capital
        self._checkpoint: datetime | None = None
        self._signal_keys: set[tuple[str, datetime]] = set()
        self._decided: set[str] = set()
        self._last_positions: dict[str, Decimal] = {}
        self._equity_mark: datetime | None = None  # the journal's last equity point (resume)
        self.last_reconcile: ReconcileReport | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def simulated(self) -> bool:
        return self.mode is TradingMode.SIMULATED

    @property
    def recovering(self) -> bool:
        return self._checkpoint is not None

    async def start(self) -> str:
        """Open (or resume) the run; returns its id."""
        resumed = False
        if self.run_id is not None and (run := self.journal.get_run(self.run_id)) is not None:
            if run.status != "running":
                raise EngineError(
                    f"run {self.run_id} already ended ({run.status}); start a new run"
                )
            resumed = True
        else:
            run = self.journal.start_run(
                name=self.run_name,
                mode=self.mode,
                capital=self.capital,
                strategies=[s.name for s in self.sleeves],
                config=self.run_config,
                run_id=self.run_id,
            )
            self.run_id = run.run_id
        assert self.run_id is not None
        self._attach_audit()
        if self.monitor is not None:
            self.monitor.bind(self.run_id)
        self.risk = RiskEngine(self.limits, journal=self.journal, run_id=self.run_id)
        venues = {s.name: s.venue for s in self.sleeves}
        self.orders = OrderManager(self.journal, self.run_id, venues)
        if resumed:
            self.orders.load()
            self._load_progress()
            self.journal.audit(
                "engine.resumed", {"checkpoint": self._checkpoint}, run_id=self.run_id
            )
            for sleeve in self.sleeves:
                sleeve.exit_orders = [
                    o.client_order_id
                    for o in self.orders.open_orders(sleeve.name)
                    if o.client_order_id.startswith("csl-")
                ]
        if not (resumed and self.simulated):
            await self.reconcile(resend_unsent=resumed)
        self._checkpoint = self._checkpoint if (resumed and self.simulated) else None
        return self.run_id

    def _attach_audit(self) -> None:
        """Give every sleeve's exchange client a sink into the journal's audit chain (once per
        client; a client re-used by a later run is re-pointed at that run)."""
        for sleeve in self.sleeves:
            audit = getattr(sleeve.exchange, "audit", None)
            if audit is None:
                continue
            sink = next(
                (
                    s
                    for s in audit.sinks
                    if isinstance(s, JournalAuditSink) and s.journal is self.journal
                ),
                None,
            )
            if sink is None:
                audit.sinks.append(JournalAuditSink(self.journal, self.run_id))
            else:
                sink.run_id = self.run_id

    def _load_progress(self) -> None:
        with self.journal.session() as session:
            marks = [
                session.scalar(
                    select(func.max(EquityPoint.ts)).where(EquityPoint.run_id == self.run_id)
                ),
                session.scalar(
                    select(func.max(SignalRecord.ts)).where(SignalRecord.run_id == self.run_id)
                ),
                session.scalar(
                    select(func.max(Order.created_at)).where(Order.run_id == self.run_id)
                ),
            ]
            self._checkpoint = max((m for m in marks if m is not None), default=None)
            self._equity_mark = marks[0]
            self._signal_keys = {
                (s, t)
                for s, t in session.execute(
                    select(SignalRecord.strategy, SignalRecord.ts).where(
                        SignalRecord.run_id == self.run_id
                    )
                )
            }
            self._decided = {
                c
                for c in session.scalars(
                    select(RiskEventRecord.client_order_id).where(
                        RiskEventRecord.run_id == self.run_id
                    )
                )
                if c
            }
            self._decided |= set(
                session.scalars(select(Order.client_order_id).where(Order.run_id == self.run_id))
            )
            peak = session.scalar(
                select(func.max(EquityPoint.equity)).where(EquityPoint.run_id == self.run_id)
            )
        if peak is not None:
            self._peak = max(self._peak, peak)
        # positions are journaled when they change: compare with what the journal last holds
        self._last_positions = {
            p.strategy: p.quantity
            for p in self.journal.latest_positions(self.run_id or "")
            if p.strategy is not None
        }

    async def run(self, feed: AsyncIterable[BarEvent]) -> RunSummary:
        """Start (or resume), process the feed until it ends or a stop is requested, finish."""
        if self.run_id is None or self.orders is None:
            await self.start()
        status = "completed"
        try:
            with self.journal.batch() if self.commit_seconds else contextlib.nullcontext():
                committed = time.monotonic()
                async for bar in feed:
                    if self.stop_requested:
                        status = "stopped"
                        break
                    await self.on_bar(bar)
                    if self.commit_seconds and time.monotonic() - committed >= self.commit_seconds:
                        self.journal.flush()
                        committed = time.monotonic()
                else:
                    status = "stopped" if self.stop_requested else "completed"
        except BaseException:
            status = "failed"
            raise
        finally:
            if status != "failed":
                if self.simulated and not self.recovering:
                    await self._close_simulated_book(f"run ended ({status})")
                await self._snapshot(self.clock.now(), force=True)
            self.journal.finish_run(self.run_id, status)  # type: ignore[arg-type]
            if self.monitor is not None:
                self.monitor.close()
        return RunSummary(
            self.run_id,
            status,
            self.bars,
            self.orders.sent,
            self._equity,  # type: ignore[arg-type,union-attr]
            self.latencies_ns,
        )

    async def _close_simulated_book(self, reason: str) -> None:
        """Cancel what is still open at the simulated venues (an order decided on the last bar,
        the resting exits): their book ends with the run, and an ended run cannot resume."""
        assert self.orders is not None
        now = self.clock.now()
        for sleeve in self.sleeves:
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

    def request_stop(self) -> None:
        """Finish the current bar, then stop (SIGINT/SIGTERM handler)."""
        self.stop_requested = True

    # -- the bar step ----------------------------------------------------------------------------

    async def on_bar(self, bar: BarEvent) -> None:
        """One bar, journaled as one batch: its writes commit together at the end of the bar
        (or with later bars', see ``commit_seconds``), except that each order commits (with
        what came before it) before it is sent."""
        with self.journal.batch():
            await self._on_bar(bar)

    async def _on_bar(self, bar: BarEvent) -> None:
        assert self.orders is not None and self.risk is not None
        self.clock.advance(bar.close_time)
        now = bar.close_time if isinstance(self.clock, ReplayClock) else self.clock.now()
        self.bars += 1
        self._prices[bar.symbol] = Decimal(repr(float(bar.close)))
        caught_up = self._checkpoint is not None and bar.close_time > self._checkpoint
        sleeves = self._by_symbol.get(bar.symbol, [])
        for sleeve in sleeves:
            await self._observe(sleeve, bar, now)
        if caught_up:
            # The venue has re-lived everything the journal holds (including this bar's fills,
            # which may have been journaled just before the crash): back to normal operation.
            self._checkpoint = None
            await self.reconcile()
        if (
            self.reconcile_every and self.bars % self.reconcile_every == 0 and not self.recovering
        ) or (self.halt_reason and not self.recovering):
            await self.reconcile()
        if not self.recovering and not self.killed and self._kill_switch_engaged():
            await self.flatten("kill switch engaged")
        for sleeve in sleeves:
            point = await sleeve.runner.on_bar(bar)
            if self.killed:
                # once the kill switch is seen the only orders are the cancels and the
                # flatten: a re-target on the kill bar would be approved as "reducing"
                # against the position the unfilled flatten is about to close and reopen it
                continue
            if point.strength != sleeve.last_target:
                sleeve.last_target = point.strength
                await self._retarget(sleeve, bar, point, now)
        if self.bars % self.equity_every == 0:
            await self._snapshot(now)
        self._last_data[bar.symbol] = bar.close_time
        if self.monitor is not None and not self.recovering:
            await self.monitor.on_bar(self._monitor_state(now))

    def _kill_switch_engaged(self) -> bool:
        assert self.risk is not None
        now = time.monotonic()
        if now - self._kill_checked_at < self.kill_check_seconds:
            return False
        self._kill_checked_at = now
        self._kill_engaged = self.risk.kill_switch_engaged
        if self._kill_engaged and self.monitor is not None:
            self.monitor.halt("global", "kill_switch")
        return self._kill_engaged

    def _monitor_state(self, now: datetime) -> EngineState:
        assert self.orders is not None
        open_orders: dict[str, int] = {s.venue: 0 for s in self.sleeves}
        venue_of = {s.name: s.venue for s in self.sleeves}
        for state in self.orders.open_orders():
            open_orders[venue_of.get(state.sleeve, "")] = (
                open_orders.get(venue_of.get(state.sleeve, ""), 0) + 1
            )
        problems = self.last_reconcile.problems if self.last_reconcile is not None else ()
        return EngineState(
            timestamp=now,
            equity=max(float(self._equity), 1e-9),
            peak_equity=max(float(self._peak), 1e-9),
            day_start_equity=max(float(self._day_start), 1e-9),
            gross_exposure=float(self._gross),
            net_exposure=float(self._net),
            open_orders=open_orders,
            kill_switch_active=self._kill_engaged or self.killed,
            kill_switch_reason="kill switch engaged" if self._kill_engaged else None,
            reconciliation_problems=tuple(problems),
            last_data_at=dict(self._last_data),
        )

    def _venue_error(self, sleeve: Sleeve, exc: ExchangeError, what: str) -> None:
        """A failed venue call: halt new risk (fail closed) and count it for the alerts."""
        if self.monitor is not None:
            self.monitor.venue_error(sleeve.venue, exc, self.clock.now())
        self._halt(f"{what} failed: {exc}")

    async def _observe(self, sleeve: Sleeve, bar: BarEvent, now: datetime) -> None:
        """Bring the journal up to date with the venue for one sleeve."""
        assert self.orders is not None
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
                    self._venue_error(sleeve, exc, "order status query")
                    return
                if result is not None:
                    before = state.filled
                    self.orders.apply_result(state, result, ts=now)
                    changed = changed or state.filled != before
        if changed:
            await self._protect(sleeve, now)

    async def _retarget(
        self, sleeve: Sleeve, bar: BarEvent, point: SignalPoint, now: datetime
    ) -> None:
        assert self.orders is not None and self.risk is not None and self.run_id is not None
        self._record_signal(sleeve, bar, point)
        coid = decision_order_id(self.run_id, sleeve.name, bar.close_time)
        if coid in self._decided:  # re-taken decision after a restart: re-use, don't re-decide
            if self.orders.known(coid):
                request = self._journaled_request(coid)
                position = await self._position(sleeve) or D0
                target = position + request.side.sign * request.quantity
                await self._cover_rebalance(sleeve, target, now)
                await self._send(sleeve, request, bar, now, restore=True)
            return
        position = await self._position(sleeve)
        equity = await self._account_equity(sleeve)
        if position is None or equity is None:
            return
        target = sleeve.target_quantity(point.strength, equity, bar.as_mapping(), position)
        delta = target - position
        if delta == 0:
            return
        side = OrderSide.BUY if delta > 0 else OrderSide.SELL
        request = OrderRequest(
            symbol=sleeve.symbol,
            side=side,
            order_type=OrderType.MARKET,
            quantity=abs(delta),
            market=sleeve.market,
            time_in_force=_time_in_force(sleeve.market),
            client_order_id=coid,
            strategy=sleeve.name,
        )
        decision = self.risk.evaluate(
            OrderIntent(request=request, venue=sleeve.venue),
            await self._portfolio_state(),
            MarketState(
                symbol=sleeve.symbol,
                last_price=self._prices[sleeve.symbol],
                timestamp=bar.close_time,
            ),
            now=now,
        )
        if not decision.approved or decision.order is None:
            if self.monitor is not None and decision.action is RiskAction.REJECT:
                self.monitor.order_rejected(now)
            return
        # Protection is managed by the engine for the whole position (see module docstring):
        # the brackets the risk engine computed are journaled with its decision and re-placed
        # from the average entry price once the order fills.
        order = decision.order.with_quantities(stop_loss=None, take_profit=None)
        # Journal exactly what the venue receives (rounded to its lot and tick), or a venue
        # that rounds 0.17945 to 0.179 leaves the order "partially filled" in the journal for
        # ever. Below the venue's minimum it stays as decided and is journaled as rejected.
        with contextlib.suppress(InvalidOrder):
            order = await sleeve.exchange.prepare_order(order)
        self.orders.record_new(sleeve.name, order, risk_event_id=decision.risk_event_id, ts=now)
        await self._cover_rebalance(sleeve, position + order.side.sign * order.quantity, now)
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
        assert self.orders is not None
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
        if request.client_order_id in self.orders.unresolved:
            if self.monitor is not None:
                self.monitor.venue_error(sleeve.venue, "OutcomeUnknown", now)
            self._halt(f"order {request.client_order_id} has an unknown outcome")

    def _journaled_request(self, coid: str) -> OrderRequest:
        return journaled_request(self.journal, coid)

    # -- protection ------------------------------------------------------------------------------

    async def _protect(self, sleeve: Sleeve, now: datetime) -> None:
        """Re-place the reduce-only stop-loss / take-profit pair for the whole position."""
        assert self.run_id is not None and self.orders is not None
        await self._cancel_exits(sleeve, now)
        positions = await self._venue_positions(sleeve)
        if not positions:
            return
        pos = positions[0]
        entry = OrderSide.BUY if pos.quantity > 0 else OrderSide.SELL
        sl, tp = bracket_prices(
            entry,
            pos.average_price,
            self.limits.dec("stop_loss_pct"),
            self.limits.dec("take_profit_pct"),
        )
        for purpose, order_type, fields in (
            ("stop_loss", OrderType.STOP, {"stop_price": _round(sl)}),
            ("take_profit", OrderType.LIMIT, {"price": _round(tp)}),
        ):
            coid = decision_order_id(self.run_id, sleeve.name, now, purpose)
            if self.orders.known(coid) and not (self.recovering and self.simulated):
                continue
            request = OrderRequest(
                symbol=sleeve.symbol,
                side=entry.opposite(),
                order_type=order_type,
                quantity=abs(pos.quantity),
                market=sleeve.market,
                time_in_force=_time_in_force(sleeve.market),
                reduce_only=True,
                client_order_id=coid,
                strategy=sleeve.name,
                **fields,
            )
            fresh = not self.orders.known(coid)
            if fresh:
                self.orders.record_new(
                    sleeve.name,
                    request,
                    risk_event_id=self._reduce_only(sleeve, request, now),
                    ts=now,
                )
                await self.orders.send(sleeve.name, sleeve.exchange, request, ts=now)
            else:
                state = self.orders.orders[coid]
                try:
                    self.orders.apply_result(
                        state, await sleeve.exchange.place_order(request), ts=now
                    )
                except ExchangeError:
                    continue
            sleeve.exit_orders.append(coid)

    async def _cover_rebalance(self, sleeve: Sleeve, target: Decimal, now: datetime) -> None:
        """Keep the resting exits live across a rebalance, covering the new position.

        A venue fills a reduce-only exit up to the position it finds, so an exit whose
        quantity covers ``|target|`` closes the whole position whichever way the rebalance
        went: exits of a position that grows in the same direction are re-placed (same
        levels) for ``|target|``; those of a position that shrinks, closes or flips stay as
        they are (the venue clamps or voids them). The backtest kernel models exactly this.
        """
        assert self.orders is not None and self.run_id is not None
        keep = []
        for coid in sleeve.exit_orders:
            state = self.orders.orders.get(coid)
            replaying = self.recovering and self.simulated  # the venue's book is rebuilt
            if state is None or (not state.open and not replaying):
                continue
            old = self._journaled_request(coid)
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
                self._venue_error(sleeve, exc, f"cancel of exit {coid}")
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
                self.orders.record_new(
                    sleeve.name,
                    request,
                    risk_event_id=self._reduce_only(sleeve, request, now),
                    ts=now,
                )
                await self.orders.send(sleeve.name, sleeve.exchange, request, ts=now)
            elif replaying:
                cover = self.orders.orders[request.client_order_id]
                with contextlib.suppress(ExchangeError):
                    self.orders.apply_result(
                        cover, await sleeve.exchange.place_order(request), ts=now
                    )
            keep.append(request.client_order_id)
        sleeve.exit_orders = keep

    def _reduce_only(self, sleeve: Sleeve, request: OrderRequest, now: datetime) -> int | None:
        """The risk engine's journaled approval of a reduce-only order (its event id)."""
        assert self.risk is not None
        decision = self.risk.approve_reduce_only(
            OrderIntent(request=request, venue=sleeve.venue),
            self._prices.get(sleeve.symbol) or request.price or request.stop_price or D0,
            now=now,
        )
        return decision.risk_event_id

    async def _cancel_exits(self, sleeve: Sleeve, now: datetime) -> None:
        assert self.orders is not None
        keep = []
        for coid in sleeve.exit_orders:
            state = self.orders.orders.get(coid)
            if state is None or (not state.open and not (self.recovering and self.simulated)):
                continue
            if state.venue_order_id is None:
                continue
            try:
                result = await sleeve.exchange.cancel_order(
                    state.venue_order_id, sleeve.symbol, market=sleeve.market
                )
            except OrderNotFound:
                continue  # already filled or cancelled at the venue; the next poll tells
            except ExchangeError as exc:
                self._venue_error(sleeve, exc, f"cancel of exit {coid}")
                keep.append(coid)
                continue
            self.orders.apply_result(state, result, ts=now)
        sleeve.exit_orders = keep

    # -- kill switch -----------------------------------------------------------------------------

    async def flatten(self, reason: str) -> None:
        """Cancel every order and close every position of every sleeve (the kill switch)."""
        assert self.orders is not None
        self.killed = True
        now = self.clock.now()
        self.journal.audit("engine.flatten", {"reason": reason}, run_id=self.run_id)
        for sleeve in self.sleeves:
            try:
                await sleeve.exchange.cancel_all_orders(sleeve.symbol, market=sleeve.market)
                for state in self.orders.open_orders(sleeve.name):
                    if state.venue_order_id:
                        result = await sleeve.exchange.get_order(
                            state.venue_order_id, sleeve.symbol, market=sleeve.market
                        )
                        self.orders.apply_result(state, result, ts=now)
                    else:
                        self.orders.abandon(state, f"cancelled before sending: {reason}", ts=now)
                positions = await self._venue_positions(sleeve)
                if positions:
                    pos = positions[0]
                    coid = decision_order_id(self.run_id or "", sleeve.name, now, "flatten")
                    request = OrderRequest(
                        symbol=sleeve.symbol,
                        side=OrderSide.SELL if pos.quantity > 0 else OrderSide.BUY,
                        order_type=OrderType.MARKET,
                        quantity=abs(pos.quantity),
                        market=sleeve.market,
                        time_in_force=_time_in_force(sleeve.market),
                        reduce_only=True,
                        client_order_id=coid,
                        strategy=sleeve.name,
                    )
                    self.orders.record_new(
                        sleeve.name,
                        request,
                        risk_event_id=self._reduce_only(sleeve, request, now),
                        ts=now,
                    )
                    await self.orders.send(sleeve.name, sleeve.exchange, request, ts=now)
            except ExchangeError as exc:
                self.journal.raise_alert(
                    "critical",
                    "engine",
                    f"flatten of {sleeve.name} failed: {exc}",
                    run_id=self.run_id,
                )
            sleeve.exit_orders = []
            sleeve.last_target = 0.0

    # -- reconciliation --------------------------------------------------------------------------

    async def reconcile(self, *, resend_unsent: bool = False) -> ReconcileReport:
        """Compare venue and journal; a problem halts new risk (fail closed)."""
        assert self.orders is not None
        report = await reconcile(
            self.journal,
            self.run_id or "",
            self.sleeves,
            self.orders,
            now=self.clock.now(),
            resend_unsent=resend_unsent,
        )
        self.last_reconcile = report
        if report.ok:
            assert self.risk is not None
            self.risk.clear_new_risk_halt()
            if self.monitor is not None:
                self.monitor.clear_halt("engine")
        else:
            self._halt("; ".join(report.problems)[:500])
        return report

    @property
    def halt_reason(self) -> str | None:
        """Why new risk is halted in this engine (``None``: not halted); the state lives in
        the risk engine, which applies it to every order (rule ``engine_halt``)."""
        return self.risk.new_risk_halt if self.risk is not None else None

    def _halt(self, reason: str) -> None:
        assert self.risk is not None
        if self.halt_reason is None:
            log.error("new risk halted: %s", reason)
        self.risk.halt_new_risk(reason)
        if self.monitor is not None:
            self.monitor.halt("engine", "engine_halt")

    # -- venue state -----------------------------------------------------------------------------

    async def _venue_positions(self, sleeve: Sleeve) -> list[Position] | None:
        try:
            return [
                p
                for p in await sleeve.exchange.get_positions(sleeve.symbol, market=sleeve.market)
                if p.quantity != 0
            ]
        except ExchangeError as exc:
            self._venue_error(sleeve, exc, "position query")
            return None

    async def _position(self, sleeve: Sleeve) -> Decimal | None:
        positions = await self._venue_positions(sleeve)
        if positions is None:
            return None
        return sum((p.quantity for p in positions), D0)

    async def _account_equity(self, sleeve: Sleeve) -> Decimal | None:
        try:
            balances = await sleeve.exchange.get_balance()
        except ExchangeError as exc:
            self._venue_error(sleeve, exc, "balance query")
            return None
        quote = getattr(sleeve.exchange, "quote", None) or next(iter(balances), None)
        balance = balances.get(quote) if quote else None
        return balance.total if balance is not None else D0

    async def _portfolio_state(self) -> PortfolioState:
        equity, positions = await self._book()
        self._equity = equity
        self._peak = max(self._peak, equity)
        return PortfolioState(
            equity=max(equity, Decimal("1e-9")),
            peak_equity=max(self._peak, Decimal("1e-9")),
            day_start_equity=max(self._day_start, Decimal("1e-9")),
            positions=tuple(positions),
        )

    async def _book(self) -> tuple[Decimal, list[PositionExposure]]:
        equity = D0
        exposures: list[PositionExposure] = []
        for sleeve in self.sleeves:
            equity += await self._account_equity(sleeve) or D0
            for pos in await self._venue_positions(sleeve) or []:
                price = pos.mark_price or self._prices.get(sleeve.symbol) or pos.average_price
                exposures.append(
                    PositionExposure(
                        strategy=sleeve.name,
                        venue=sleeve.venue,
                        symbol=sleeve.symbol,
                        asset_class=asset_class_of(sleeve.market),
                        quantity=pos.quantity,
                        price=price,
                    )
                )
        return equity, exposures

    async def _snapshot(self, now: datetime, *, force: bool = False) -> None:
        """Journal equity and exposure (and each changed position) at ``now``."""
        killed_bar = (  # the bar the crash interrupted: its decisions are in, its equity is not
            self._checkpoint is not None
            and now == self._checkpoint
            and (self._equity_mark is None or self._equity_mark < now)
        )
        if self.recovering and not (force or killed_bar):
            return
        if force and self._checkpoint is not None:
            return
        equity, exposures = await self._book()
        day = now.date()
        if day != self._day:
            self._day, self._day_start = day, equity
        self._equity = equity
        self._peak = max(self._peak, equity)
        gross = sum((e.notional for e in exposures), D0)
        net = sum((e.quantity * e.price for e in exposures), D0)
        self._gross, self._net = gross, net
        unrealized = D0
        for sleeve in self.sleeves:
            for pos in await self._venue_positions(sleeve) or []:
                unrealized += pos.unrealized_pnl or D0
                if self._last_positions.get(sleeve.name) != pos.quantity:
                    self.journal.record_position(
                        self.run_id or "", pos, ts=now, strategy=sleeve.name
                    )
                    self._last_positions[sleeve.name] = pos.quantity
            if (
                not any(e.strategy == sleeve.name for e in exposures)
                and self._last_positions.get(sleeve.name, D0) != 0
            ):
                flat = Position(
                    symbol=sleeve.symbol,
                    quantity=D0,
                    average_price=D0,
                    market=sleeve.market,
                    venue=sleeve.venue,
                )
                self.journal.record_position(self.run_id or "", flat, ts=now, strategy=sleeve.name)
                self._last_positions[sleeve.name] = D0
        self.journal.record_equity(
            self.run_id or "",
            ts=now,
            equity=equity,
            cash=equity - unrealized,
            gross_exposure=gross,
            net_exposure=net,
            realized_pnl=equity - unrealized - self.capital,
            unrealized_pnl=unrealized,
        )

    def _record_signal(self, sleeve: Sleeve, bar: BarEvent, point: SignalPoint) -> None:
        key = (sleeve.name, bar.close_time)
        if key in self._signal_keys:
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
            self.run_id or "",
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
        self._signal_keys.add(key)


def journaled_request(journal: Journal, coid: str) -> OrderRequest:
    """The order request as the journal recorded it (for resends with the same client id)."""
    row = journal.order(coid)
    if row is None:
        raise EngineError(f"order {coid} is not in the journal")
    return OrderRequest(
        symbol=row.symbol,
        side=OrderSide(row.side),
        order_type=OrderType(row.order_type),
        quantity=row.quantity,
        price=row.price,
        stop_price=row.stop_price,
        market=row.market,
        reduce_only=row.reduce_only,
        client_order_id=coid,
        strategy=row.strategy,
    )


def _round(price: Decimal) -> Decimal:
    return price.quantize(Decimal("1e-8"))


def _time_in_force(market: MarketType | None) -> TimeInForce:
    """``DAY`` for US equities (Alpaca accepts fractional orders only as simple DAY orders,
    as ``Exchange.close_position`` knows), ``GTC`` elsewhere."""
    return TimeInForce.DAY if market is MarketType.STOCK else TimeInForce.GTC
