"""Monitoring fed by the trading loop: Prometheus metrics every bar, alert rules every N bars.

:class:`RunMonitor` implements the engine's observer protocol
(:class:`~crypto_strategy_lab.engine.monitor.EngineMonitor`); the CLI builds it from the
deployment YAML's ``monitoring:`` section and hands it to the engine, which never imports this
package. The engine hands its own state (equity, peak, day-start equity, exposures, open
orders, halts, rejects, venue errors, the last bar time per symbol) to the monitor; nothing is
re-read from the journal, so a bar costs a few gauge updates and, every ``every_bars`` bars,
one pass of :func:`~crypto_strategy_lab.monitoring.alerts.evaluate_rules` (microseconds).
Alerts go through one :class:`~crypto_strategy_lab.monitoring.sinks.AlertRouter`
(de-duplication on alert time, so a fast replay behaves like live) to the log, the journal's
``alerts`` table and, when configured, a webhook; webhook I/O runs in a worker thread
(:meth:`AlertRouter.adispatch`) and never raises into the loop.

Rules are :func:`~crypto_strategy_lab.monitoring.alerts.default_rules` aligned with the run's
:class:`~crypto_strategy_lab.risk.RiskLimits` (daily loss limit; drawdown thresholds at half,
one and two times ``drawdown_derisk_start``). Configuration:
:class:`~crypto_strategy_lab.engine.deployment.MonitoringConfig`, off by default.
"""

from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from crypto_strategy_lab.engine.deployment import MonitoringConfig
from crypto_strategy_lab.engine.monitor import EngineState
from crypto_strategy_lab.monitoring.alerts import (
    Alert,
    AlertRule,
    MonitorSnapshot,
    default_rules,
    evaluate_rules,
)
from crypto_strategy_lab.monitoring.metrics import (
    MetricsServer,
    TradingMetrics,
    start_metrics_server,
)
from crypto_strategy_lab.monitoring.sinks import AlertRouter, LogSink, WebhookSink, journal_sink

if TYPE_CHECKING:
    from crypto_strategy_lab.journal import Journal
    from crypto_strategy_lab.risk import RiskLimits

# how far back rejects and venue errors are kept for the windowed rules (their windows are
# 15 and 5 minutes by default)
EVENT_MEMORY = timedelta(hours=1)


