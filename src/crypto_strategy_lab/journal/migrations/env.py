"""Alembic environment for the journal: online migrations on the caller's connection.

``journal.migrate.upgrade`` passes an open connection in ``config.attributes["connection"]``;
the ``alembic`` command line works too when ``sqlalchemy.url`` is set.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from crypto_strategy_lab.journal.db import Base
from crypto_strategy_lab.journal.metadata import load_all_models

load_all_models()
target_metadata = Base.metadata
config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        _run(conn)
