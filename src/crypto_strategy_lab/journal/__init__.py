"""The append-only journal: runs, orders, fills, positions, equity, signals, alerts, audit."""

from crypto_strategy_lab.journal.audit import AuditReport, verify_audit_chain
from crypto_strategy_lab.journal.db import Base, make_engine, make_session_factory
from crypto_strategy_lab.journal.repository import Journal
from crypto_strategy_lab.journal.types import JournalError

__all__ = [
    "AuditReport",
    "Base",
    "Journal",
    "JournalError",
    "make_engine",
    "make_session_factory",
    "verify_audit_chain",
]
