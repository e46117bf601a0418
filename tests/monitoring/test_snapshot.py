"""Alert rules on a snapshot built from a seeded journal, delivered to a local webhook."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from crypto_strategy_lab.monitoring.alerts import default_rules, evaluate_rules
from crypto_strategy_lab.monitoring.reader import JournalReader, open_readonly
from crypto_strategy_lab.monitoring.sinks import AlertRouter, WebhookSink
from crypto_strategy_lab.monitoring.snapshot import journal_snapshot, reconciliation_mismatches
from tests.monitoring.seed import N_BARS, START, seed_journal


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    return seed_journal(f"sqlite:///{tmp_path_factory.mktemp('snap') / 'journal.sqlite'}")


def test_snapshot_from_journal(seeded) -> None:
    reader = JournalReader(open_readonly(seeded.url))
    now = START + timedelta(hours=N_BARS + 2)  # two hours after the last bar
    snap = journal_snapshot(reader, seeded.run_id, now)
    assert snap.equity == pytest.approx(seeded.final_equity)
    equity = reader.equity(seeded.run_id)["equity"]
    assert snap.peak_equity == pytest.approx(equity.max())
    assert snap.kill_switch_active and snap.kill_switch_reason == "operator ran csl kill"
    assert set(snap.last_data_at) == {"BTCUSDT", "ETHUSDT"}
    assert len(snap.reject_times) == 2  # one venue reject, one risk reject
    assert snap.reconciliation_mismatches == []  # no venue-side snapshots in the seed
    assert journal_snapshot(reader, seeded.reference_run_id, now).kill_switch_active


def test_rules_on_journal_snapshot_reach_the_webhook(seeded, webhook_receiver) -> None:
    reader = JournalReader(open_readonly(seeded.url))
    now = START + timedelta(hours=N_BARS + 2)
    alerts = evaluate_rules(default_rules(), journal_snapshot(reader, seeded.run_id, now))
    rules = {a.rule for a in alerts}
    assert {"kill_switch", "stale_data"} <= rules  # last bar 3 h old >= 2 h
    sent = AlertRouter([WebhookSink(webhook_receiver.url, "slack")]).dispatch(alerts)
    assert len(webhook_receiver.bodies) == len(sent) == len(alerts)
    assert "[CRITICAL] kill_switch" in webhook_receiver.bodies[0]["text"]


def test_reconciliation_mismatches() -> None:
    ours = pd.DataFrame(
        {"venue": ["bybit", "bybit"], "symbol": ["BTC", "BTC"], "quantity": [1.0, -0.4]}
    )
    same = pd.DataFrame({"venue": ["bybit"], "symbol": ["BTC"], "quantity": [0.6]})
    assert reconciliation_mismatches(ours, same) == []
    other = pd.DataFrame({"venue": ["bybit"], "symbol": ["BTC"], "quantity": [0.5]})
    assert reconciliation_mismatches(ours, other) == ["bybit BTC: venue 0.5 vs journal 0.6"]


def test_reconciliation_mismatches_with_flat_books() -> None:
    """A flat venue row is a report (venue 0), a pair without journal rows is journal-flat."""

    def frame(quantity: float) -> pd.DataFrame:
        return pd.DataFrame({"venue": ["bybit"], "symbol": ["BTC"], "quantity": [quantity]})

    none = pd.DataFrame(columns=["venue", "symbol", "quantity"])
    assert reconciliation_mismatches(frame(0.5), frame(0.0)) == [
        "bybit BTC: venue 0 vs journal 0.5"
    ]
    assert reconciliation_mismatches(none, frame(0.3)) == ["bybit BTC: venue 0.3 vs journal 0"]
    assert reconciliation_mismatches(frame(0.0), frame(0.3)) == [
        "bybit BTC: venue 0.3 vs journal 0"
    ]
    assert reconciliation_mismatches(frame(0.0), frame(0.0)) == []
    assert reconciliation_mismatches(none, frame(0.0)) == []
    assert reconciliation_mismatches(frame(0.5), none) == []  # no reconciliation reported yet
