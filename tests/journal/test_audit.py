"""The audit chain detects every edit, deletion and insertion made behind the journal's back."""

from __future__ import annotations

from sqlalchemy import text
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.journal import Journal, verify_audit_chain
from crypto_strategy_lab.journal.audit import GENESIS_HASH, chain_hash
from tests.journal.helpers import populate


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
    assert report.n_events == 16
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
    _sql(journal, "DELETE FROM audit_events WHERE seq >= 16")
    assert journal.verify().ok  # the chain alone cannot see it...
    assert not journal.verify(expected_head=head).ok  # ...the recorded head can


def test_cli_audit_verify(journal: Journal, journal_url: str) -> None:
    populate(journal)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--journal", journal_url])
    assert ok.exit_code == 0, ok.output
    assert "16 audit events verified" in ok.output
    _sql(journal, "UPDATE fills SET fee = '0' WHERE trade_id = 'T0'")
    bad = runner.invoke(app, ["audit", "verify", "--journal", journal_url])
    assert bad.exit_code == 1
    assert "FAILED" in bad.output and "fills id=" in bad.output
