"""Alembic migrations of the journal schema (run with ``journal.migrate.upgrade``)."""
