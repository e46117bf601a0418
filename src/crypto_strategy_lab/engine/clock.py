"""Clocks: the engine asks "what time is it?" here and nowhere else.

``ReplayClock`` is driven by the feed (the close time of the bar being processed), so a replay
of history sees the time the decision would have been taken at; ``WallClock`` is UTC now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the engine reads the time from."""

    def now(self) -> datetime:
        """The current time."""
        ...


class WallClock:
    """Real time (paper against a venue sandbox, live)."""

    def now(self) -> datetime:
        """``datetime.now(UTC)``."""
        return datetime.now(UTC)

    def advance(self, when: datetime) -> None:
        """Real time advances by itself; a bar's close time is ignored."""


class ReplayClock:
    """Simulated time: the close time of the last bar the feed delivered."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """The last close time advanced to (``start``, else the epoch, before any bar)."""
        return self._now

    def advance(self, when: datetime) -> None:
        """Move the clock to ``when``, a bar's close time; it never goes back (ValueError)."""
        if when < self._now:
            raise ValueError(f"replay clock cannot go back from {self._now} to {when}")
        self._now = when
