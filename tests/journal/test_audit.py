"""The audit chain detects every edit, deletion and insertion made behind the journal's back."""

from __future__ import annotations

import zlib
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.core.enums import OrderSide
from crypto_strategy_lab.core.orders import Fill
from crypto_strategy_lab.journal import Journal, verify_audit_chain
from crypto_strategy_lab.journal.audit import (
    AUDITED_MODELS,
    GENESIS_HASH,
    WRITTEN_ONCE,
    chain_hash,
)
from tests.journal.helpers import T0, legacy_equity_point, populate


def _sql(journal: Journal, statement: str, **params: object) -> None:
    with journal.engine.begin() as conn:
        conn.execute(text(statement), params)


def _problems(journal: Journal) -> list[str]:
    report = verify_audit_chain(journal.engine)
    return report.problems


def test_untouched_journal_verifies(journal: Journal) -> None:
    populate(journal)
    report = journal.verify()
    assert report.ok, report.problems
    assert report.n_events == 16 + 5  # trading rows + research rows (populate_research)
    assert report.head_hash != GENESIS_HASH


def test_negative_zero_floats_verify(journal: Journal) -> None:
    """SQLite returns a stored -0.0 as 0.0; canonical JSON writes both as 0.0 so a record
    with a negative zero (a flat short signal, a statistic) still verifies."""
    from datetime import UTC, datetime

    from crypto_strategy_lab.core.enums import SignalAction
    from crypto_strategy_lab.core.signal import Signal
    from crypto_strategy_lab.journal.types import canonical_json

    assert canonical_json({"a": -0.0, "b": [-0.0]}) == canonical_json({"a": 0.0, "b": [0.0]})
    run = journal.start_run(name="z", mode="simulated", capital=1, strategies=["vpin"])
    journal.record_signal(
        run.run_id,
        Signal(
            strategy="vpin",
            symbol="BTCUSDT",
            timestamp=datetime(2024, 1, 1, tzinfo=UTC),
            action=SignalAction.HOLD,
            strength=-0.0,
            price=100.0,
            statistics={"vpin": -0.0},
        ),
    )
    report = journal.verify()
    assert report.ok, report.problems


def test_edited_audit_payload_is_detected(journal: Journal) -> None:
    populate(journal)
    _sql(journal, "UPDATE audit_events SET payload = :p WHERE seq = 5", p='{"forged":1}')
    problems = _problems(journal)
    assert any("audit seq 5: content does not match its hash" in p for p in problems)


def test_edited_audit_row_with_recomputed_hash_breaks_the_next_link(journal: Journal) -> None:
    populate(journal)
    with journal.engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_events WHERE seq = 4")).mappings().one()
        content = {k: row[k] for k in ("seq", "ts", "kind", "entity_table", "entity_key")}
        content |= {"run_id": row["run_id"], "payload": '{"forged":1}'}
        new_hash = chain_hash(row["prev_hash"], content)
        conn.execute(
            text("UPDATE audit_events SET payload = :p, hash = :h WHERE seq = 4"),
            {"p": '{"forged":1}', "h": new_hash},
        )
    problems = _problems(journal)
    assert any("audit seq 5: prev_hash does not match" in p for p in problems)


def test_deleted_audit_row_is_detected(journal: Journal) -> None:
    populate(journal)
    _sql(journal, "DELETE FROM audit_events WHERE seq = 7")
    problems = _problems(journal)
    assert any("audit seq 8: expected seq 7" in p for p in problems)
    assert any("audit seq 8: prev_hash does not match" in p for p in problems)


def test_inserted_audit_row_is_detected(journal: Journal) -> None:
    populate(journal)
    with journal.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 6"))
        conn.execute(text("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1006"))
        ts = conn.execute(text("SELECT ts FROM audit_events WHERE seq = 5")).scalar_one()
        fake_prev = "ab" * 32
        content = {
            "seq": 6,
            "ts": ts,
            "kind": "fill",
            "entity_table": None,
            "entity_key": None,
            "run_id": None,
            "payload": "{}",
        }
        conn.execute(
            text(
                "INSERT INTO audit_events (seq, ts, run_id, kind, entity_table, entity_key, "
                "payload, prev_hash, hash) VALUES (6, :ts, NULL, 'fill', NULL, NULL, '{}', "
                ":prev, :hash)"
            ),
            {"ts": ts, "prev": fake_prev, "hash": chain_hash(fake_prev, content)},
        )
    problems = _problems(journal)
    assert any("audit seq 6: prev_hash does not match" in p for p in problems)
    assert any("audit seq 7: prev_hash does not match" in p for p in problems)


