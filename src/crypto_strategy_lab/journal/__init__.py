"""The append-only journal: runs, orders, fills, positions, equity, signals, alerts, audit."""

from crypto_strategy_lab.journal.audit import verify_audit_chain
from crypto_strategy_lab.journal.db import make_engine
from crypto_strategy_lab.journal.repository import Journal
from crypto_strategy_lab.journal.types import JournalError

__all__ = [
    "Journal",
    "JournalError",
    "make_engine",
    "verify_audit_chain",
]
