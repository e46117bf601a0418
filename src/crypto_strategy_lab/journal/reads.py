"""The order path's point reads, on one DBAPI connection the journal holds for them.

Every order asks the journal small questions: is the kill switch or the day's loss halt set
(:meth:`~crypto_strategy_lab.journal.halts.HaltStore.halted`), is this client order id already
journaled, is this trade id (:mod:`.orders`, :mod:`.fills`). Each was a pooled SQLAlchemy
connection checked out and in around a Core query: 35-60 µs, of which the query is ~3 µs on
SQLite. :class:`PointReads` runs them on one connection it keeps open, through the driver's
cursor: 3.3 µs for an order or fill check, 5.5 µs for both halt scopes (a held SQLAlchemy
``Connection`` costs ~16 µs, the two halt reads through the pool cost 76 µs).

**Every read sees every committed write.** The held connection is in autocommit mode (the
dialect's ``AUTOCOMMIT`` isolation level, set on the DBAPI connection), and each read closes
its cursor before it returns, so no transaction or statement outlives a read: on SQLite (WAL)
each read starts at the newest commit, on PostgreSQL each statement is its own transaction.
A ``csl kill`` committed by another process is therefore seen by the next read, as through a
fresh pooled connection (``tests/journal/test_point_reads.py`` writes through another engine
between reads, and checkpoints the WAL to show no read keeps a snapshot open).

**Nothing leaks into the pool.** The connection is detached from the engine's pool when it is
opened, so its autocommit setting can never reach a connection the writer's transactions use;
it is closed when the engine is disposed (``engine.dispose()``: a journal's file can then be
deleted) or when the reader is garbage collected, and reopened by the next read after a dispose
(in a forked child the parent's connection is forgotten, never closed, and the child opens its
own). An in-memory SQLite journal exists only in its pool's one connection: its reads check
that connection out for each read instead (unchanged isolation, as before).

A statement is compiled once for the engine's dialect; only statements whose bound parameters
and result columns SQLAlchemy would pass through unconverted are accepted (strings, integers:
:meth:`PointReads.first` returns what the driver returns). A driver error drops the held
connection (the next read opens a new one) and is raised as SQLAlchemy raises it (a
:class:`sqlalchemy.exc.DBAPIError` subclass). Reads are serialised by a lock: the trading
engine reads from one thread, and the lock keeps the journal as thread-safe as its pool.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import SingletonThreadPool, StaticPool

from crypto_strategy_lab.journal.types import JournalError


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as the driver takes it: its SQL and how to lay out its parameters."""

    sql: str
    # positional paramstyles (SQLite's qmark): the parameter names in order with their
    # defaults (a LIMIT's value; None for a required one); None for named paramstyles
    order: tuple[tuple[str, Any], ...] | None
    defaults: dict[str, Any]

    def parameters(self, values: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self.order is None:
            return {**self.defaults, **values}
        return tuple([values.get(name, default) for name, default in self.order])


def _close_in(pid: int, connection: Any) -> None:
    """Close a held connection in the process that opened it.

    In a forked child it is the parent's: forgotten, not closed (closing would end the
    parent's PostgreSQL session), as ``engine.dispose(close=False)`` does with the pool's.
    """
    if os.getpid() == pid:
        connection.close()


class PointReads:
    """Point reads of the journal on a held autocommit connection (see the module docstring).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        The journal's engine. The reader registers for its ``engine_disposed`` event, which
        closes the held connection.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # an in-memory SQLite database lives in its pool's connection: detaching that one
        # would leave the pool a new, empty database
        self._shared_pool = isinstance(engine.pool, (SingletonThreadPool, StaticPool))
        self._compiled: dict[Select[Any], _Compiled] = {}
        self._lock = threading.Lock()
        self._connection: Any = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._pid = 0  # the process that opened the held connection
        # a weak reference: the engine outlives many journals in tests, and must not keep each
        # one's reader (and its open connection) alive
        reader = weakref.ref(self)

        def disposed(_engine: Engine) -> None:
            if (alive := reader()) is not None:
                alive.close()

        event.listen(engine, "engine_disposed", disposed)

    def first(self, statement: Select[Any], values: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of ``statement``, read at the newest commit.

        Parameters
        ----------
        statement : sqlalchemy.Select
            A statement built once (it is compiled on first use and kept); its bound
            parameters and result columns must need no conversion (strings, integers).
        values : dict of str to Any
            The values of its named bound parameters.

        Returns
        -------
        tuple or None
            The first row as the driver returns it (a tuple: SQLite's and psycopg's default
            row); None when there is none.

        Raises
        ------
        JournalError
            For a statement whose parameters or columns SQLAlchemy would convert, or one with
            an expanding (``IN``) or literal-execute parameter.
        sqlalchemy.exc.DBAPIError
            For a driver error (the held connection is dropped first).
        """
        compiled = self._compiled.get(statement)
        if compiled is None:
            compiled = self._compiled[statement] = self._compile(statement)
        parameters = compiled.parameters(values)
        if self._shared_pool:
            fairy = self._engine.raw_connection()
            try:
                return self._fetch(fairy, compiled.sql, parameters, held=False)
            finally:
                fairy.close()
        with self._lock:
            connection = self._connection
            if connection is None or self._pid != os.getpid():
                connection = self._open()
            return self._fetch(connection, compiled.sql, parameters, held=True)

    def close(self) -> None:
        """Close the held connection (the next read opens a new one); idempotent."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        """Close and forget the held connection (the caller holds the lock)."""
        finalizer, self._finalizer, self._connection = self._finalizer, None, None
        if finalizer is not None:
            finalizer()

    def _open(self) -> Any:
        """A new connection of the engine (its ``connect`` events run), out of the pool."""
        self._drop()  # a connection inherited from the parent process, if any
        fairy = self._engine.raw_connection()
        try:
            fairy.detach()
            connection = fairy.dbapi_connection
            # a connection fresh from the pool may carry the driver's implicit transaction
            # (psycopg refuses to switch to autocommit inside one)
            connection.rollback()
            self._engine.dialect.set_isolation_level(connection, "AUTOCOMMIT")
        except BaseException:
            fairy.close()  # detached: closes the connection
            raise
        self._connection, self._pid = connection, os.getpid()
        self._finalizer = weakref.finalize(self, _close_in, self._pid, connection)
        return connection

    def _fetch(
        self, connection: Any, sql: str, parameters: Any, *, held: bool
    ) -> tuple[Any, ...] | None:
        dialect = self._engine.dialect
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, parameters)
                row = cursor.fetchone()
            finally:
                # a statement left open would hold SQLite's read snapshot past this read
                cursor.close()
        except dialect.loaded_dbapi.Error as exc:
            if held:
                self._drop()
            raise DBAPIError.instance(
                sql, parameters, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        return row  # type: ignore[no-any-return]

    def _compile(self, statement: Select[Any]) -> _Compiled:
        dialect = self._engine.dialect
        compiled = statement.compile(dialect=dialect)
        binds = list(compiled.binds.values())
        converted = [b.key for b in binds if b.type.bind_processor(dialect) is not None]
        converted += [
            str(c) for c in statement.selected_columns if c.type.result_processor(dialect, None)
        ]
        if converted or any(b.expanding or b.literal_execute for b in binds):
            raise JournalError(
                f"a point read takes only plain parameters and columns; {statement} needs "
                f"SQLAlchemy's conversion of {', '.join(converted) or 'an expanding parameter'}"
            )
        defaults = compiled.construct_params({b.key: None for b in binds if b.required})
        order = None
        if compiled.positional:
            order = tuple((name, defaults[name]) for name in compiled.positiontup or ())
        return _Compiled(compiled.string, order, defaults)
