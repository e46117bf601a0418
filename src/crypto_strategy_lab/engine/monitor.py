"""What the trading loop tells an observer.

That is the :class:`EngineMonitor` protocol and the :class:`EngineState` it reports at the end
of every bar.

The engine defines the protocol and calls it; ``monitoring`` implements it
(:class:`~crypto_strategy_lab.monitoring.run_monitor.RunMonitor`: Prometheus metrics every bar,
alert rules every N bars) and the CLI wires the two. So the layer order holds (monitoring sits
above the engine and reads it; the engine never imports monitoring), and a run without
monitoring, or with another observer, changes nothing in the loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass
class EngineState:
    """What the loop knows at the end of a bar (quote-currency amounts as floats)."""

    timestamp: datetime
    equity: float
    peak_equity: float
    day_start_equity: float
    gross_exposure: float
    net_exposure: float
    open_orders: dict[str, int] = field(default_factory=dict)
    kill_switch_active: bool = False
    kill_switch_reason: str | None = None
    reconciliation_problems: tuple[str, ...] = ()
    last_data_at: dict[str, datetime] = field(default_factory=dict)


class EngineMonitor(Protocol):
    """An observer of one engine run; every call comes from the loop and must not raise.

    The loop calls :meth:`bind` when the run starts, the event methods as they happen,
    :meth:`on_bar` after every bar it processes (not while it recovers from a restart) and
    :meth:`close` when the run ends.
    """

    def bind(self, run_id: str) -> None:
        """The run started with id ``run_id``."""

    def close(self) -> None:
        """The run ended."""

    def order_sent(self, venue: str, seconds: float) -> None:
        """An order reached ``venue``; its round trip took ``seconds``."""

    def order_rejected(self, ts: datetime) -> None:
        """The risk engine or the venue rejected an order at ``ts``."""

    def venue_error(self, venue: str, error: BaseException | str, ts: datetime) -> None:
        """A call to ``venue`` failed at ``ts`` (an exception, or its kind by name)."""

    def halt(self, scope: str, reason: str) -> None:
        """New risk is halted in ``scope`` (``global``, ``engine``) for ``reason``."""

    def clear_halt(self, scope: str) -> None:
        """The halt of ``scope`` was lifted."""

    async def on_bar(self, state: EngineState) -> object:
        """The loop's state at the end of a bar; the return value is not used."""
