"""The one trading loop, used by replay, paper and live.

NautilusTrader's "same strategy, different clock, feed and execution client".

Per closed bar of a symbol (:meth:`TradingEngine.on_bar`)::

    per sleeve:  venue fills / order polls -> order manager -> journal     (bar_step.observe)
                 after a position change: stop-loss / take-profit re-placed     (exits.protect)
    catch-up after a simulated resume, every `reconcile_every` bars or while halted:
                 reconciliation (fail closed)                       (reconcile, halts)
    kill switch seen: cancel everything, flatten reduce-only            (exits.flatten)
    per sleeve:  strategy runner: target weight w_t
                 if w_t != w_{t-1}: size -> RiskEngine -> order manager (journal first)
                                    -> venue                        (bar_step.retarget)
    every `equity_every` bars: equity, exposure and positions -> journal     (book.snapshot)

The parts, each in its module: :mod:`.bar_step` (one sleeve's bar), :mod:`.exits` (protection,
covers, flatten), :mod:`.book` (venue positions and balances, the risk engine's portfolio
view, snapshots), :mod:`.halts` (the fail-closed halt and the kill switch, held by the risk
engine), :mod:`.resume` (restart: what the journal already holds, replay up to it),
:mod:`.orders` (journal-first order state) and :mod:`.reconcile`. Every order reaches the venue
through the risk engine: ``evaluate`` for target orders, ``approve_reduce_only`` for exits and
the flatten. Once the kill switch is seen the engine sends only cancels and the flatten.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from crypto_strategy_lab.core.enums import TradingMode
from crypto_strategy_lab.core.epoch import utc_from_epoch_us
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.engine.bar_step import BarStep
from crypto_strategy_lab.engine.book import Book
from crypto_strategy_lab.engine.clock import Clock, ReplayClock
from crypto_strategy_lab.engine.exits import Exits
from crypto_strategy_lab.engine.feeds import (
    BarColumns,
    BarEvent,
    HistoricalReplayFeed,
    bar_event,
)
from crypto_strategy_lab.engine.halts import Halts
from crypto_strategy_lab.engine.monitor import EngineMonitor, EngineState
from crypto_strategy_lab.engine.orders import OrderManager
from crypto_strategy_lab.engine.reconcile import ReconcileReport, reconcile
from crypto_strategy_lab.engine.resume import RunProgress, load_progress, restore_exits
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.order_audit import JournalAuditSink
from crypto_strategy_lab.risk import RiskEngine, RiskLimits

# bars a quiet run holds at most: the loop checks a stop request, the commit timer and the
# kill switch between runs (a few milliseconds apart)
_QUIET_RUN = 1024


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
    fast_forward:
        Replay only: process a run of quiet bars in one step (:meth:`_skip_quiet`), with the
        same journal as bar by bar (``tests/engine/test_fast_forward.py``). Applies to a
        :class:`~.feeds.HistoricalReplayFeed` of one symbol replayed as fast as possible in
        simulated mode without a monitor, every sleeve trading that symbol on a simulated
        venue with a prepared (replay) runner.
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
        fast_forward: bool = True,
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
        self.monitor = monitor
        self.fast_forward = fast_forward
        self.fast_forwarded = 0  # bars processed as quiet runs (_skip_quiet)
        self._targets: dict[str, np.ndarray] = {}  # sleeve -> prepared weight per frame row
        self._columns: BarColumns | None = None  # the replayed bars, when fast_forward applies
        self._by_symbol: dict[str, list[Sleeve]] = defaultdict(list)
        for sleeve in self.sleeves:
            self._by_symbol[sleeve.symbol].append(sleeve)
        self._last_data: dict[str, datetime] = {}
        # the run's parts, wired by start() once the run id is known
        self.progress = RunProgress()
        self.risk: RiskEngine | None = None
        self.orders: OrderManager | None = None
        self.halts: Halts | None = None
        self.book: Book | None = None
        self.exits: Exits | None = None
        self.step: BarStep | None = None
        self.stop_requested = False
        self.killed = False
        self.bars = 0
        self.last_reconcile: ReconcileReport | None = None

    @property
    def simulated(self) -> bool:
        """Whether the run is in ``TradingMode.SIMULATED``."""
        return self.mode is TradingMode.SIMULATED

    @property
    def recovering(self) -> bool:
        """Re-living the journaled bars of a simulated resume (see :mod:`.resume`)."""
        return self.progress.replaying

    @property
    def halt_reason(self) -> str | None:
        """Why new risk is halted in this engine (``None``: not halted).

        The state lives in the risk engine, which applies it to every order (rule
        ``engine_halt``).
        """
        return self.halts.reason if self.halts is not None else None

    @property
    def latencies_ns(self) -> list[int]:
        """Bar arrival -> order handed to the venue, per order sent."""
        return self.step.latencies_ns if self.step is not None else []

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> str:
        """Open (or resume) the run.

        Returns
        -------
        str
            The run's id.
        """
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
        run_id = self.run_id
        assert run_id is not None
        _attach_audit(self.journal, run_id, self.sleeves)
        if self.monitor is not None:
            self.monitor.bind(run_id)
        in_process = all(s.exchange.in_process for s in self.sleeves)
        # a replay's accounts live in the run: its daily-loss halt is its own (another replay
        # of the same days must not find it); a venue account's halt holds for every run
        self.risk = RiskEngine(
            self.limits, journal=self.journal, run_id=run_id, run_daily_halt=in_process
        )
        self.orders = OrderManager(
            self.journal,
            run_id,
            {s.name: s.venue for s in self.sleeves},
            # journal first means "on disk before it can act outside this process": only
            # when every venue's book dies with the process may an order commit with its bar
            commit_before_send=not in_process,
        )
        if resumed:
            self.orders.load()
            self.progress = load_progress(self.journal, run_id)
            self.journal.audit(
                "engine.resumed", {"checkpoint": self.progress.checkpoint}, run_id=run_id
            )
            restore_exits(self.sleeves, self.orders)
        self.halts = Halts(self.risk, self.clock, self.monitor, self.kill_check_seconds)
        self.book = Book(self.journal, run_id, self.sleeves, self.capital, self.halts)
        self.book.resume(self.progress)
        self.exits = Exits(
            self.journal,
            run_id,
            self.orders,
            self.risk,
            self.book,
            self.halts,
            self.limits,
            self.progress,
        )
        self.step = BarStep(
            self.journal,
            run_id,
            orders=self.orders,
            risk=self.risk,
            book=self.book,
            exits=self.exits,
            halts=self.halts,
            progress=self.progress,
            monitor=self.monitor,
            simulated=self.simulated,
        )
        if not (resumed and self.simulated):
            await self.reconcile(resend_unsent=resumed)
            # a venue resume reconciles instead of replaying: nothing to re-live
            self.progress.checkpoint = None
        return run_id

    async def run(self, feed: AsyncIterable[BarEvent]) -> RunSummary:
        """Start (or resume), process the feed until it ends or a stop is requested, finish.

        Parameters
        ----------
        feed : async iterable of BarEvent
            The closed bars, in the order they are processed.

        Returns
        -------
        RunSummary
            The run's id and status (``completed``, ``stopped``), bars processed, orders
            sent, final equity and bar-to-order latencies.
        """
        if self.run_id is None or self.orders is None:
            await self.start()
        assert self.orders is not None and self.book is not None and self.exits is not None
        status = "completed"
        try:
            with self.journal.batch() if self.commit_seconds else contextlib.nullcontext():
                committed = time.monotonic()
                async for bar in self._events(feed):
                    if self.stop_requested:
                        status = "stopped"
                        break
                    if type(bar) is range:
                        await self._skip_quiet(bar)
                    else:
                        await self.on_bar(bar)  # type: ignore[arg-type]
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
                    reason = f"run ended ({status})"
                    await self.exits.close_simulated_book(self.sleeves, reason, self.clock.now())
                end = self.clock.now()
                if self.progress.journals_snapshot(end, force=True):
                    await self.book.snapshot(end)
            self.journal.finish_run(self.run_id, status)  # type: ignore[arg-type]
            if self.monitor is not None:
                self.monitor.close()
        return RunSummary(
            self.run_id,  # type: ignore[arg-type]
            status,
            self.bars,
            self.orders.sent,
            self.book.equity,
            self.latencies_ns,
        )

    # -- quiet bars (replay) ----------------------------------------------------------------------

    def _events(self, feed: AsyncIterable[BarEvent]) -> AsyncIterable[BarEvent | range]:
        """The feed's bars, runs of quiet ones as one range of frame rows where that applies."""
        self._columns = self._quiet_columns(feed)
        if self._columns is None:
            return feed
        return self._with_quiet_runs(feed)  # type: ignore[arg-type]

    def _quiet_columns(self, feed: AsyncIterable[BarEvent]) -> BarColumns | None:
        """The feed's bars as arrays when :attr:`fast_forward` applies to it (else None).

        Also keeps each sleeve's prepared weights (:attr:`_targets`) for :meth:`_quiet_ahead`.
        """
        if not (
            self.fast_forward
            and isinstance(feed, HistoricalReplayFeed)
            and len(feed.frames) == 1
            and feed.speedup is None
            and self.simulated
            and isinstance(self.clock, ReplayClock)
            and self.monitor is None
        ):
            return None
        (symbol,) = feed.frames
        targets: dict[str, np.ndarray] = {}
        for sleeve in self.sleeves:
            weights = sleeve.runner.precomputed()
            if (
                sleeve.symbol != symbol
                or not hasattr(sleeve.exchange, "quiet_bars")
                or weights is None
            ):
                return None
            targets[sleeve.name] = weights.to_numpy(np.float64)
        self._targets = targets
        return feed.columns(symbol)

    async def _with_quiet_runs(self, feed: HistoricalReplayFeed) -> AsyncIterator[BarEvent | range]:
        """Each bar as its event, then the run of quiet bars after it (if any) as frame rows.

        The loop processes an item before it asks for the next, so each run is measured
        against the state after the bar before it. A quiet bar is never made a Python object:
        its run is a ``range`` of frame rows, read from the columns (:meth:`_skip_quiet`).
        """
        columns = self._columns
        assert columns is not None
        (symbol,) = feed.frames
        row, end = feed.first_row(symbol), len(columns.close)
        while row < end:
            yield bar_event(columns.row(symbol, row))
            row += 1
            quiet = self._quiet_ahead(row)
            while quiet:
                yield range(row, row + quiet)
                row += quiet
                quiet = self._quiet_ahead(row)

    def _quiet_ahead(self, row: int) -> int:
        """How many bars from frame row ``row`` on are quiet (at most :data:`_QUIET_RUN`).

        A quiet bar is one whose :meth:`on_bar` would only advance the clock, the marks and
        the venue's history and journal the equity point: no sleeve's target changes (the
        prepared weights), every venue finds it quiet (``quiet_bars``: no fill, liquidation
        or funding), no reconcile falls due, and nothing is halted, killed, or re-lived after
        a resume. The kill switch is looked up (as often as ``kill_check_seconds`` lets it)
        before each run, as on every bar.
        """
        columns = self._columns
        assert columns is not None
        if self.killed or self.halts.reason or self.progress.replaying:  # type: ignore[union-attr]
            return 0
        n = min(len(columns.high) - row, _QUIET_RUN)
        if self.reconcile_every:
            # bar numbers bars + 1 + j; the first multiple of reconcile_every is not quiet
            n = min(n, -(self.bars + 1) % self.reconcile_every)
        end = row + n
        for sleeve in self.sleeves:
            if n <= 0:
                return 0
            # a bar past the prepared weights is the per-bar path's (and its error's)
            changed = self._targets[sleeve.name][row:end] != sleeve.last_target
            n = len(changed)
            if changed.any():
                n = int(np.argmax(changed))
            end = row + n
            if n:
                n = sleeve.exchange.quiet_bars(  # type: ignore[attr-defined]
                    sleeve.symbol,
                    columns.open_us[row:end],
                    columns.close_us[row:end],
                    columns.high[row:end],
                    columns.low[row:end],
                )
                end = row + n
        if n <= 0 or self.halts.kill_switch_engaged():  # type: ignore[union-attr]
            return 0
        return n

    async def _skip_quiet(self, run: range) -> None:
        """Process a run of quiet bars (:meth:`_quiet_ahead`) as :meth:`on_bar` would each.

        The venues append the bars, the clock and marks move to the last one, and the equity
        points due (every ``equity_every`` bars) are journaled at each bar's close, marked
        at its close (:meth:`Book.snapshot_quiet`).
        """
        book = self.book
        columns = self._columns
        assert book is not None and columns is not None
        symbol = self.sleeves[0].symbol  # every sleeve's (_quiet_columns)
        start, end, last = run.start, run.stop, run.stop - 1
        close_time = utc_from_epoch_us(columns.close_us[last])
        self.clock.advance(close_time)
        ohlcv = np.column_stack([c[start:end] for c in columns[2:]])
        with self.journal.batch():
            for sleeve in self.sleeves:
                sleeve.exchange.skip_quiet_bars(  # type: ignore[attr-defined]
                    symbol,
                    columns.open_us[start:end],
                    ohlcv,
                    utc_from_epoch_us(columns.open_us[last]),
                )
            bars, self.bars = self.bars, self.bars + len(run)
            book.mark(symbol, float(columns.close[last]))
            # bar number bars + 1 + j of row start + j is due when it is a multiple of every
            first = start + (-(bars + 1)) % self.equity_every
            if first < end:
                due = slice(first, end, self.equity_every)
                book.snapshot_quiet(columns.close_us[due].tolist(), columns.close[due].tolist())
        self._last_data[symbol] = close_time
        self.fast_forwarded += len(run)

    def request_stop(self) -> None:
        """Finish the current bar, then stop (SIGINT/SIGTERM handler)."""
        self.stop_requested = True

    # -- the bar ---------------------------------------------------------------------------------

    async def on_bar(self, bar: BarEvent) -> None:
        """One bar, journaled as one batch.

        Its writes commit together at the end of the bar (or with later bars', see
        ``commit_seconds``), except that each order commits (with what came before it) before
        it is sent.

        Parameters
        ----------
        bar : BarEvent
            The bar that just closed.
        """
        with self.journal.batch():
            await self._on_bar(bar)

    async def _on_bar(self, bar: BarEvent) -> None:
        step, book, halts, progress = self.step, self.book, self.halts, self.progress
        assert step is not None and book is not None and halts is not None
        close_time = bar.close_time
        self.clock.advance(close_time)
        now = close_time if isinstance(self.clock, ReplayClock) else self.clock.now()
        self.bars += 1
        book.mark(bar.symbol, bar.close)
        caught_up = progress.caught_up(close_time)
        sleeves = self._by_symbol.get(bar.symbol, ())
        for sleeve in sleeves:
            await step.observe(sleeve, bar, now)
        if caught_up:
            # The venue has re-lived everything the journal holds (including this bar's fills,
            # which may have been journaled just before the crash): back to normal operation.
            progress.checkpoint = None
            await self.reconcile()
        # only the catch-up above ends a replay: the rest of the bar sees one answer
        recovering = progress.replaying
        if not recovering:
            if (self.reconcile_every and self.bars % self.reconcile_every == 0) or halts.reason:
                await self.reconcile()
            if not self.killed and halts.kill_switch_engaged():
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
                await step.retarget(sleeve, bar, point, now)
        if self.bars % self.equity_every == 0 and progress.journals_snapshot(now):
            await book.snapshot(now)
        self._last_data[bar.symbol] = close_time
        if self.monitor is not None and not recovering:
            await self.monitor.on_bar(self._monitor_state(now))

    async def reconcile(self, *, resend_unsent: bool = False) -> ReconcileReport:
        """Compare venue and journal; a problem halts new risk (fail closed).

        A clean report clears the halt.

        Parameters
        ----------
        resend_unsent : bool, default False
            Send an order the venue provably never received again, with the same client id,
            instead of closing it as cancelled (``start`` sets it when resuming on a venue).

        Returns
        -------
        ReconcileReport
            The report, also kept as ``last_reconcile``.
        """
        assert self.orders is not None and self.halts is not None
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
            self.halts.clear()
        else:
            self.halts.halt("; ".join(report.problems)[:500])
        return report

    async def flatten(self, reason: str) -> None:
        """Cancel every order and close every position of every sleeve (the kill switch).

        Parameters
        ----------
        reason : str
            Why, as journaled with the flatten.
        """
        assert self.exits is not None
        self.killed = True
        await self.exits.flatten(self.sleeves, reason, self.clock.now())

    def _monitor_state(self, now: datetime) -> EngineState:
        assert self.orders is not None and self.book is not None and self.halts is not None
        open_orders: dict[str, int] = {s.venue: 0 for s in self.sleeves}
        venue_of = {s.name: s.venue for s in self.sleeves}
        for state in self.orders.open_orders():
            venue = venue_of.get(state.sleeve, "")
            open_orders[venue] = open_orders.get(venue, 0) + 1
        problems = self.last_reconcile.problems if self.last_reconcile is not None else ()
        kill_engaged = self.halts.kill_engaged
        return EngineState(
            timestamp=now,
            equity=max(float(self.book.equity), 1e-9),
            peak_equity=max(float(self.book.peak), 1e-9),
            day_start_equity=max(float(self.book.day_start), 1e-9),
            gross_exposure=float(self.book.gross),
            net_exposure=float(self.book.net),
            open_orders=open_orders,
            kill_switch_active=kill_engaged or self.killed,
            kill_switch_reason="kill switch engaged" if kill_engaged else None,
            reconciliation_problems=tuple(problems),
            last_data_at=dict(self._last_data),
        )


def _attach_audit(journal: Journal, run_id: str, sleeves: Sequence[Sleeve]) -> None:
    """Give every sleeve's exchange client a sink into the journal's audit chain.

    Once per client; a client re-used by a later run is re-pointed at that run.
    """
    for sleeve in sleeves:
        audit = getattr(sleeve.exchange, "audit", None)
        if audit is None:
            continue
        sink = next(
            (s for s in audit.sinks if isinstance(s, JournalAuditSink) and s.journal is journal),
            None,
        )
        if sink is None:
            audit.sinks.append(JournalAuditSink(journal, run_id))
        else:
            sink.run_id = run_id
