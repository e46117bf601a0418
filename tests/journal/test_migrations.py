"""The Alembic migration creates exactly the schema the models declare."""

from __future__ import annotations

from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from crypto_strategy_lab.journal import make_engine
from crypto_strategy_lab.journal.metadata import load_all_models
from crypto_strategy_lab.journal.migrate import alembic_config, current_revision, upgrade


def _head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrating_an_empty_database_matches_the_models(journal_url: str) -> None:
    engine = make_engine(journal_url)
    assert inspect(engine).get_table_names() == []
    upgrade(engine)
    metadata = load_all_models()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert current_revision(engine) is not None
    # upgrading again is a no-op
    upgrade(engine)
    engine.dispose()


def test_sqlite_journal_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'j.sqlite'}")
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    engine.dispose()


def test_only_a_replay_journal_commits_with_synchronous_normal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Venue modes are durable per commit (FULL, the default); a replay opts into NORMAL."""
    from crypto_strategy_lab.cli.trading_cmd import _journal

    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    for replay, level in ((False, 2), (True, 1)):
        journal = _journal(url, replay=replay)
        with journal.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == level
        journal.engine.dispose()


def test_migration_to_never_reused_ids_keeps_every_row_and_the_chain(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0004 rebuilds the append-only tables with AUTOINCREMENT: ids, references and the audit
    chain survive, and the next id continues after the largest one."""
    from crypto_strategy_lab.journal import Journal
    from tests.journal.helpers import populate_trading

    engine = make_engine(f"sqlite:///{tmp_path / 'j.sqlite'}")
    upgrade(engine, "0003")
    journal = Journal(engine)
    # populate's trial log would migrate to head before the copy; equity as 0003 stored it
    populate_trading(journal, legacy_equity=True)
    assert current_revision(engine) == "0003"
    with engine.connect() as conn:
        before = {
            t: conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in inspect(engine).get_table_names()
            if t != "alembic_version"
        }
    upgrade(engine)
    assert current_revision(engine) == _head()
    with engine.connect() as conn:
        after = {
            t: conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in before
        }
        ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'fills'").scalar()
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert after == before
    assert "AUTOINCREMENT" in ddl
    assert journal.verify().ok
    engine.dispose()


def test_migration_adopts_a_trial_table_created_before_it(journal_url: str) -> None:
    """TrialLog may create ``trials`` in an unmigrated journal; migrating must still work."""
    from crypto_strategy_lab.journal.trials import TrialRecord

    engine = make_engine(journal_url)
    TrialRecord.__table__.create(engine)
    upgrade(engine)
    assert "trials" in inspect(engine).get_table_names()
    assert current_revision(engine) == _head()
    engine.dispose()


def test_gate_verdicts_are_migrated_and_an_early_table_is_adopted(journal_url: str) -> None:
    """``gate_verdicts`` is part of the migrated schema; a table ``VerdictStore`` created in an
    unmigrated journal is adopted, and its rows stay readable."""
    from crypto_strategy_lab.research.verdicts import VerdictStore, latest_verdict
    from crypto_strategy_lab.validation.gate import Criterion, GateVerdict

    assert "gate_verdicts" in load_all_models().tables
    engine = make_engine(journal_url)
    store = VerdictStore(engine)  # creates the table before any migration
    verdict = GateVerdict("vpin", (Criterion("dsr", 0.97, 0.95, ">=", True, ""),))
    store.save("lab-1", verdict, symbol="BTCUSDT", params={"window": 50})
    upgrade(engine)
    assert current_revision(engine) == _head()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, load_all_models()) == []
    stored = latest_verdict("vpin", engine)
    assert stored is not None and stored.passed
    engine.dispose()


