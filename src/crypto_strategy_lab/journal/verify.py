"""``csl audit verify``'s check of a journal at a URL.

The file exists, its storage is intact (SQLite's ``quick_check`` first, the thorough
``integrity_check`` with the chain), it is a journal, and its audit chain verifies.
"""

from __future__ import annotations

from sqlalchemy import inspect

from crypto_strategy_lab.journal.audit import AuditReport, verify_audit_chain
from crypto_strategy_lab.journal.db import make_engine, masked_url, require_sqlite_file
from crypto_strategy_lab.journal.integrity import check_storage, reading
from crypto_strategy_lab.journal.types import JournalError


def verify_journal(url: str, *, expected_head: str | None = None) -> AuditReport:
    """The audit report of the journal at ``url``, opened read-only when it is SQLite.

    Parameters
    ----------
    url : str
        The journal's SQLAlchemy URL.
    expected_head : str or None, optional
        A head hash recorded earlier, which the chain must still contain (a later head is
        fine); ``None`` (default): no such check.

    Returns
    -------
    AuditReport
        The number of events checked, the chain's head hash and the problems found (empty:
        the chain and every audited record verify).

    Raises
    ------
    JournalError
        If there is no journal file, its storage is damaged, or the database has no
        ``audit_events`` table.
    """
    engine = make_engine(url, read_only=url.startswith("sqlite"))
    try:
        require_sqlite_file(engine, create=False)
        # quick_check before anything is read (a damaged file is one line, not "not a
        # journal"); verify_audit_chain runs the thorough integrity_check beside the chain
        check_storage(engine)
        with reading(engine):
            tables = inspect(engine).get_table_names()
        if "audit_events" not in tables:
            raise JournalError(f"{masked_url(url)} is not a journal (no audit_events table)")
        return verify_audit_chain(engine, expected_head=expected_head)
    finally:
        engine.dispose()
