"""What is at a journal URL, found out before any reader queries it.

A journal with runs, an empty one, a database without journal tables, no file, a damaged
file, or a server that cannot be reached (:func:`probe_journal`). Readers turn the answer
into their own message, so a missing or corrupt database is a clear line rather than a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.exc import DatabaseError, OperationalError, SQLAlchemyError

from crypto_strategy_lab.journal.db import make_engine, sqlite_url_path
from crypto_strategy_lab.journal.models import Run

# the tables without which a database is not (yet) a journal
_JOURNAL_TABLES = {"runs", "equity_curve", "orders"}


class JournalState(StrEnum):
    """What a journal URL holds (see :func:`probe_journal`)."""

    OK = "ok"
    EMPTY = "empty"  # schema present, no runs yet
    UNINITIALISED = "uninitialised"  # database reachable, journal tables absent
    MISSING = "missing"  # SQLite file does not exist
    CORRUPT = "corrupt"  # not a readable database
    UNREACHABLE = "unreachable"  # server down, bad credentials, ...


class Failure(StrEnum):
    """Why a journal cannot be read (:attr:`JournalProbe.failure`)."""

    DIRECTORY = "directory"  # the SQLite path is a folder
    DATABASE = "database"  # the file or server answers, but not as a readable database
    CONNECT = "connect"  # the database server cannot be reached
    READ = "read"  # any other error of the database layer


@dataclass(frozen=True)
class JournalProbe:
    """What :func:`probe_journal` found.

    Attributes
    ----------
    state : JournalState
        The journal's state.
    path : Path or None
        The SQLite file (``None``: another backend).
    n_runs : int
        The number of runs.
    failure : Failure or None
        For an unreadable journal, why.
    error : str
        For an unreadable journal, the first line of the error.
    """

    state: JournalState
    path: Path | None = None
    n_runs: int = 0
    failure: Failure | None = None
    error: str = ""


def first_line(exc: Any) -> str:
    """The first line of an error's text (its type's name when it has no text).

    Parameters
    ----------
    exc : Any
        An exception (or any object: its ``str`` is read).

    Returns
    -------
    str
        The first line of ``str(exc)`` with surrounding whitespace stripped, or
        ``type(exc).__name__`` when that text is blank.
    """
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def probe_journal(url: str, engine: Engine | None = None) -> JournalProbe:
    """Classify the journal at ``url``; never raises for a database error.

    Parameters
    ----------
    url : str
        The journal's SQLAlchemy URL (a SQLite file is checked for existence first).
    engine : sqlalchemy.engine.Engine or None, optional
        Read through this engine; ``None`` (default): a read-only engine opened here.

    Returns
    -------
    JournalProbe
        ``MISSING`` (no SQLite file), ``CORRUPT`` (a folder, or not a readable database,
        with ``failure`` and the error's first line), ``UNREACHABLE`` (a server that cannot
        be reached, or another database-layer error), ``UNINITIALISED`` (no journal tables),
        ``EMPTY`` (no runs) or ``OK`` with ``n_runs``; ``path`` is the SQLite file, if any.
    """
    path = sqlite_url_path(url)
    if path is not None and not path.exists():
        return JournalProbe(JournalState.MISSING, path)
    if path is not None and path.is_dir():
        return JournalProbe(JournalState.CORRUPT, path, failure=Failure.DIRECTORY)
    engine = engine or make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            if not _JOURNAL_TABLES.issubset(inspect(conn).get_table_names()):
                return JournalProbe(JournalState.UNINITIALISED, path)
            n_runs = conn.scalar(select(func.count()).select_from(Run)) or 0
    except DatabaseError as exc:
        if isinstance(exc, OperationalError) and path is None:
            return JournalProbe(
                JournalState.UNREACHABLE, path, failure=Failure.CONNECT, error=first_line(exc.orig)
            )
        return JournalProbe(
            JournalState.CORRUPT, path, failure=Failure.DATABASE, error=first_line(exc.orig)
        )
    except SQLAlchemyError as exc:
        return JournalProbe(
            JournalState.UNREACHABLE, path, failure=Failure.READ, error=first_line(exc)
        )
    return JournalProbe(JournalState.OK if n_runs else JournalState.EMPTY, path, n_runs)