def test_edited_fill_is_detected(journal: Journal) -> None:
    populate(journal)
    _sql(journal, "UPDATE fills SET price = '1' WHERE trade_id = 'T1'")
    problems = _problems(journal)
    assert any(p.startswith("fills id=") and "edited" in p for p in problems)


def test_edited_order_state_is_detected(journal: Journal) -> None:
    populate(journal)
    _sql(journal, "UPDATE order_events SET status = 'cancelled' WHERE status = 'filled'")
    problems = _problems(journal)
    assert any(p.startswith("order_events id=") and "edited" in p for p in problems)


def test_deleted_record_is_detected(journal: Journal) -> None:
    populate(journal)
    _sql(journal, "DELETE FROM halt_events")
    problems = _problems(journal)
    assert any(p.startswith("halt_events id=") and "deleted" in p for p in problems)


def test_record_inserted_outside_the_journal_is_detected(journal: Journal) -> None:
    run_id = populate(journal)
    _sql(
        journal,
        "INSERT INTO alerts (run_id, ts, severity, source, message, details) "
        "VALUES (:r, '2024-03-01 12:00:00', 'info', 'x', 'forged', '{}')",
        r=run_id,
    )
    problems = _problems(journal)
    assert any(p.startswith("alerts id=") and "inserted" in p for p in problems)


def test_expected_head_detects_tail_deletion(journal: Journal) -> None:
    populate(journal)
    head = journal.verify().head_hash
    journal.audit("later.event", {"n": 1})
    assert journal.verify(expected_head=head).ok  # a grown chain still contains the head
    # the newest row (a gate verdict, seq 21) deleted together with its audit events
    _sql(journal, "DELETE FROM gate_verdicts WHERE id = 2")
    _sql(journal, "DELETE FROM audit_events WHERE seq >= 21")
    assert journal.verify().ok  # the chain alone cannot see it...
    assert not journal.verify(expected_head=head).ok  # ...the recorded head can


def test_cli_audit_verify(journal: Journal, journal_url: str) -> None:
    populate(journal)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--journal", journal_url])
    assert ok.exit_code == 0, ok.output
    assert "21 audit events verified" in ok.output
    _sql(journal, "UPDATE fills SET fee = '0' WHERE trade_id = 'T0'")
    bad = runner.invoke(app, ["audit", "verify", "--journal", journal_url])
    assert bad.exit_code == 1
    assert "FAILED" in bad.output and "fills id=" in bad.output


# Every audited table, with one edit that changes a row's content.
_EDITS = {
    "runs": "UPDATE runs SET capital = '1'",
    "orders": "UPDATE orders SET quantity = '9'",
    "order_events": "UPDATE order_events SET reason = 'x' WHERE seq = 1",
    "fills": "UPDATE fills SET fee = '0' WHERE trade_id = 'T0'",
    "position_snapshots": "UPDATE position_snapshots SET quantity = '-0.02'",
    "equity_curve": "UPDATE equity_curve SET equity = '1000000'",
    "equity_blocks": "one point of the block, decompressed, edited and compressed again",
    "signals": "UPDATE signals SET strength = -1.0",
    "risk_events": "UPDATE risk_events SET approved_quantity = '0.03'",
    "alerts": "UPDATE alerts SET message = 'nothing to see'",
    "alert_acks": "UPDATE alert_acks SET acknowledged_by = 'mallory'",
    "halt_events": "UPDATE halt_events SET action = 'rearm'",
    "trials": "UPDATE trials SET sr = 0.5 WHERE id = 1",
    "data_fingerprints": "UPDATE data_fingerprints SET family = 'elsewhere'",
    "gate_verdicts": "UPDATE gate_verdicts SET passed = NOT passed WHERE id = 1",
}


def _populate_with_a_legacy_equity_point(journal: Journal) -> None:
    """:func:`populate`, plus the ``equity_curve`` row a journal from before 0007 holds."""
    run_id = populate(journal)
    legacy_equity_point(journal, run_id, T0, Decimal("10000"))
    assert journal.verify().ok


def test_every_audited_table_has_an_edit_case() -> None:
    assert set(_EDITS) == set(AUDITED_MODELS)


def _edit_an_equity_point(journal: Journal) -> None:
    """Rewrite a block's points as an attacker who knows the format would."""
    with journal.engine.begin() as conn:
        block_id, stored = conn.execute(text("SELECT id, points FROM equity_blocks")).one()
        edited = zlib.decompress(stored).replace(b'"9999.35"', b'"9999.36"')
        assert edited != zlib.decompress(stored)
        conn.execute(
            text("UPDATE equity_blocks SET points = :p WHERE id = :i"),
            {"p": zlib.compress(edited, 1), "i": block_id},
        )


