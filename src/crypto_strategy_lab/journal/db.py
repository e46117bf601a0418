"""The journal database: one SQLAlchemy declarative base and the engine factory.

SQLite (WAL mode, foreign keys on) by default; any SQLAlchemy URL (e.g.
``postgresql+psycopg://...``) by config (``CSL_JOURNAL_URL``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, sessionmaker


class Base(DeclarativeBase):
    """Declarative base of every journal table."""


def default_journal_url() -> str:
    """``CSL_JOURNAL_URL`` if set, else ``sqlite:///<data dir>/journal.sqlite``."""
    from platformdirs import user_data_dir

    from crypto_strategy_lab.config.settings import get_settings

    settings = get_settings()
    if settings.CSL_JOURNAL_URL:
        return settings.CSL_JOURNAL_URL
    base = settings.CSL_DATA_DIR or Path(user_data_dir("crypto-strategy-lab"))
    base.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{base / 'journal.sqlite'}"


def make_engine(url: str | None = None, *, read_only: bool = False) -> Engine:
    """An engine for ``url`` (default :func:`default_journal_url`).

    SQLite connections get ``journal_mode=WAL``, ``synchronous=NORMAL`` and
    ``foreign_keys=ON``; ``read_only=True`` opens the file with ``mode=ro`` (the dashboard).
    """
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
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
