"""The journal's read-only frames for monitoring: the trial log's Sharpe ratios."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crypto_strategy_lab.journal import Journal, make_engine
from crypto_strategy_lab.journal.frames import JournalReader
from crypto_strategy_lab.validation.trial_log import TrialLog

from .helpers import populate_research


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
