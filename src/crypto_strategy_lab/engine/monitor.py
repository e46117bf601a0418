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
    """What the loop knows at the end of a bar (quote-currency amounts as floats).

    Attributes
    ----------
    timestamp : datetime.datetime
        The close time of the bar (UTC).
    equity : float
        The book's equity (at least 1e-9, so ratios of it stay finite).
    peak_equity : float
        The highest equity of the run so far (at least 1e-9).
    day_start_equity : float
        The equity at the first mark of the day (at least 1e-9), which the daily-loss rule
        measures from.
    gross_exposure : float
        The sum of the positions' notional values, in the quote currency.
    net_exposure : float
        The signed sum of the positions' values (quantity times price).
    open_orders : dict of str to int
        Open orders per venue (every venue of the run present, 0 included).
    kill_switch_active : bool
        Whether the kill switch is engaged (as last read) or the engine was killed.
    kill_switch_reason : str or None
        ``"kill switch engaged"`` when the last read found it engaged, else ``None``.
    reconciliation_problems : tuple of str
        The last reconciliation's problems (empty: clean).
    last_data_at : dict of str to datetime.datetime
        The close time of the last bar received, per symbol.
    """

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
        """The run started.

        Parameters
        ----------
        run_id : str
            The journal's id of the run (a resumed run keeps its id).
        """

    def close(self) -> None:
        """The run ended."""

    def order_sent(self, venue: str, seconds: float) -> None:
        """An order reached a venue.

        Parameters
        ----------
        venue : str
            The venue's name.
        seconds : float
            The send's round trip, in wall-clock seconds.
        """

    def order_rejected(self, ts: datetime) -> None:
        """The risk engine or the venue rejected an order.

        Parameters
        ----------
        ts : datetime.datetime
            When (the engine clock's time, UTC).
        """

    def venue_error(self, venue: str, error: BaseException | str, ts: datetime) -> None:
        """A call to a venue failed.

        Parameters
        ----------
        venue : str
            The venue's name.
        error : BaseException or str
            The exception, or its kind by name (``"OutcomeUnknown"`` for an order whose
            outcome was lost).
        ts : datetime.datetime
            When (the engine clock's time, UTC).
        """

    def halt(self, scope: str, reason: str) -> None:
        """New risk is halted.

        Parameters
        ----------
        scope : str
            ``"global"`` (the kill switch) or ``"engine"`` (the engine's fail-closed halt).
        reason : str
            The halt's rule: ``"kill_switch"`` or ``"engine_halt"``.
        """

    def clear_halt(self, scope: str) -> None:
        """A halt was lifted.

        Parameters
        ----------
        scope : str
            The scope whose halt was lifted (``"engine"``, after a clean reconciliation).
        """

    async def on_bar(self, state: EngineState) -> object:
        """The loop's state at the end of a bar.

        Parameters
        ----------
        state : EngineState
            Equity, exposures, open orders, halts and data times at the bar's end.

        Returns
        -------
        object
            Anything; the loop awaits the call and ignores its value.
        """
