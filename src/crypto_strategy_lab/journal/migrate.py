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
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(target: str | Engine) -> str | None:
    engine = make_engine(target) if isinstance(target, str) else target
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