def test_migration_0006_drops_the_hash_indexes_and_keeps_the_chain(journal_url: str) -> None:
    """0006 removes the unique indexes on the audit hashes: every row survives, the chain
    verifies and writing goes on."""
    from datetime import timedelta

    from crypto_strategy_lab.journal import Journal
    from tests.journal.helpers import T0, legacy_equity_point, populate

    engine = make_engine(journal_url)
    upgrade(engine, "0005")
    journal = Journal(engine)  # writes at 0005 (populate's trial log would migrate to head)
    run = journal.start_run(name="pre-0006", mode="simulated", capital=1, strategies=["s"])
    for i in range(5):  # equity as 0005 stored it: a row per point
        legacy_equity_point(journal, run.run_id, T0 + timedelta(minutes=i), Decimal(i))
    journal.audit("exchange.order.request", {"i": 1}, run_id=run.run_id)
    assert current_revision(engine) == "0005"
    with engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT * FROM audit_events ORDER BY seq").fetchall()
    assert len(before) == 7
    assert {"hash", "prev_hash"} <= _unique_columns(engine)
    upgrade(engine)
    assert current_revision(engine) == _head()
    assert _unique_columns(engine) & {"hash", "prev_hash"} == set()
    with engine.connect() as conn:
        after = conn.exec_driver_sql("SELECT * FROM audit_events ORDER BY seq").fetchall()
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, load_all_models()) == []
    assert after == before
    populate(journal)  # appends after the copy
    assert journal.verify().ok
    engine.dispose()


def test_migration_0007_keeps_the_equity_rows_and_readers_merge_them_with_blocks(
    journal_url: str,
) -> None:
    """A journal from before 0007 holds a row per equity point: after the upgrade the rows and
    their chain are unchanged, new points go to blocks, and every reader (the journal's
    frames, the dashboard's reader, the resume's checkpoint and peak) sees both, in time
    order, the exact amounts kept."""
    from datetime import timedelta

    from crypto_strategy_lab.journal import Journal
    from crypto_strategy_lab.journal.frames import JournalReader
    from tests.journal.helpers import T0, legacy_equity_point

    engine = make_engine(journal_url)
    upgrade(engine, "0006")
    journal = Journal(engine)
    run = journal.start_run(name="pre-0007", mode="simulated", capital=1, strategies=["s"])
    old = [Decimal("10000.000000000000000001"), Decimal("10050"), Decimal("9990")]
    for i, equity in enumerate(old):
        legacy_equity_point(journal, run.run_id, T0 + timedelta(minutes=i), equity)
    with engine.connect() as conn:
        before = conn.exec_driver_sql("SELECT * FROM equity_curve ORDER BY id").fetchall()
    upgrade(engine)
    assert current_revision(engine) == _head()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT * FROM equity_curve ORDER BY id").fetchall() == before
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, load_all_models()) == []
    new = [Decimal("10001.5"), Decimal("10100.25")]
    with journal.batch():
        for i, equity in enumerate(new, start=len(old)):
            journal.record_equity(run.run_id, ts=T0 + timedelta(minutes=i), equity=equity, cash=1)
    points = journal.equity_points(run.run_id)
    assert list(points["equity"]) == old + new
    assert list(points["ts"]) == [T0 + timedelta(minutes=i) for i in range(5)]
    assert list(JournalReader(engine).equity(run.run_id)["equity"]) == [float(v) for v in old + new]
    assert journal.peak_equity(run.run_id) == Decimal("10100.25")
    assert journal.last_equity_time(run.run_id) == T0 + timedelta(minutes=4)
    assert journal.equity_at_or_before(run.run_id, T0 + timedelta(minutes=2)) == Decimal("9990")
    assert journal.verify().ok
    engine.dispose()


def _unique_columns(engine) -> set[str]:  # type: ignore[no-untyped-def]
    """Columns of ``audit_events`` that a single-column unique index covers (SQLite's
    automatic indexes included, which the inspector does not list)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            found = set()
            for row in conn.exec_driver_sql("PRAGMA index_list(audit_events)"):
                if row[2]:  # unique
                    cols = conn.exec_driver_sql(f"PRAGMA index_info('{row[1]}')").fetchall()
                    if len(cols) == 1:
                        found.add(cols[0][2])
            return found
    insp = inspect(engine)
    return {
        c["column_names"][0]
        for c in insp.get_unique_constraints("audit_events")
        if len(c["column_names"]) == 1
    }
