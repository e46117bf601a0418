"""The order path's point reads (``journal/reads.py``): fresh, transaction-free, released.

The journal holds one autocommit connection for them; these tests pin down what that must not
change: every read sees what another engine committed just before it, no read leaves a
transaction (or SQLite read snapshot) open, and the connection goes when the engine is
disposed or the journal discarded.
"""

from __future__ import annotations

import gc
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import select, text
from sqlalchemy.pool import SingletonThreadPool

from crypto_strategy_lab.core.enums import OrderSide, OrderType
from crypto_strategy_lab.core.orders import Fill, OrderRequest
from crypto_strategy_lab.journal import Journal, JournalError, make_engine
from crypto_strategy_lab.journal.migrate import upgrade
from crypto_strategy_lab.journal.models import Order
from crypto_strategy_lab.journal.orders import _ORDER_EXISTS
from crypto_strategy_lab.journal.reads import PointReads
from tests.journal.helpers import T0


def _request(coid: str) -> OrderRequest:
    return OrderRequest(
        symbol="ETHUSDT",
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("1"),
        client_order_id=coid,
    )


def _fill(coid: str, trade_id: str) -> Fill:
    return Fill(
        order_id="X",
        client_order_id=coid,
        symbol="ETHUSDT",
        side=OrderSide.BUY,
        quantity=Decimal("0.5"),
        price=Decimal("3000"),
        trade_id=trade_id,
    )


def test_every_read_sees_what_another_engine_committed_before_it(journal_url: str) -> None:
    running = Journal.open(journal_url)
    other = Journal.open(journal_url)  # e.g. `csl kill`: its own engine and connections
    run_id = running.start_run(name="t", mode="paper", capital=1000, strategies=["s"]).run_id
    try:
        assert running.halted("global", "day") == (False, False)
        other.halt("operator", actor="erin")
        assert running.halted("global", "day") == (True, False)
        other.halt("loss", scope="day")
        assert running.halted("global", "day") == (True, True)
        other.rearm("checked", actor="erin")
        assert running.halted("global", "day") == (False, True)
        assert running.halted("day", "global", "never") == (True, False, False)
        assert not running.is_halted() and running.is_halted("day")

        running.record_order(run_id, _request("o-1"), venue="bybit", ts=T0)  # a read that misses
        other.record_order(run_id, _request("o-2"), venue="bybit", ts=T0)
        with pytest.raises(JournalError, match="o-2 is already in the journal"):
            running.record_order(run_id, _request("o-2"), venue="bybit", ts=T0)

        assert running.record_fill(run_id, _fill("o-1", "t-1"), venue="bybit")[1]
        other.record_fill(run_id, _fill("o-2", "t-2"), venue="bybit")
        existing, created = running.record_fill(run_id, _fill("o-2", "t-2"), venue="bybit")
        assert not created and existing.client_order_id == "o-2"
        with pytest.raises(JournalError, match="'t-2' at bybit is already journaled"):
            running.record_fill(run_id, _fill("o-1", "t-2"), venue="bybit")
        assert running.verify().ok
    finally:
        running.engine.dispose()
        other.engine.dispose()


def test_no_read_leaves_a_transaction_open(journal_url: str) -> None:
    """What another connection can only do while no transaction or read snapshot is open.

    SQLite: a ``TRUNCATE`` checkpoint completes only when no reader holds a snapshot of the
    WAL (a statement left unfinished keeps one). PostgreSQL: a transaction that has read a
    table holds its ``ACCESS SHARE`` lock until it ends, and ``LOCK ... NOWAIT`` fails on it.
    """
    journal = Journal.open(journal_url)
    run_id = journal.start_run(name="t", mode="paper", capital=1000, strategies=["s"]).run_id
    journal.record_order(run_id, _request("o-1"), venue="bybit", ts=T0)
    journal.record_fill(run_id, _fill("o-1", "t-1"), venue="bybit")
    journal.halt("loss", scope="day")
    assert journal.halted("global", "day") == (False, True)
    probe = make_engine(journal_url)
    try:
        with probe.connect() as conn:
            if probe.dialect.name == "sqlite":
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
                assert busy == 0
            else:
                conn.execute(
                    text("LOCK TABLE halt_events, orders, fills IN ACCESS EXCLUSIVE MODE NOWAIT")
                )
                conn.rollback()
    finally:
        probe.dispose()
        journal.engine.dispose()


