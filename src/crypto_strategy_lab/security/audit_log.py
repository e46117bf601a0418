"""Audit trail of order actions: every request, venue answer, cancel and failure.

An :class:`AuditEvent` is a flat record; an :class:`AuditSink` is anything with
``write(event)``. Sinks shipped here: :class:`JsonlAuditSink` (append-only JSON lines file,
mode 0600), :class:`LoggingAuditSink` (the ``csl.audit`` logger) and
:class:`MemoryAuditSink` (tests). The journal's hash-chained audit table plugs in the same
way: wrap it in an object with ``write(event)`` and pass it to the exchange as ``audit=``.

:class:`AuditLog` redacts every string in an event (recursively) against the secrets it knows
(the venue's API key and secret) before any sink sees it, so a secret can never reach disk
even if a venue echoed it back.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from crypto_strategy_lab.security.redaction import MASK


@dataclass(frozen=True)
class AuditEvent:
    """One order action.

    ``action`` is one of ``order.request``, ``order.reply``, ``order.error``,
    ``order.lookup``, ``order.resend``, ``order.cancel``, ``order.cancel_reply``,
    ``order.cancel_all``, ``position.close``, ``leverage.set``.
    """

    action: str
    venue: str
    mode: str
    client_order_id: str | None = None
    order_id: str | None = None
    symbol: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    timestamp: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        """The event's fields as a dict (for JSON).

        Returns
        -------
        dict
            Field name -> value. ``detail`` is the event's own dict, not a copy: the
            journal sink serialises it on the order path, where ``dataclasses.asdict``'s deep
            copy was most of the audit's cost; :meth:`AuditLog.record` builds it as a fresh
            JSON-ready value, so treat it as read-only.
        """
        return {name: getattr(self, name) for name in _EVENT_FIELDS}


_EVENT_FIELDS = tuple(f.name for f in fields(AuditEvent))


@runtime_checkable
class AuditSink(Protocol):
    """Where audit events go. Implementations must not raise on ordinary input.

    A sink may also define a boolean ``enabled`` attribute or property (``True`` when
    absent); when no sink is enabled, :class:`AuditLog` skips building the event.
    """

    def write(self, event: AuditEvent) -> None:
        """Record one (already redacted) event.

        Parameters
        ----------
        event : AuditEvent
            The (already redacted) event.
        """
        ...


def _clean(value: Any, scrub: Callable[[str], str]) -> Any:
    """JSON-ready copy of ``value`` with every string and key passed through ``scrub``.

    Decimal, Enum and datetime become strings; one pass, because the audit write sits on the
    order path.
    """
    kind = type(value)
    # the exact types of an order's detail first (an ABC check such as Mapping costs ~0.3 us)
    if kind is str:
        return scrub(value)
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if kind is dict:
        return {scrub(str(k)): _clean(v, scrub) for k, v in value.items()}
    if isinstance(value, str):
        # a str subclass (a str-valued enum such as OrderStatus): its text, which is what every
        # sink's JSON writes for it; a plain str keeps the journal's encoding of it cheap
        return scrub(str.__str__(value))
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {scrub(str(k)): _clean(v, scrub) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_clean(v, scrub) for v in value]
    if isinstance(value, Enum):
        return _clean(value.value, scrub)
    if isinstance(value, datetime):
        return value.isoformat()
    return scrub(str(value))


def secret_scrubber(secrets: Iterable[str]) -> Callable[[str], str]:
    """A function masking every secret in a text (one compiled alternation, longest first).

    Parameters
    ----------
    secrets : iterable of str
        The secrets (empty strings are skipped).

    Returns
    -------
    callable
        ``text -> text`` with each secret replaced by the redaction mask; the identity when
        there are no secrets.
    """
    words = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not words:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(w) for w in words))
    return lambda text: pattern.sub(MASK, text) if pattern.search(text) else text


class JsonlAuditSink:
    """Append events as JSON lines to ``path`` (created with mode 0600).

    The file stays open in append mode and every line is flushed to the operating system at
    once (a crash of our process loses nothing; ``fsync`` per line is left out: it would
    cost milliseconds per order). :meth:`close` releases the handle.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, event: AuditEvent) -> None:
        """Append the event as one JSON line (sorted keys) and flush it.

        Parameters
        ----------
        event : AuditEvent
            The (already redacted) event.
        """
        line = json.dumps(event.to_dict(), sort_keys=True, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


class LoggingAuditSink:
    """Send events to a logger (default ``csl.audit``) at INFO level as one JSON object."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("csl.audit")

    @property
    def enabled(self) -> bool:
        """Whether the logger would emit at INFO level."""
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, event: AuditEvent) -> None:
        """Log the event as one JSON object at INFO level (nothing when muted).

        Parameters
        ----------
        event : AuditEvent
            The (already redacted) event.
        """
        if self.enabled:  # skip the serialisation when muted
            self.logger.info("%s", json.dumps(event.to_dict(), sort_keys=True))


class MemoryAuditSink:
    """Keep events in a list (tests, dashboards)."""

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    def write(self, event: AuditEvent) -> None:
        """Append the event to :attr:`events`.

        Parameters
        ----------
        event : AuditEvent
            The (already redacted) event.
        """
        self.events.append(event)


class AuditLog:
    """Redacts and fans out events to sinks; a failing sink is logged, never fatal."""

    def __init__(self, sinks: Iterable[AuditSink], secrets: Iterable[str] = ()) -> None:
        self.sinks = list(sinks)
        self._scrub = secret_scrubber(secrets)

    @property
    def listening(self) -> bool:
        """Whether any sink is enabled (callers may skip building details otherwise)."""
        return any(getattr(sink, "enabled", True) for sink in self.sinks)

    def record(self, action: str, *, venue: str, mode: str, **fields: Any) -> AuditEvent | None:
        """Build, redact and write one event.

        Parameters
        ----------
        action : str
            The order action (``order.request``, ``order.reply``, ...).
        venue, mode : str
            Where and in which trading mode.
        **fields
            Further :class:`AuditEvent` fields (``client_order_id``, ``order_id``,
            ``symbol``, ``detail``); every string in them is scrubbed of secrets.

        Returns
        -------
        AuditEvent or None
            The event written, or ``None`` when no sink is listening. A failing sink is
            logged, never raised.
        """
        sinks = [sink for sink in self.sinks if getattr(sink, "enabled", True)]
        if not sinks:
            return None
        detail = _clean(fields.pop("detail", {}), self._scrub)
        clean = {k: (self._scrub(v) if isinstance(v, str) else v) for k, v in fields.items()}
        event = AuditEvent(action=action, venue=venue, mode=mode, detail=detail, **clean)
        for sink in sinks:
            try:
                sink.write(event)
            except Exception:  # an audit sink must never break order flow
                logging.getLogger(__name__).exception("audit sink %r failed", sink)
        return event
