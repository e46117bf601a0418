"""A damaged journal is reported as one line naming where it is damaged, never a traceback.

Two kinds of damage:

* **Storage**: a zeroed or truncated page, a file that is not a database. SQLite's own
  ``PRAGMA quick_check`` (``integrity_check`` for the thorough variant) walks every b-tree
  page; :func:`check_storage` runs it and names the table whose tree holds the bad page.
  It must run before anything is trusted: a zeroed page can hide rows from every query, so
  a chain over the rows that are left still verifies.
* **Values**: a stored value that its column type cannot read (``'abc'`` in a decimal column,
  a timestamp that is not one, JSON that does not parse). :func:`find_unreadable_value` reads
  every column of every journal table with the column's own result processor and names the
  first table, row and column that fails.

:func:`reading` wraps a block of journal reads: a storage error or a read that fails on a
stored value becomes one :class:`~crypto_strategy_lab.journal.types.JournalError` line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from crypto_strategy_lab.journal.db import sqlite_path
from crypto_strategy_lab.journal.types import JournalError

_READ_ERRORS = (ValueError, ArithmeticError, TypeError, KeyError)
_KIND = {"ExactDecimal": "decimal", "UTCDateTime": "UTC timestamp", "JSON": "JSON document"}


def _shown(engine: Engine) -> str:
    path = sqlite_path(engine)
    return f"sqlite:///{path}" if path else engine.url.render_as_string(hide_password=True)


def check_storage(engine: Engine, *, thorough: bool = False) -> None:
    """Raise :class:`JournalError` unless SQLite finds every page of the journal intact.

    ``thorough`` runs ``integrity_check`` (also cross-checks every index against its table)
    instead of ``quick_check``; both are O(pages). The message names the damaged tables (each
    table checked on its own, ``PRAGMA quick_check(table)``). Other backends check their own
    storage: nothing to do.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        An engine on the journal.
    thorough : bool, default False
        Run ``integrity_check`` instead of ``quick_check``.

    Raises
    ------
    JournalError
        If the pragma reports a problem or the file cannot be read as a database; one line
        naming the journal, the damaged tables when some (not all) of them fail their own
        check, SQLite's first finding and how many more there are.
    """
    if engine.dialect.name != "sqlite":
        return
    pragma = "integrity_check" if thorough else "quick_check"
    try:
        with engine.connect() as conn:
            findings = _findings(conn, f"PRAGMA {pragma}")
    except DatabaseError as exc:  # e.g. "database disk image is malformed", "not a database"
        findings = [_first_line(exc)]
    if not findings:
        return
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    raise JournalError(
        f"journal {_shown(engine)} is damaged{_damaged_tables(engine)}: SQLite {pragma}: "
        f"{findings[0]}{more}; restore it from a backup"
    )


def _findings(conn, pragma: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The problem lines of an integrity pragma (``[]`` when it says ``ok``)."""
    lines = [
        line.strip()
        for row in conn.exec_driver_sql(pragma)
        for line in str(row[0]).splitlines()
        if line.strip() and not line.startswith("*** in database")
    ]
    return [] if lines == ["ok"] else lines


def _damaged_tables(engine: Engine) -> str:
    """`` in table fills, signals`` for the tables whose own check fails, else ``''``."""
    damaged, names = [], []
    try:
        with engine.connect() as conn:
            names = [
                row[0]
                for row in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
            for name in names:
                try:
                    if _findings(conn, f'PRAGMA quick_check("{name}")'):
                        damaged.append(name)
                except DatabaseError:
                    damaged.append(name)
    except DatabaseError:
        return ""
    if not damaged or len(damaged) == len(names):  # nothing specific to name
        return ""
    return f" in table {', '.join(damaged)}"


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    return str(inner).splitlines()[0] if str(inner) else type(inner).__name__


def find_unreadable_value(engine: Engine) -> str | None:
    """The first stored value its column's type cannot read, as one line.

    Tables are read in dependency order (:attr:`sqlalchemy.MetaData.sorted_tables`), rows
    in the database's order; journal tables the database lacks are skipped.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        An engine on the journal.

    Returns
    -------
    str or None
        ``'<table> <key>=<k>: column <c> holds <value>, not a valid <kind> (<error>)'``,
        the value cut to 40 characters; ``None`` when every value reads.
    """
    from crypto_strategy_lab.journal.metadata import load_all_models

    dialect = engine.dialect
    metadata = load_all_models()
    with engine.connect() as conn:
        existing = set(conn.dialect.get_table_names(conn))
        for table in metadata.sorted_tables:
            if table.name not in existing:
                continue
            key = next(iter(table.primary_key.columns))
            processors = {
                col.name: col.type.dialect_impl(dialect).result_processor(dialect, None)
                for col in table.columns
            }
            columns = [col.name for col in table.columns]
            # The stored (driver-level) values, each then read by its column's own processor.
            quoted = ", ".join(f'"{name}"' for name in columns)
            for row in conn.exec_driver_sql(f'SELECT {quoted} FROM "{table.name}"'):
                values = dict(zip(columns, row, strict=True))
                for name, process in processors.items():
                    if process is None or values[name] is None:
                        continue
                    try:
                        process(values[name])
                    except _READ_ERRORS as exc:
                        return (
                            f"{table.name} {key.name}={values[key.name]}: column {name} holds "
                            f"{str(values[name])[:40]!r}, not a valid "
                            f"{_KIND.get(type(table.c[name].type).__name__, 'value')} "
                            f"({type(exc).__name__})"
                        )
    return None


@contextmanager
def reading(engine: Engine) -> Iterator[None]:
    """Turn a failed journal read into one line naming the damage.

    A storage error names the damaged table (:func:`check_storage`); a value that cannot be
    read names its table, row and column (:func:`find_unreadable_value`). An error that is
    neither is not journal damage and propagates unchanged.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The engine the block reads through.

    Yields
    ------
    None
        Control to the block of reads.

    Raises
    ------
    JournalError
        When the block raised a :class:`sqlalchemy.exc.DatabaseError`, or a
        ``ValueError``, ``ArithmeticError``, ``TypeError`` or ``KeyError`` that a stored
        value explains; chained to the original error.
    """
    try:
        yield
    except DatabaseError as exc:
        check_storage(engine)
        raise JournalError(f"journal {_shown(engine)}: {_first_line(exc)}") from exc
    except _READ_ERRORS as exc:
        where = find_unreadable_value(engine)
        if where is None:
            raise
        raise JournalError(
            f"journal {_shown(engine)} holds a value it cannot read: {where}"
        ) from exc
