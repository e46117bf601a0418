"""Programmatic Alembic migrations, usable from an installed package (no alembic.ini needed).

``upgrade(url_or_engine)`` brings a journal database to the latest schema;
``current_revision`` reports where a database stands.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from crypto_strategy_lab.journal.db import make_engine
from crypto_strategy_lab.journal.types import JournalError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migration scripts.

    Returns
    -------
    alembic.config.Config
        A config without an ini file whose ``script_location`` is :data:`MIGRATIONS_DIR`;
        the caller sets the connection (``cfg.attributes["connection"]``).
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Migrate the journal at ``target`` to ``revision``, in one transaction.

    On SQLite, foreign-key enforcement is off during the migration (a table rebuild drops
    tables other rows reference, the procedure of
    https://sqlite.org/lang_altertable.html#otheralter) and every reference is checked
    before the commit; it is switched back on afterwards, also on failure.

    Parameters
    ----------
    target : str or sqlalchemy.engine.Engine
        A SQLAlchemy URL (opened with :func:`~crypto_strategy_lab.journal.db.make_engine`)
        or an engine on the journal.
    revision : str, default "head"
        The Alembic revision to reach (``"head"``: the latest schema).

    Raises
    ------
    JournalError
        If, on SQLite, the migration left a row referencing a missing one (the migration
        is rolled back).
    """
    engine = make_engine(target) if isinstance(target, str) else target
    cfg = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to change it (create, copy, drop, rename); dropping a
            # table that other rows reference fails while foreign keys are enforced, and the
            # switch only takes effect outside a transaction. The documented procedure
            # (https://sqlite.org/lang_altertable.html#otheralter) turns enforcement off for
            # the rebuild and checks every reference afterwards.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, revision)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise JournalError(
                        "journal migration left a dangling foreign key (rolled back)"
                    )
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def current_revision(target: str | Engine) -> str | None:
    """The journal's Alembic revision.

    Parameters
    ----------
    target : str or sqlalchemy.engine.Engine
        A SQLAlchemy URL or an engine on the journal.

    Returns
    -------
    str or None
        The revision id stored in ``alembic_version`` (e.g. ``"0005"``); ``None`` when the
        database was never migrated.
    """
    engine = make_engine(target) if isinstance(target, str) else target
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
