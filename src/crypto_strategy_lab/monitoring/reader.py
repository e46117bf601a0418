"""Read-only access to the journal for monitoring (dashboard, alert snapshots), as DataFrames.

The dashboard never writes: it opens the journal with ``make_engine(url, read_only=True)``
(SQLite ``mode=ro``) and reads it through the journal's
:class:`~crypto_strategy_lab.journal.frames.JournalReader` (``SELECT`` statements only).
:func:`check_journal` classifies the journal before any page queries it, so a missing,
corrupt or uninitialised database is a clear message rather than a traceback, and an empty
one is an empty state.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto_strategy_lab.journal.db import Engine, display_url, make_engine
from crypto_strategy_lab.journal.frames import JournalReader
from crypto_strategy_lab.journal.status import Failure, JournalState, probe_journal

START_HINT = (
    "Start a paper run, e.g. `csl paper --strategy lag_autocorr --days 7 --capital 5000` "
    "(or `scripts/paper_trade.sh ...`), then refresh."
)


@dataclass(frozen=True)
class JournalStatus:
    """What :func:`check_journal` found.

    Attributes
    ----------
    state : JournalState
        The journal's state.
    message : str
        One line for the user: what was found, or what to do.
    """

    state: JournalState
    message: str

    @property
    def readable(self) -> bool:
        """Pages may query it: the journal is ``OK`` or ``EMPTY``."""
        return self.state in (JournalState.OK, JournalState.EMPTY)


def open_readonly(url: str) -> Engine:
    """A read-only engine on the journal at ``url`` (SQLite ``mode=ro``).

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the journal (``sqlite:////path/journal.sqlite``).

    Returns
    -------
    sqlalchemy.engine.Engine
        An engine whose connections cannot write (SQLite opens the file ``mode=ro``).
    """
    return make_engine(url, read_only=True)


def check_journal(url: str, engine: Engine | None = None) -> JournalStatus:
    """Classify the journal at ``url`` (see :class:`JournalState`).

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the journal.
    engine : sqlalchemy.engine.Engine or None, default None
        An engine already open on ``url`` to probe with; None opens one for the probe.

    Returns
    -------
    JournalStatus
        The state and a message a user can act on (how to create the journal, which
        error reading it raised); never raises for a missing or unreadable journal.
    """
    shown = display_url(url)
    probe = probe_journal(url, engine)
    if probe.state is JournalState.MISSING:
        message = (
            f"No journal at {probe.path}. {START_HINT} Or point the dashboard at another "
            "journal: `csl dashboard --journal sqlite:////path/to/journal.sqlite`."
        )
    elif probe.failure is Failure.DIRECTORY:
        message = f"{probe.path} is a directory, not a journal file."
    elif probe.state is JournalState.UNINITIALISED:
        message = f"{shown} is a database but has no journal tables yet. {START_HINT}"
    elif probe.failure is Failure.CONNECT:
        message = f"Cannot connect to the journal at {shown}: {probe.error}"
    elif probe.failure is Failure.DATABASE:
        message = (
            f"The journal at {shown} is not readable (corrupt, or not a journal database): "
            f"{probe.error}"
        )
    elif probe.failure is Failure.READ:
        message = f"Cannot read the journal at {shown}: {probe.error}"
    elif probe.state is JournalState.EMPTY:
        message = f"The journal at {shown} has no runs yet."
    else:
        message = f"{probe.n_runs} run(s) in {shown}"
    return JournalStatus(probe.state, message)


__all__ = [
    "START_HINT",
    "JournalReader",
    "JournalState",
    "JournalStatus",
    "check_journal",
    "display_url",
    "open_readonly",
]
