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
    """An Alembic config pointing at the packaged migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Migrate the journal at ``target`` (URL or engine) to ``revision``."""
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
    """The journal's Alembic revision (``None``: never migrated)."""
    engine = make_engine(target) if isinstance(target, str) else target
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
