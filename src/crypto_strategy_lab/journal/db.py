"""The journal database: one SQLAlchemy declarative base and the engine factory.

SQLite (WAL mode, foreign keys on) by default; any SQLAlchemy URL (e.g.
``postgresql+psycopg://...``) by config (``CSL_JOURNAL_URL``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase

from crypto_strategy_lab.journal.types import JournalError
from crypto_strategy_lab.security.redaction import redact


class Base(DeclarativeBase):
    """Declarative base of every journal table."""


def default_journal_url() -> str:
    """The journal's SQLAlchemy URL when none is given.

    Returns
    -------
    str
        ``CSL_JOURNAL_URL`` if set, else ``sqlite:///<data dir>/journal.sqlite`` with the
        data dir ``CSL_DATA_DIR`` or the platform's user data folder for
        ``crypto-strategy-lab`` (created if missing).
    """
    from platformdirs import user_data_dir

    from crypto_strategy_lab.config.settings import get_settings

    settings = get_settings()
    if settings.CSL_JOURNAL_URL:
        return settings.CSL_JOURNAL_URL
    base = settings.CSL_DATA_DIR or Path(user_data_dir("crypto-strategy-lab"))
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'journal.sqlite'}"


SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


def make_engine(
    url: str | None = None, *, read_only: bool = False, synchronous: str = "FULL"
) -> Engine:
    """An engine for ``url`` (default :func:`default_journal_url`).

    Parameters
    ----------
    url : str, optional
        A SQLAlchemy URL; ``None`` is :func:`default_journal_url`.
    read_only : bool, default False
        On SQLite, open the file with ``mode=ro`` (the dashboard) and set neither
        ``journal_mode`` nor ``synchronous``; other backends ignore it.
    synchronous : {"OFF", "NORMAL", "FULL", "EXTRA"}, default "FULL"
        SQLite's durability level. ``FULL``: every commit is on disk before it returns, so a
        power cut cannot forget an order that was already sent; the replay of historical bars
        opts into ``NORMAL`` (``journal/README.md``).

    Returns
    -------
    sqlalchemy.engine.Engine
        SQLite connections get ``journal_mode=WAL``, ``synchronous`` (unless read-only) and
        ``foreign_keys=ON``.

    Raises
    ------
    JournalError
        If ``synchronous`` is not one of the levels.
    """
    if synchronous not in SYNCHRONOUS_LEVELS:
        raise JournalError(f"synchronous must be one of {SYNCHRONOUS_LEVELS}, got {synchronous!r}")
    url = url or default_journal_url()
    if url.startswith("sqlite") and read_only:
        path = url.split("sqlite:///", 1)[1]
        engine = create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"uri": True}
        )
    else:
        engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            if not read_only:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


# Where a journal is: an engine on it, its SQLAlchemy URL, or ``None`` for the default journal
# (:func:`default_journal_url`). Callers outside ``journal/`` name it without SQLAlchemy.
JournalLocation = Engine | str | None


def engine_for(engine_or_url: JournalLocation) -> Engine:
    """``engine_or_url`` when it is an engine, else :func:`make_engine` of the URL.

    Callers outside ``journal/`` never handle SQLAlchemy types.

    Parameters
    ----------
    engine_or_url : JournalLocation
        An engine (returned as is), a SQLAlchemy URL, or ``None`` for the default journal
        (:func:`default_journal_url`).

    Returns
    -------
    sqlalchemy.engine.Engine
        The engine; a new one (read-write, ``synchronous=FULL``) for a URL or ``None``.
    """
    return engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)


def sqlite_path(engine: Engine) -> Path | None:
    """The file of a SQLite journal.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        An engine of :func:`make_engine` (a read-only ``file:...?mode=ro`` URI included).

    Returns
    -------
    pathlib.Path or None
        The database file as the URL names it (relative paths stay relative); ``None`` for
        another backend or an in-memory database.
    """
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if database and database.startswith("file:"):  # a read-only URI (make_engine)
        database = database.removeprefix("file:").split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    return Path(database)


def require_sqlite_file(engine: Engine, *, create: bool) -> None:
    """Refuse a SQLite journal path that cannot be the journal.

    With ``create=False`` the file must exist; with ``create=True`` its folder must (SQLite
    would fail with "unable to open database file"); a path that exists but is not a file is
    refused either way. Other backends and in-memory databases pass.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The journal's engine.
    create : bool
        Whether the caller will create the journal (``csl paper``, ``csl live``, ``csl
        deploy``) rather than read an existing one.

    Raises
    ------
    JournalError
        If the path exists and is not a file, or (``create=False``) no file is there, or
        (``create=True``) its folder does not exist; the message shows the URL with its
        password hidden.
    """
    path = sqlite_path(engine)
    if path is None or path.is_file():
        return
    shown = engine.url.render_as_string(hide_password=True)
    if path.exists():
        raise JournalError(f"journal {shown} is not a file")
    if not create:
        raise JournalError(
            f"no journal at {shown} (check --journal / CSL_JOURNAL_URL; `csl paper`, "
            "`csl live` and `csl deploy` create one)"
        )
    if not path.parent.is_dir():
        raise JournalError(f"cannot create journal {shown}: folder {path.parent} does not exist")


def display_url(url: str) -> str:
    """``url`` with any password masked (never show credentials in the UI).

    Parameters
    ----------
    url : str
        A SQLAlchemy URL.

    Returns
    -------
    str
        `url` with its password replaced by ``***`` (and, if at least 4 characters long,
        by ``***REDACTED***`` wherever else it occurs), via
        :func:`~crypto_strategy_lab.security.redaction.redact`; `url` unchanged when it
        has no password or SQLAlchemy cannot parse it.
    """
    try:
        parsed = make_url(url)
    except Exception:
        return url
    if parsed.password:
        return redact(url, [parsed.password])
    return url


def sqlite_url_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///`` URL.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL.

    Returns
    -------
    pathlib.Path or None
        The database file as the URL names it; ``None`` for other backends, a URL without a
        database, or ``:memory:``.

    Raises
    ------
    sqlalchemy.exc.ArgumentError
        If SQLAlchemy cannot parse `url`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def masked_url(url: str) -> str:
    """``url`` as SQLAlchemy renders it with the password hidden (``***``), for messages.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL.

    Returns
    -------
    str
        The URL, its password rendered as ``***``.

    Raises
    ------
    sqlalchemy.exc.ArgumentError
        If SQLAlchemy cannot parse `url`.
    """
    return make_url(url).render_as_string(hide_password=True)
