"""Prometheus metrics of the trading loop and their HTTP exporter.

:class:`TradingMetrics` owns its own :class:`~prometheus_client.CollectorRegistry` (never the
process-global one), so two engines or two tests in one process do not collide. The engine
calls the ``set_*``/``observe_*``/``record_*`` methods; :func:`start_metrics_server` serves
``/metrics`` on 127.0.0.1 by default (expose it further only behind your own proxy).

Exposed series (namespace ``csl``):

==============================  =========  =================  ================================
name                            type       labels             meaning
==============================  =========  =================  ================================
``csl_equity``                  gauge      —                  account equity (quote currency)
``csl_exposure_gross``          gauge      —                  sum of ``|notional|``
``csl_exposure_net``            gauge      —                  sum of signed notional
``csl_exposure_heat``           gauge      —                  gross exposure / equity
``csl_open_orders``             gauge      venue              orders not in a terminal state
``csl_order_latency_seconds``   histogram  venue              submit → venue acknowledgement
``csl_venue_errors_total``      counter    venue, error       errors raised by a venue
``csl_halts_total``             counter    scope, reason      halts engaged
``csl_halted``                  gauge      scope              1 while a halt scope is engaged
==============================  =========  =================  ================================

Latency buckets run from 5 ms to 10 s: a co-located REST round trip is ~5–50 ms, a retried
order under a 502 storm can take seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from crypto_strategy_lab.core.errors import ConfigError

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class TradingMetrics:
    """The trading loop's metrics in a private registry (see the module table).

    Parameters
    ----------
    registry : prometheus_client.CollectorRegistry, optional
        Where to register the series; a new private registry by default.
    namespace : str, default ``csl``
        Prefix of every series name.
    """

    def __init__(self, registry: CollectorRegistry | None = None, namespace: str = "csl") -> None:
        self.registry = registry or CollectorRegistry()
        ns = {"namespace": namespace, "registry": self.registry}
        self.equity = Gauge("equity", "Account equity in the quote currency.", **ns)
        self.exposure_gross = Gauge("exposure_gross", "Gross exposure: sum of |notional|.", **ns)
        self.exposure_net = Gauge("exposure_net", "Net exposure: sum of signed notional.", **ns)
        self.exposure_heat = Gauge("exposure_heat", "Gross exposure divided by equity.", **ns)
        self.open_orders = Gauge("open_orders", "Orders not in a terminal state.", ["venue"], **ns)
        self.order_latency = Histogram(
            "order_latency_seconds",
            "Time from order submission to the venue's acknowledgement.",
            ["venue"],
            buckets=LATENCY_BUCKETS,
            **ns,
        )
        self.venue_errors = Counter(
            "venue_errors", "Errors raised by a venue, by error class.", ["venue", "error"], **ns
        )
        self.halts = Counter(
            "halts", "Halts engaged, by scope and reason.", ["scope", "reason"], **ns
        )
        self.halted = Gauge("halted", "1 while the halt scope is engaged, else 0.", ["scope"], **ns)

    def set_equity(self, equity: float, gross_exposure: float, net_exposure: float) -> None:
        """Record equity and exposures; heat is ``gross / equity`` (0 when equity <= 0).

        Parameters
        ----------
        equity : float
            Account equity in the quote currency.
        gross_exposure : float
            Sum of ``|notional|`` over positions.
        net_exposure : float
            Sum of signed notional.
        """
        self.equity.set(equity)
        self.exposure_gross.set(gross_exposure)
        self.exposure_net.set(net_exposure)
        self.exposure_heat.set(gross_exposure / equity if equity > 0 else 0.0)

    def set_open_orders(self, venue: str, count: int) -> None:
        """Set ``venue``'s count of orders not in a terminal state.

        Parameters
        ----------
        venue : str
            The venue label.
        count : int
            Open orders, >= 0.

        Raises
        ------
        ConfigError
            If ``count`` is negative.
        """
        if count < 0:
            raise ConfigError(f"open order count must be >= 0, got {count}")
        self.open_orders.labels(venue=venue).set(count)

    def observe_order_latency(self, venue: str, seconds: float) -> None:
        """Add one submission-to-acknowledgement time to ``venue``'s latency histogram.

        Parameters
        ----------
        venue : str
            The venue label.
        seconds : float
            The latency.
        """
        self.order_latency.labels(venue=venue).observe(seconds)

    @contextmanager
    def time_order(self, venue: str) -> Iterator[None]:
        """Time the enclosed submission into ``csl_order_latency_seconds`` (also on error).

        Parameters
        ----------
        venue : str
            The venue label.

        Yields
        ------
        None
            The timed block runs here; ``time.perf_counter`` measures it.
        """
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe_order_latency(venue, time.perf_counter() - start)

    def record_venue_error(self, venue: str, error: BaseException | str) -> None:
        """Count one venue error, labelled by its class name (``ExchangeUnavailable``, ...).

        Parameters
        ----------
        venue : str
            The venue label.
        error : BaseException or str
            The error, or its label as a string.
        """
        name = error if isinstance(error, str) else type(error).__name__
        self.venue_errors.labels(venue=venue, error=name).inc()

    def record_halt(self, scope: str, reason: str) -> None:
        """Count an engaged halt and set its scope's ``csl_halted`` gauge to 1.

        Parameters
        ----------
        scope : str
            What halts: ``global`` is the kill switch.
        reason : str
            Why, e.g. a risk rule's name.
        """
        self.halts.labels(scope=scope, reason=reason).inc()
        self.halted.labels(scope=scope).set(1)

    def clear_halt(self, scope: str) -> None:
        """Set ``scope``'s ``csl_halted`` gauge back to 0.

        Parameters
        ----------
        scope : str
            The halt scope that was lifted.
        """
        self.halted.labels(scope=scope).set(0)


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint; ``close()`` stops it."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The port the server listens on (the one chosen when started with ``port=0``)."""
        return int(self.server.server_port)

    def close(self) -> None:
        """Stop serving, close the socket, and wait up to 5 s for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_metrics_server(
    metrics: TradingMetrics, port: int = 9108, addr: str = "127.0.0.1"
) -> MetricsServer:
    """Serve ``metrics`` at ``http://addr:port/metrics`` in a daemon thread.

    Parameters
    ----------
    metrics : TradingMetrics
        Whose registry to serve.
    port : int, default 9108
        TCP port; ``0`` takes any free port (read it back from ``MetricsServer.port``).
    addr : str, default ``127.0.0.1``
        Interface to bind; expose it further only behind your own proxy.

    Returns
    -------
    MetricsServer
        The running server; ``close()`` stops it.

    Raises
    ------
    ConfigError
        If ``port`` is outside 0..65535.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(f"metrics port must be in 0..65535, got {port}")
    server, thread = start_http_server(port, addr=addr, registry=metrics.registry)
    return MetricsServer(server=server, thread=thread)
