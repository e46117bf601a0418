"""The journal's read-only frames for monitoring: the trial log's Sharpe ratios."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from crypto_strategy_lab.core.orders import Position
from crypto_strategy_lab.journal import Journal, make_engine
from crypto_strategy_lab.journal.frames import JournalReader
from crypto_strategy_lab.validation.trial_log import TrialLog

from .helpers import populate_research

T0, T1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
D1 = Decimal(1)


def test_trial_sharpe_ratios_are_the_logged_trials_in_order(journal: Journal) -> None:
    populate_research(journal)
    expected = TrialLog(journal.engine).trials()[["strategy", "study", "sr"]]
    frame = JournalReader(journal.engine).trial_sharpe_ratios()
    assert frame is not None and len(frame) == len(expected) > 0
    assert frame.to_dict("records") == expected.to_dict("records")


def test_no_trial_table_is_none(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (run_id TEXT)")
    reader = JournalReader(make_engine(f"sqlite:///{path}", read_only=True))
    assert reader.trial_sharpe_ratios() is None


def test_positions_keep_flat_books_only_when_asked(journal: Journal) -> None:
    run = journal.start_run(name="t", mode="paper", capital=Decimal(1000), strategies=["s"])
    for ts, symbol, quantity in ((T0, "BTC", "0.5"), (T0, "ETH", "1"), (T1, "BTC", "0")):
        held = Position(symbol=symbol, quantity=Decimal(quantity), average_price=D1, venue="v")
        journal.record_position(run.run_id, held, ts=ts, strategy="s", source="venue")
    reader = JournalReader(journal.engine)
    assert list(reader.positions(run.run_id, "venue")["symbol"]) == ["ETH"]
    latest = reader.positions(run.run_id, "venue", flat=True).set_index("symbol")["quantity"]
    assert latest.sort_index().to_dict() == {"BTC": 0.0, "ETH": 1.0}
    assert len(reader.positions(run.run_id, "journal", flat=True)) == 0
