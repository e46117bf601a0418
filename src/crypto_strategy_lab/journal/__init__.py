"""The append-only journal: runs, orders, fills, positions, equity, signals, alerts, audit."""

from crypto_strategy_lab.journal.db import Base, make_engine, make_session_factory

__all__ = ["Base", "make_engine", "make_session_factory"]
