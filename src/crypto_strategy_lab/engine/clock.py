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
        """The current time.

        Returns
        -------
        datetime.datetime
            A timezone-aware UTC time.
        """
        ...


class WallClock:
    """Real time (paper against a venue sandbox, live)."""

    def now(self) -> datetime:
        """The wall-clock time.

        Returns
        -------
        datetime.datetime
            ``datetime.now(UTC)``.
        """
        return datetime.now(UTC)

    def advance(self, when: datetime) -> None:
        """Do nothing: real time advances by itself.

        Parameters
        ----------
        when : datetime.datetime
            The close time of the bar just delivered; ignored.
        """


class ReplayClock:
    """Simulated time: the close time of the last bar the feed delivered.

    Parameters
    ----------
    start : datetime.datetime or None, optional
        The time before the first bar; ``None`` (default): the Unix epoch, 1970-01-01 UTC.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(1970, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        """The close time of the last bar the clock was advanced to.

        Returns
        -------
        datetime.datetime
            The last ``when`` given to :meth:`advance`; before any bar, ``start``, or the Unix
            epoch (1970-01-01 UTC) if ``start`` was ``None``.
        """
        return self._now

    def advance(self, when: datetime) -> None:
        """Move the clock to a bar's close time.

        Parameters
        ----------
        when : datetime.datetime
            The close time of the bar the feed delivered (UTC); equal to the current time is
            allowed (two sleeves on one bar).

        Raises
        ------
        ValueError
            If `when` is earlier than the current time: replayed time never goes back.
        """
        if when < self._now:
            raise ValueError(f"replay clock cannot go back from {self._now} to {when}")
        self._now = when
