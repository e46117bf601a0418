"""Alert rules: small, named checks over one snapshot of the trading state.

Each rule looks at a :class:`MonitorSnapshot` (what the trading loop knows at one instant) and
returns zero or more :class:`Alert` objects. Rules never send anything: routing, de-duplication
and rate limiting live in :mod:`crypto_strategy_lab.monitoring.sinks`.

Conventions (decided here, stated once):

- Every rule fires when its measure *reaches* its threshold (``>=``, with an absolute tolerance
  of 1e-12 so that a decimal threshold such as 10 % is not missed by binary rounding), so a
  test at the exact threshold fires and one a hair below does not.
- Drawdown is ``(peak_equity - equity) / peak_equity``; the daily loss is
  ``(day_start_equity - equity) / day_start_equity`` with the day starting at 00:00 UTC, the
  same definitions the risk engine uses for its 10 % de-risking and 5 % daily halt.
- Event counts (order rejects, venue errors) are taken over the closed window
  ``[now - window, now]``.
- ``Alert.key`` names the *condition*, not the occurrence: the same condition evaluated again on
  the next tick yields the same key, which is what the router de-duplicates on. Daily-loss keys
  carry the UTC date, so the condition re-arms each day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from crypto_strategy_lab.core.errors import ConfigError


class Severity(StrEnum):
    """How urgent an alert is; ordered ``INFO < WARNING < CRITICAL``."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0, 1, 2 for info, warning, critical: the order escalation compares by."""
        return {"info": 0, "warning": 1, "critical": 2}[self.value]


