"""Halts as the loop sees them: the fail-closed halt of new risk and the kill switch.

There is one halt state and it lives in the :class:`~crypto_strategy_lab.risk.RiskEngine`,
which applies it to every order: the kill switch and the daily-loss halt (journaled, set by
``csl kill`` or the rules) and the engine's own fail-closed halt (rule ``engine_halt``) for a
reconciliation problem, a failed venue query or an order whose outcome is unknown. Reducing
orders still pass; the engine's halt clears when a later reconciliation is clean. This module
only sets, clears and reads that state for the loop, and tells the monitor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING

from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.engine.clock import Clock
from crypto_strategy_lab.engine.monitor import EngineMonitor
from crypto_strategy_lab.risk import RiskEngine

if TYPE_CHECKING:
    from crypto_strategy_lab.engine.sleeve import Sleeve

log = logging.getLogger(__name__)


class Halts:
    """The loop's handle on the risk engine's halt state.

    Parameters
    ----------
    risk:
        The run's risk engine, which holds the state.
    clock:
        The engine's clock (venue errors are reported at its time).
    monitor:
        Optional observer told of every halt, clear and venue error.
    kill_check_seconds:
        Read the kill switch from the journal at most this often (wall-clock seconds; 0:
        every call), see :class:`~crypto_strategy_lab.engine.loop.TradingEngine`.
    """

    def __init__(
        self,
        risk: RiskEngine,
        clock: Clock,
        monitor: EngineMonitor | None,
        kill_check_seconds: float,
    ) -> None:
        self.risk = risk
        self.clock = clock
        self.monitor = monitor
        self.kill_check_seconds = kill_check_seconds
        self.kill_engaged = False  # what the last kill-switch read found
        self._kill_checked_at = float("-inf")

    @property
    def reason(self) -> str | None:
        """Why new risk is halted in this engine (``None``: not halted)."""
        return self.risk.new_risk_halt

    def halt(self, reason: str) -> None:
        """Halt new risk (fail closed) until a clean reconciliation.

        Logged once per halt (a repeated reason while halted is not logged again); the risk
        engine's reason becomes `reason`, and the monitor is told of an ``engine`` halt.

        Parameters
        ----------
        reason : str
            Why, shown on every verdict the halt causes.
        """
        if self.reason is None:
            log.error("new risk halted: %s", reason)
        self.risk.halt_new_risk(reason)
        if self.monitor is not None:
            self.monitor.halt("engine", "engine_halt")

    def clear(self) -> None:
        """A clean reconciliation lifts the engine's halt."""
        self.risk.clear_new_risk_halt()
        if self.monitor is not None:
            self.monitor.clear_halt("engine")

    def venue_error(self, sleeve: Sleeve, exc: ExchangeError, what: str) -> None:
        """A failed venue call: halt new risk (fail closed) and count it for the alerts.

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve whose venue failed (the monitor counts the error against its venue).
        exc : ExchangeError
            The venue's error.
        what : str
            The call that failed, e.g. ``"position query"``; the halt reason is
            ``"<what> failed: <exc>"``.
        """
        if self.monitor is not None:
            self.monitor.venue_error(sleeve.venue, exc, self.clock.now())
        self.halt(f"{what} failed: {exc}")

    def outcome_unknown(self, sleeve: Sleeve, client_order_id: str, now: datetime) -> None:
        """An order the venue may or may not have: halt until reconciliation finds out.

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve that sent the order (the monitor counts an ``OutcomeUnknown`` error
            against its venue).
        client_order_id : str
            The order's client id, named in the halt reason.
        now : datetime.datetime
            When the send's outcome was lost (UTC, the engine clock's time).
        """
        if self.monitor is not None:
            self.monitor.venue_error(sleeve.venue, "OutcomeUnknown", now)
        self.halt(f"order {client_order_id} has an unknown outcome")

    def after_send(
        self, sleeve: Sleeve, client_order_id: str, unresolved: Collection[str], now: datetime
    ) -> None:
        """The rule after every order the loop sends (targets, exits, the flatten).

        An order whose outcome the send could not learn (``OrderManager.unresolved``) halts
        new risk (:meth:`outcome_unknown`): the venue may hold it, and it may be a protective
        stop or a flatten as well as an entry.

        Parameters
        ----------
        sleeve : Sleeve
            The sleeve that sent the order.
        client_order_id : str
            The order's client id.
        unresolved : collection of str
            The client ids whose outcome is unknown after the send.
        now : datetime.datetime
            The send's time (UTC, the engine clock's time).
        """
        if client_order_id in unresolved:
            self.outcome_unknown(sleeve, client_order_id, now)

    def kill_switch_engaged(self) -> bool:
        """Whether the journal's kill switch is engaged.

        It is read at most every ``kill_check_seconds`` (``False`` between reads): ``csl kill``
        is written by another process, and once a second bounds a fast replay's reaction time
        without a query on every bar.

        Returns
        -------
        bool
            ``True`` if this call read the journal and found the switch engaged (the monitor
            is then told of a ``global`` halt); ``False`` if it is not engaged or if this call
            did not read it. The last read's answer stays in ``kill_engaged``.
        """
        now = time.monotonic()
        if now - self._kill_checked_at < self.kill_check_seconds:
            return False
        self._kill_checked_at = now
        self.kill_engaged = self.risk.kill_switch_engaged
        if self.kill_engaged and self.monitor is not None:
            self.monitor.halt("global", "kill_switch")
        return self.kill_engaged
