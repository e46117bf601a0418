"""Records that change (runs) against the latest audit event naming them, on both passes.

A run is the one audited record that is written twice (``run.started``, then
``run.finished``): the verifier must compare it with its *latest* event, per run, and the
SQLite fast pass must prove the clean records in SQL instead of handing them to the
record-by-record pass.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import JSON, Boolean, Float, text

from crypto_strategy_lab.journal import Journal, verify_audit_chain
from crypto_strategy_lab.journal import audit as audit_module
from crypto_strategy_lab.journal.audit import AUDITED_MODELS
from tests.journal.helpers import T0, populate


def _two_finished_runs(journal: Journal) -> tuple[str, str]:
    first = journal.start_run(
        name="a", mode="simulated", capital=Decimal("1000"), strategies=["vpin"], started_at=T0
    )
    second = journal.start_run(
        name="b", mode="paper", capital=Decimal("2000"), strategies=["vpin"], started_at=T0
    )
    # interleaved: neither run's events are the last of the table
    journal.finish_run(first.run_id, "completed", ended_at=T0 + timedelta(hours=1))
    journal.finish_run(second.run_id, "stopped", ended_at=T0 + timedelta(hours=2))
    return first.run_id, second.run_id


def test_every_run_is_checked_against_its_own_latest_event(journal: Journal) -> None:
    _two_finished_runs(journal)
    report = verify_audit_chain(journal.engine)
    assert report.ok, report.problems
    assert report.n_events == 4


def test_a_run_reverted_to_its_earlier_audited_version_is_detected(journal: Journal) -> None:
    # the record equals the payload of its run.started event exactly, but the latest event
    # naming it is run.finished: an earlier version is as much an edit as any other
    first, _ = _two_finished_runs(journal)
    with journal.engine.begin() as conn:
        conn.execute(
            text("UPDATE runs SET status = 'running', ended_at = NULL WHERE run_id = :r"),
            {"r": first},
        )
    problems = verify_audit_chain(journal.engine).problems
    assert [p for p in problems if p.startswith(f"runs run_id={first}:")], problems


def test_the_fast_pass_proves_the_records_without_floats_in_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a clean SQLite journal the records go one by one through Python only where SQLite
    cannot write their canonical JSON: a float column or a JSON document (SQLite prints floats
    with 15 digits, not the shortest repr), or a column audited by its SHA-256 (an equity
    block's points: SQLite has no SHA-256). The runs, rewritten once and with JSON documents
    of strings only here, and the orders, with a boolean, are proven in SQL."""
    journal = Journal.open(f"sqlite:///{tmp_path / 'j.sqlite'}")
    populate(journal)
    _two_finished_runs(journal)

    def has(model: type, kind: type) -> bool:
        return any(isinstance(c.type, kind) for c in model.__table__.columns)  # type: ignore[attr-defined]

    in_sql = {
        name
        for name, (model, _key) in AUDITED_MODELS.items()
        if not has(model, Float)
        and not has(model, JSON)
        and not any(c.info.get("audit") for c in model.__table__.columns)  # type: ignore[attr-defined]
    } | {"runs"}
    assert "equity_blocks" not in in_sql and "position_snapshots" in in_sql
    assert has(AUDITED_MODELS["orders"][0], Boolean) and "orders" in in_sql
    compared_in_python: list[str] = []
    exact = audit_module._record_problems

    def spy(conn, table_name, *args):  # type: ignore[no-untyped-def]
        compared_in_python.append(table_name)
        return exact(conn, table_name, *args)

    monkeypatch.setattr(audit_module, "_record_problems", spy)
    with journal.engine.connect() as conn:
        assert audit_module._clean_journal(conn) is not None
    assert compared_in_python  # the journal has records SQLite cannot render
    assert not set(compared_in_python) & in_sql


def test_the_fast_pass_proves_a_chain_longer_than_small_integers(tmp_path: Path) -> None:
    # CPython shares the int objects up to 256 only: the fast pass must compare sequence
    # numbers by value to prove a chain of 300 events, as the exact pass counts them
    from crypto_strategy_lab.journal.audit import append_audit_event

    journal = Journal.open(f"sqlite:///{tmp_path / 'j.sqlite'}")
    with journal.session() as session:
        for k in range(300):
            append_audit_event(session, kind="note", ts=T0, payload={"k": k})
        session.commit()
    report = verify_audit_chain(journal.engine)
    assert report.ok and report.n_events == 300
    with journal.engine.connect() as conn:
        assert audit_module._clean_journal(conn) == (300, report.head_hash)