@dataclass(frozen=True)
class Alert:
    """One alert: which rule, how bad, what happened, and the identity of the condition.

    Attributes
    ----------
    rule : str
        Name of the rule that raised it.
    severity : Severity
        How urgent it is.
    message : str
        What happened, for a human.
    key : str
        The condition's identity (the module's conventions), what the router de-duplicates on.
    timestamp : datetime
        The snapshot's instant.
    details : Mapping[str, float | int | str]
        The measured values (e.g. ``drawdown``, ``threshold``).
    """

    rule: str
    severity: Severity
    message: str
    key: str
    timestamp: datetime
    details: Mapping[str, float | int | str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """``[SEVERITY] rule``, the first line of every sink's message."""
        return f"[{self.severity.value.upper()}] {self.rule}"


@dataclass(frozen=True)
class MonitorSnapshot:
    """What the rules see: the trading state at ``timestamp`` (timezone-aware, UTC).

    Parameters
    ----------
    timestamp : datetime
        The evaluation instant.
    equity, peak_equity, day_start_equity : float
        Current equity, its running maximum, and equity at 00:00 UTC today (quote currency);
        each must be > 0.
    kill_switch_active : bool, default False
        The risk engine's emergency stop is engaged.
    kill_switch_reason : str, optional
        Why it was engaged.
    reconciliation_mismatches : Sequence[str], default ()
        Human-readable differences between the venue and the journal from the latest
        reconciliation (empty when they agree).
    last_data_at : Mapping[str, datetime], optional
        Time of the latest bar per symbol.
    reject_times : Sequence[datetime], default ()
        Times of recent order rejects (venue or risk engine).
    venue_error_times : Mapping[str, Sequence[datetime]], optional
        Times of recent venue errors, per venue.

    Raises
    ------
    ConfigError
        If ``timestamp`` is naive or an equity is not positive.
    """

    timestamp: datetime
    equity: float
    peak_equity: float
    day_start_equity: float
    kill_switch_active: bool = False
    kill_switch_reason: str | None = None
    reconciliation_mismatches: Sequence[str] = ()
    last_data_at: Mapping[str, datetime] = field(default_factory=dict)
    reject_times: Sequence[datetime] = ()
    venue_error_times: Mapping[str, Sequence[datetime]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse a naive timestamp and a non-positive equity."""
        if self.timestamp.tzinfo is None:
            raise ConfigError("MonitorSnapshot.timestamp must be timezone-aware (UTC)")
        for name in ("equity", "peak_equity", "day_start_equity"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"MonitorSnapshot.{name} must be > 0, got {getattr(self, name)}")


class AlertRule(Protocol):
    """A named check: ``evaluate(snapshot)`` returns the alerts it raises (maybe none)."""

    name: str

    def evaluate(self, snapshot: MonitorSnapshot) -> list[Alert]:
        """The alerts this rule raises on ``snapshot`` (an empty list when none).

        Parameters
        ----------
        snapshot : MonitorSnapshot
            The trading state at one instant.

        Returns
        -------
        list of Alert
            The alerts, each with the condition's ``key``; empty when the condition does
            not hold.
        """
        ...


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{name} must be > 0, got {value}")


_TOLERANCE = 1e-12


def _reaches(value: float, threshold: float) -> bool:
    return value >= threshold - _TOLERANCE


def _count_in_window(times: Sequence[datetime], now: datetime, window: timedelta) -> int:
    start = now - window
    return sum(1 for t in times if start <= t <= now)


@dataclass(frozen=True)
class DrawdownRule:
    """Drawdown from peak equity at or beyond the highest breached threshold.

    ``thresholds`` are fractions (0.05 = 5 %). Only the deepest breached threshold fires, so a
    20 % drawdown is one alert, not three. Thresholds ``>= critical_from`` (default 10 %, the
    brief's de-risking level) are critical, shallower ones warnings.
    """

    thresholds: tuple[float, ...] = (0.05, 0.10, 0.20)
    critical_from: float = 0.10
    name: str = "drawdown"

    def __post_init__(self) -> None:
        """Refuse an empty threshold set and thresholds outside (0, 1)."""
        if not self.thresholds:
            raise ConfigError("DrawdownRule needs at least one threshold")
        for t in self.thresholds:
            if not 0 < t < 1:
                raise ConfigError(f"drawdown threshold must be in (0, 1), got {t}")

    def evaluate(self, snapshot: MonitorSnapshot) -> list[Alert]:
        """One alert for the deepest threshold the drawdown reaches, or none.

        Parameters
        ----------
        snapshot : MonitorSnapshot
            The trading state at one instant.

        Returns
        -------
        list of Alert
            At most one alert, keyed ``drawdown:<threshold>``: critical when that
            threshold is at least ``critical_from``, else a warning. The drawdown is
            ``(peak_equity - equity) / peak_equity``.
        """
        drawdown = (snapshot.peak_equity - snapshot.equity) / snapshot.peak_equity
        breached = [t for t in sorted(self.thresholds) if _reaches(drawdown, t)]
        if not breached:
            return []
        level = breached[-1]
        severity = Severity.CRITICAL if level >= self.critical_from else Severity.WARNING
        return [
            Alert(
                rule=self.name,
                severity=severity,
                message=(
                    f"Drawdown {drawdown:.2%} from peak {snapshot.peak_equity:,.2f} "
                    f"(threshold {level:.0%}); equity {snapshot.equity:,.2f}"
                ),
                key=f"{self.name}:{level:g}",
                timestamp=snapshot.timestamp,
                details={"drawdown": drawdown, "threshold": level, "equity": snapshot.equity},
            )
        ]


@dataclass(frozen=True)
class DailyLossRule:
    """Today's loss approaching (``warn_ratio * limit``) or hitting the daily loss limit."""

    limit: float = 0.05
    warn_ratio: float = 0.8
    name: str = "daily_loss"

    def __post_init__(self) -> None:
        """Refuse a limit or warn ratio outside (0, 1)."""
        if not 0 < self.limit < 1:
            raise ConfigError(f"daily loss limit must be in (0, 1), got {self.limit}")
        if not 0 < self.warn_ratio < 1:
            raise ConfigError(f"warn_ratio must be in (0, 1), got {self.warn_ratio}")

    def evaluate(self, snapshot: MonitorSnapshot) -> list[Alert]:
        """One alert, ``hit`` (critical) or ``approaching`` (warning), or none.

        Parameters
        ----------
        snapshot : MonitorSnapshot
            The trading state at one instant.

        Returns
        -------
        list of Alert
            At most one alert, keyed ``daily_loss:<stage>:<UTC date>``: critical once
            ``(day_start_equity - equity) / day_start_equity`` reaches ``limit``, a warning
            once it reaches ``warn_ratio * limit``.
        """
        loss = (snapshot.day_start_equity - snapshot.equity) / snapshot.day_start_equity
        day = snapshot.timestamp.astimezone(UTC).date().isoformat()
        if _reaches(loss, self.limit):
            stage, severity = "hit", Severity.CRITICAL
            text = f"Daily loss limit hit: {loss:.2%} >= {self.limit:.2%}; new risk halted today"
        elif _reaches(loss, self.warn_ratio * self.limit):
            stage, severity = "approaching", Severity.WARNING
            text = f"Daily loss {loss:.2%} is approaching the {self.limit:.2%} limit"
        else:
            return []
        return [
            Alert(
                rule=self.name,
                severity=severity,
                message=text,
                key=f"{self.name}:{stage}:{day}",
                timestamp=snapshot.timestamp,
                details={"loss": loss, "limit": self.limit, "stage": stage},
            )
        ]


@dataclass(frozen=True)
class ReconciliationMismatchRule:
    """Any difference between the venue and the journal is critical (trading halts on it)."""

    name: str = "reconciliation_mismatch"

    def evaluate(self, snapshot: MonitorSnapshot) -> list[Alert]:
        """One critical alert listing the first five mismatches, or none.

        Parameters
        ----------
        snapshot : MonitorSnapshot
            The trading state at one instant.

        Returns
        -------
        list of Alert
            At most one critical alert, keyed by the rule's name, with the mismatch count
            in ``details``.
        """
        mismatches = list(snapshot.reconciliation_mismatches)
        if not mismatches:
            return []
        shown = "; ".join(mismatches[:5]) + (" …" if len(mismatches) > 5 else "")
        return [
            Alert(
                rule=self.name,
                severity=Severity.CRITICAL,
                message=f"Reconciliation found {len(mismatches)} mismatch(es): {shown}",
                key=self.name,
                timestamp=snapshot.timestamp,
                details={"count": len(mismatches)},
            )
        ]


@dataclass(frozen=True)
class StaleDataRule:
    """A symbol whose latest bar is at least ``max_age`` old (one alert per symbol)."""

    max_age: timedelta = timedelta(hours=2)
    name: str = "stale_data"

    def __post_init__(self) -> None:
        """Refuse a non-positive ``max_age``."""
        _positive("StaleDataRule.max_age", self.max_age.total_seconds())

    def evaluate(self, snapshot: MonitorSnapshot) -> list[Alert]:
        """One warning per stale symbol, in symbol order.

        Parameters
        ----------
        snapshot : MonitorSnapshot
            The trading state at one instant.

        Returns
        -------
        list of Alert
            One warning per symbol whose ``snapshot.timestamp - last_data_at[symbol]`` is at
            least ``max_age``, keyed ``stale_data:<symbol>``; a symbol absent from
            ``last_data_at`` is not checked.
        """
        alerts = []
        for symbol, last in sorted(snapshot.last_data_at.items()):
            age = snapshot.timestamp - last
            if age >= self.max_age:
                alerts.append(
                    Alert(
                        rule=self.name,
                        severity=Severity.WARNING,
                        message=(
                            f"No new data for {symbol} since {last.isoformat()} "
                            f"({age.total_seconds() / 60:.0f} min >= "
                            f"{self.max_age.total_seconds() / 60:.0f} min)"
                        ),
                        key=f"{self.name}:{symbol}",
                        timestamp=snapshot.timestamp,
                        details={"symbol": symbol, "age_seconds": age.total_seconds()},
                    )
                )
        return alerts


@dataclass(frozen=True)
class OrderRejectRule:
    """At least ``max_rejects`` order rejects within ``window``."""

    max_rejects: int = 3
    window: timedelta = timedelta(minutes=15)
    name: str = "order_rejects"

    def __post_init__(self) -> None:
        """Refuse a non-positive count or window."""
        _positive("OrderRejectRule.max_rejects", self.max_rejects)
        _positive("OrderRejectRule.window", self.window.total_seconds())

    def evaluate(self, snapshot: MonitorSnapshot) -> list[Alert]:
        """One warning when the window holds ``max_rejects`` or more rejects, or none.

        Parameters
        ----------
        snapshot : MonitorSnapshot
            The trading state at one instant.

        Returns
        -------
        list of Alert
            At most one warning, keyed by the rule's name; rejects are counted over
            ``[timestamp - window, timestamp]``.
        """
        count = _count_in_window(snapshot.reject_times, snapshot.timestamp, self.window)
        if count < self.max_rejects:
            return []
        minutes = self.window.total_seconds() / 60
        return [
            Alert(
                rule=self.name,
                severity=Severity.WARNING,
                message=f"{count} order rejects in the last {minutes:.0f} min",
                key=self.name,
                timestamp=snapshot.timestamp,
                details={"count": count, "window_seconds": self.window.total_seconds()},
            )
        ]


@dataclass(frozen=True)
class VenueErrorRule:
    """At least ``max_errors`` errors from one venue within ``window`` (one alert per venue)."""

    max_errors: int = 5
    window: timedelta = timedelta(minutes=5)
    name: str = "venue_errors"

    def __post_init__(self) -> None:
        """Refuse a non-positive count or window."""
        _positive("VenueErrorRule.max_errors", self.max_errors)
        _positive("VenueErrorRule.window", self.window.total_seconds())

    def evaluate(self, snapshot: MonitorSnapshot) -> list[Alert]:
        """One critical alert per venue over the limit, in venue order.

        Parameters
        ----------
        snapshot : MonitorSnapshot
            The trading state at one instant.

        Returns
        -------
        list of Alert
            One critical alert per venue with at least ``max_errors`` errors in
            ``[timestamp - window, timestamp]``, keyed ``venue_errors:<venue>``.
        """
        alerts = []
        minutes = self.window.total_seconds() / 60
        for venue, times in sorted(snapshot.venue_error_times.items()):
            count = _count_in_window(times, snapshot.timestamp, self.window)
            if count >= self.max_errors:
                alerts.append(
                    Alert(
                        rule=self.name,
                        severity=Severity.CRITICAL,
                        message=f"{count} errors from {venue} in the last {minutes:.0f} min",
                        key=f"{self.name}:{venue}",
                        timestamp=snapshot.timestamp,
                        details={"venue": venue, "count": count},
                    )
                )
        return alerts


@dataclass(frozen=True)
class KillSwitchRule:
    """The emergency stop is engaged."""

    name: str = "kill_switch"

    def evaluate(self, snapshot: MonitorSnapshot) -> list[Alert]:
        """One critical alert while the kill switch is engaged, or none.

        Parameters
        ----------
        snapshot : MonitorSnapshot
            The trading state at one instant.

        Returns
        -------
        list of Alert
            At most one critical alert, keyed by the rule's name, with the recorded reason
            (or "no reason recorded").
        """
        if not snapshot.kill_switch_active:
            return []
        reason = snapshot.kill_switch_reason or "no reason recorded"
        return [
            Alert(
                rule=self.name,
                severity=Severity.CRITICAL,
                message=f"Kill switch engaged: {reason}. Trading halted until re-armed by hand.",
                key=self.name,
                timestamp=snapshot.timestamp,
                details={"reason": reason},
            )
        ]


def default_rules(
    *,
    daily_loss_limit: float = 0.05,
    derisk_drawdown: float = 0.10,
    stale_after: timedelta = timedelta(hours=2),
) -> list[AlertRule]:
    """The standard rule set, aligned with the risk defaults (5 % daily loss, 10 % drawdown).

    Parameters
    ----------
    daily_loss_limit : float, default 0.05
        Fraction of the day's starting equity at which :class:`DailyLossRule` goes critical
        (it warns at 80 % of it).
    derisk_drawdown : float, default 0.10
        The risk engine's de-risking drawdown: :class:`DrawdownRule` warns at half of it and
        is critical at it and at twice it.
    stale_after : timedelta, default 2 hours
        Age of a symbol's latest bar at which :class:`StaleDataRule` warns.

    Returns
    -------
    list of AlertRule
        Drawdown, daily loss, reconciliation mismatch, stale data, order rejects (3 in 15
        min), venue errors (5 in 5 min) and kill switch, in that order.
    """
    return [
        DrawdownRule(
            thresholds=(derisk_drawdown / 2, derisk_drawdown, 2 * derisk_drawdown),
            critical_from=derisk_drawdown,
        ),
        DailyLossRule(limit=daily_loss_limit),
        ReconciliationMismatchRule(),
        StaleDataRule(max_age=stale_after),
        OrderRejectRule(),
        VenueErrorRule(),
        KillSwitchRule(),
    ]


def evaluate_rules(rules: Sequence[AlertRule], snapshot: MonitorSnapshot) -> list[Alert]:
    """All alerts raised by ``rules`` on ``snapshot``, most severe first.

    Parameters
    ----------
    rules : Sequence[AlertRule]
        The checks, e.g. :func:`default_rules`.
    snapshot : MonitorSnapshot
        The trading state they look at.

    Returns
    -------
    list of Alert
        Sorted by severity, critical first; alerts of equal severity keep the order of
        ``rules`` (the sort is stable).
    """
    alerts = [alert for rule in rules for alert in rule.evaluate(snapshot)]
    return sorted(alerts, key=lambda a: -a.severity.rank)