@pytest.mark.parametrize("table", sorted(_EDITS))
def test_an_edit_of_every_audited_table_is_detected(journal: Journal, table: str) -> None:
    _populate_with_a_legacy_equity_point(journal)
    if table == "equity_blocks":
        _edit_an_equity_point(journal)
    else:
        _sql(journal, _EDITS[table])
    problems = _problems(journal)
    assert any(p.startswith(f"{table} ") and "edited" in p for p in problems), problems


@pytest.mark.parametrize("table", sorted(WRITTEN_ONCE))
def test_a_deletion_from_every_append_only_table_is_detected(journal: Journal, table: str) -> None:
    _populate_with_a_legacy_equity_point(journal)
    key = AUDITED_MODELS[table][1]
    with journal.engine.connect() as conn:
        newest = conn.execute(text(f"SELECT max({key}) FROM {table}")).scalar()
    _sql_without_foreign_keys(journal, f"DELETE FROM {table} WHERE {key} = :k", k=newest)
    problems = _problems(journal)
    assert any(p.startswith(f"{table} {key}={newest}:") and "deleted" in p for p in problems)


def _sql_without_foreign_keys(journal: Journal, statement: str, **params: object) -> None:
    """Tamper as an attacker with a database shell would: references are not enforced.

    SQLite enforces them only per connection (``PRAGMA foreign_keys``); on PostgreSQL the
    tables' owner, which the journal's role is, can drop the constraints that would block
    the deletion (each test has its own schema, dropped afterwards).
    """
    with journal.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        else:
            inspector = inspect(conn)
            with conn.begin():
                for table in inspector.get_table_names():
                    for fk in inspector.get_foreign_keys(table):
                        conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{fk["name"]}"')
        with conn.begin():
            conn.execute(text(statement), params)
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def _newest_fill(journal: Journal) -> int:
    with journal.engine.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM fills")).scalar())


def _one_more_fill(journal: Journal, run_id: str) -> None:
    journal.record_fill(
        run_id,
        Fill(
            order_id="V1",
            client_order_id="csl-test-order-1",
            symbol="BTCUSDT",
            side=OrderSide.BUY,
            quantity=Decimal("0.01"),
            price=Decimal("50020"),
            fee=Decimal("0.275"),
            timestamp=T0 + timedelta(minutes=5),
            trade_id="T-later",
        ),
        venue="simulated",
    )


def test_a_deleted_fill_stays_detected_after_later_fills(journal: Journal) -> None:
    """Issue 12: deleting the newest fill and trading on laundered the deletion (SQLite gave
    the next fill the freed id). Ids are never reused, so the gap stays visible."""
    run_id = populate(journal)
    newest = _newest_fill(journal)
    _sql(journal, "DELETE FROM fills WHERE id = :i", i=newest)
    _one_more_fill(journal, run_id)
    assert _newest_fill(journal) == newest + 1  # the freed id was not handed out again
    problems = _problems(journal)
    assert any(p.startswith(f"fills id={newest}:") and "deleted" in p for p in problems)


def test_a_reused_id_is_detected_even_when_the_database_reuses_it(
    journal: Journal, journal_url: str
) -> None:
    """Even if the id is handed out again (a journal from before AUTOINCREMENT, a reset
    sequence), the row named by two audit events shows the deletion."""
    run_id = populate(journal)
    newest = _newest_fill(journal)
    _sql(journal, "DELETE FROM fills WHERE id = :i", i=newest)
    if journal_url.startswith("sqlite"):
        _sql(journal, "UPDATE sqlite_sequence SET seq = seq - 1 WHERE name = 'fills'")
    else:
        _sql(journal, "SELECT setval(pg_get_serial_sequence('fills', 'id'), :i)", i=newest - 1)
    _one_more_fill(journal, run_id)
    assert _newest_fill(journal) == newest  # the id was reused
    problems = _problems(journal)
    assert any(
        p.startswith(f"fills id={newest}:") and "written by 2 audit events" in p for p in problems
    ), problems


def test_the_genesis_head_is_the_head_of_any_chain(journal: Journal) -> None:
    # "I recorded the head before anything was written" is a valid claim about every journal:
    # the genesis value (compared by value, not identity) is never looked up among the events.
    populate(journal)
    genesis = "".join(["0"] * 64)  # equal to GENESIS_HASH, not the same object
    assert genesis == GENESIS_HASH
    assert journal.verify(expected_head=genesis).ok
    assert not journal.verify(expected_head="f" * 64).ok  # a head never written is refused