def _open_descriptors(path: Path) -> int:
    """How many of this process's file descriptors are open on ``path`` (Linux ``/proc``)."""
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.path.realpath(fd) == str(path.resolve())
        except OSError:  # closed while listing
            continue
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")
def test_the_held_connection_goes_with_the_engine_or_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal.open(f"sqlite:///{path}")
    assert not journal.is_halted()
    assert _open_descriptors(path) >= 1
    journal.engine.dispose()
    assert _open_descriptors(path) == 0  # disposed: the file can be deleted on any OS
    assert not journal.is_halted()  # a read after a dispose opens a new connection
    second = Journal(journal.engine)
    assert not second.is_halted()
    # white box: while another connection of this process holds the file, SQLite defers
    # closing a closed connection's descriptor (POSIX locks are per process), so ask the
    # connection itself
    held = second._halts._reads._connection
    del second
    gc.collect()
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        held.execute("SELECT 1")  # a discarded journal's connection is closed
    journal.engine.dispose()
    assert _open_descriptors(path) == 0


def test_an_in_memory_journal_reads_through_its_pool() -> None:
    """Its database lives in the pool's one connection: a detached one would be empty."""
    journal = Journal.open("sqlite://")
    assert isinstance(journal.engine.pool, SingletonThreadPool)
    run_id = journal.start_run(name="t", mode="paper", capital=1000, strategies=["s"]).run_id
    journal.halt("loss", scope="day")
    assert journal.halted("global", "day") == (False, True)
    journal.record_order(run_id, _request("o-1"), venue="bybit", ts=T0)
    journal.record_fill(run_id, _fill("o-1", "t-1"), venue="bybit")
    fresh = Journal(journal.engine)  # knows nothing of o-1 but what the database holds
    with pytest.raises(JournalError, match="already in the journal"):
        fresh.record_order(run_id, _request("o-1"), venue="bybit", ts=T0)
    assert not fresh.record_fill(run_id, _fill("o-1", "t-1"), venue="bybit")[1]


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it_and_the_reads_recover(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    engine = make_engine(url)
    reads = PointReads(engine)
    with pytest.raises(sqlalchemy.exc.OperationalError, match="no such table: orders"):
        reads.first(_ORDER_EXISTS, {"coid": "o-1"})
    upgrade(engine)
    assert reads.first(_ORDER_EXISTS, {"coid": "o-1"}) is None
    reads._connection.close()  # a connection that broke under the reader (white box)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="closed database"):
        reads.first(_ORDER_EXISTS, {"coid": "o-1"})
    assert reads.first(_ORDER_EXISTS, {"coid": "o-1"}) is None  # on a new connection
    engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        select(Order.created_at),  # a time SQLite stores as text: SQLAlchemy parses it
        select(Order.quantity),  # an exact decimal
        select(Order.client_order_id).where(Order.client_order_id.in_(["a", "b"])),
    ],
    ids=["datetime", "decimal", "expanding"],
)
def test_a_statement_sqlalchemy_would_convert_is_refused(tmp_path: Path, statement) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    with pytest.raises(JournalError, match="point read takes only plain"):
        PointReads(engine).first(statement, {})
    engine.dispose()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_leaves_the_parents_connection_alone(journal_url: str) -> None:
    """A child that disposes the inherited engine (``dispose(close=False)``, SQLAlchemy's
    recipe after a fork) must not close the parent's held connection: on PostgreSQL that
    would end the parent's session."""
    journal = Journal.open(journal_url)
    journal.halt("loss", scope="day")
    assert journal.halted("global", "day") == (False, True)
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into pytest
        code = 1
        try:
            journal.engine.dispose(close=False)
            code = 0 if journal.halted("global", "day") == (False, True) else 2
            journal.engine.dispose()
        finally:
            os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    assert journal.halted("global", "day") == (False, True)  # the parent's connection lives
    journal.engine.dispose()