class RunMonitor:
    """Metrics and alert rules for one engine run.

    An :class:`~crypto_strategy_lab.engine.monitor.EngineMonitor`.

    Parameters
    ----------
    config : MonitoringConfig
        The ``monitoring:`` settings.
    limits : RiskLimits
        The run's risk limits (they set the alert thresholds).
    journal : Journal, optional
        Alerts are journaled to it (with the run id given to :meth:`bind`).
    rules : list of AlertRule, optional
        Override the rule set (default: aligned with ``limits``).
    """

    def __init__(
        self,
        config: MonitoringConfig,
        limits: RiskLimits,
        journal: Journal | None = None,
        *,
        rules: list[AlertRule] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.rules = rules or default_rules(
            daily_loss_limit=limits.daily_loss_limit,
            derisk_drawdown=limits.drawdown_derisk_start,
            stale_after=timedelta(seconds=config.stale_after_seconds),
        )
        self.metrics = TradingMetrics()
        self.webhook: WebhookSink | None = None
        if config.webhook_url:
            self.webhook = WebhookSink(
                config.webhook_url, config.webhook_format, chat_id=config.telegram_chat_id
            )
        self.router: AlertRouter | None = None
        self.server: MetricsServer | None = None
        self.sent: list[Alert] = []
        self._rejects: deque[datetime] = deque()
        self._venue_errors: dict[str, deque[datetime]] = defaultdict(deque)
        self._halted: set[str] = set()
        self._bars = 0

    def bind(self, run_id: str) -> None:
        """Start the run's sinks (journal alerts carry ``run_id``) and the metrics server.

        Routes alerts to the log, the journal (when one was given) and the webhook (when
        configured); starts the Prometheus server once, when ``metrics_port`` is set.
        Until it is called, :meth:`on_bar` updates metrics but evaluates no rules.

        Parameters
        ----------
        run_id : str
            The run the journaled alerts belong to.
        """
        sinks: list = [LogSink()]
        if self.journal is not None:
            sinks.append(journal_sink(self.journal, run_id))
        if self.webhook is not None:
            sinks.append(self.webhook)
        self.router = AlertRouter(sinks)
        if self.config.metrics_port is not None and self.server is None:
            self.server = start_metrics_server(self.metrics, port=self.config.metrics_port)

    def close(self) -> None:
        """Stop the metrics server (alerts already sent stay sent)."""
        if self.server is not None:
            self.server.close()
            self.server = None

    # -- events from the loop ----------------------------------------------------------------

    def order_sent(self, venue: str, seconds: float) -> None:
        """Record an order's submission-to-acknowledgement latency.

        Parameters
        ----------
        venue : str
            The venue the order went to (the metric's label).
        seconds : float
            Latency from submission to the venue's acknowledgement, in seconds.
        """
        self.metrics.observe_order_latency(venue, seconds)

    def order_rejected(self, ts: datetime) -> None:
        """Remember a reject at ``ts`` for the order-reject rule.

        Parameters
        ----------
        ts : datetime
            When the order was rejected (timezone-aware); forgotten after ``EVENT_MEMORY``.
        """
        self._rejects.append(ts)

    def venue_error(self, venue: str, error: BaseException | str, ts: datetime) -> None:
        """Count a venue error and remember it at ``ts`` for the venue-error rule.

        Parameters
        ----------
        venue : str
            The venue that failed.
        error : BaseException or str
            The error; its class name (or the string itself) labels the metric.
        ts : datetime
            When it happened (timezone-aware); forgotten after ``EVENT_MEMORY``.
        """
        self.metrics.record_venue_error(venue, error)
        self._venue_errors[venue].append(ts)

    def halt(self, scope: str, reason: str) -> None:
        """Record a halt of ``scope`` (counted once until :meth:`clear_halt`).

        Parameters
        ----------
        scope : str
            What halts (``"global"`` is the kill switch).
        reason : str
            Why, e.g. a risk rule's name (a label of the halt counter).
        """
        if scope not in self._halted:
            self.metrics.record_halt(scope, reason)
            self._halted.add(scope)

    def clear_halt(self, scope: str) -> None:
        """Record that the halt of ``scope`` was lifted (no-op if it was not halted).

        Parameters
        ----------
        scope : str
            The scope given to :meth:`halt`.
        """
        if scope in self._halted:
            self.metrics.clear_halt(scope)
            self._halted.discard(scope)

    # -- per bar -------------------------------------------------------------------------------

    async def on_bar(self, state: EngineState) -> list[Alert]:
        """Update the metrics; every ``every_bars`` bars run the rules and route the alerts.

        Parameters
        ----------
        state : EngineState
            The engine's state after the bar (equity, exposures, open orders, halts, data
            times, reconciliation problems).

        Returns
        -------
        list of Alert
            The alerts the router sent on this bar (after de-duplication and rate limiting);
            empty on bars between evaluations and before :meth:`bind`.
        """
        self.metrics.set_equity(state.equity, state.gross_exposure, state.net_exposure)
        for venue, count in state.open_orders.items():
            self.metrics.set_open_orders(venue, count)
        self._bars += 1
        if self.router is None or self._bars % self.config.every_bars:
            return []
        self._forget(state.timestamp)
        snapshot = MonitorSnapshot(
            timestamp=state.timestamp,
            equity=state.equity,
            peak_equity=max(state.peak_equity, state.equity),
            day_start_equity=state.day_start_equity,
            kill_switch_active=state.kill_switch_active,
            kill_switch_reason=state.kill_switch_reason,
            reconciliation_mismatches=state.reconciliation_problems,
            last_data_at=state.last_data_at,
            reject_times=tuple(self._rejects),
            venue_error_times={v: tuple(t) for v, t in self._venue_errors.items()},
        )
        sent = await self.router.adispatch(evaluate_rules(self.rules, snapshot))
        self.sent.extend(sent)
        return sent

    def _forget(self, now: datetime) -> None:
        horizon = now - EVENT_MEMORY
        for times in (self._rejects, *self._venue_errors.values()):
            while times and times[0] < horizon:
                times.popleft()
