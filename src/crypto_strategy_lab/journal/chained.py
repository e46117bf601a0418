"""Research rows (trials, datasets, gate verdicts) written through the journal's audit chain."""

from __future__ import annotations

from sqlalchemy import Engine

from crypto_strategy_lab.journal.db import Base
from crypto_strategy_lab.journal.repository import Journal


def append_audited(engine: Engine, record: Base, kind: str) -> None:
    """Insert ``record`` and its audit event in one transaction, through the journal's own
    write path (chain lock, retry on a lost race): research rows are chained like fills."""
    journal = Journal(engine)
    journal.writer.write(lambda session: journal.writer.add(session, record, kind, None))
