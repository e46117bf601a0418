"""Alembic revision scripts of the journal schema."""
