"""The Alembic migration creates exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from crypto_strategy_lab.journal import make_engine
from crypto_strategy_lab.journal.metadata import load_all_models
from crypto_strategy_lab.journal.migrate import current_revision, upgrade


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
    engine.dispose()


def test_migration_adopts_a_trial_table_created_before_it(journal_url: str) -> None:
    """TrialLog may create ``trials`` in an unmigrated journal; migrating must still work."""
    from crypto_strategy_lab.journal.trials import TrialRecord

    engine = make_engine(journal_url)
    TrialRecord.__table__.create(engine)
    upgrade(engine)
    assert "trials" in inspect(engine).get_table_names()
    assert current_revision(engine) == "0003"
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
    assert current_revision(engine) == "0003"
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, load_all_models()) == []
    stored = latest_verdict("vpin", engine)
    assert stored is not None and stored.passed
    engine.dispose()
