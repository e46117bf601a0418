"""A damaged journal never crashes a dashboard page: non-JSON ``runs.config``, unparsable
values and missing tables each give a clear message on every page (Streamlit AppTest). Plus
the run picker's distinct labels, return % and Sharpe beside currency, and the price chart."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.monitoring.dashboard.app import PAGES, run_labels
from crypto_strategy_lab.monitoring.dashboard.views.overview import run_sharpe
from tests.monitoring.seed import CAPITAL, seed_journal
from tests.monitoring.test_dashboard_app import metric, open_page, texts

PAGE_FILES = [p[0] for p in PAGES]


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "journal.sqlite"
    seed_journal(f"sqlite:///{path}")
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    # open_page sets these in os.environ; setenv first so that the teardown removes them
    # again (delenv of an absent variable records nothing to undo)
    for name in ("CSL_JOURNAL_URL", "CSL_DASHBOARD_REFRESH", "CSL_REPORTS_DIR"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def _damaged(seeded_file: Path, tmp_path: Path, *statements: str) -> str:
    path = tmp_path / "damaged.sqlite"
    shutil.copy(seeded_file, path)
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)
    return f"sqlite:///{path}"


DAMAGES = {
    "config_not_json": ("UPDATE runs SET config = 'not json {'",),
    "config_not_object": ("UPDATE runs SET config = '[1, 2]'",),
    "equity_unparsable": (
        "UPDATE equity_blocks SET points = X'78014b040000620062'",
    ),  # zlib of 'a': not JSON
    "equity_block_cut": ("UPDATE equity_blocks SET points = substr(points, 1, 30)",),
    "fill_price_unparsable": ("UPDATE fills SET price = 'x1'",),
    "started_at_unparsable": ("UPDATE runs SET started_at = 'yesterday'",),
    "fills_table_missing": ("DROP TABLE fills",),
    "alerts_table_missing": ("DROP TABLE alert_acks", "DROP TABLE alerts"),
    "signals_table_missing": ("DROP TABLE signals",),
}


@pytest.mark.parametrize("page", PAGE_FILES)
@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_every_page_survives_a_damaged_journal(seeded_file, tmp_path, damage, page):
    url = _damaged(seeded_file, tmp_path, *DAMAGES[damage])
    at = open_page(page, url)  # asserts that no exception escaped the page
    shown = texts(at) + "\n".join(w.value for w in at.warning)
    if damage.startswith("config_"):
        assert "stored config is unreadable" in shown
    for error in at.error:  # the seeded kill switch, or a box naming what could not be read
        value = error.value
        assert value.startswith("Kill switch engaged") or "cannot" in value, value


@pytest.mark.parametrize("damage", ["equity_unparsable", "equity_block_cut"])
def test_unparsable_equity_names_the_problem_on_the_overview(seeded_file, tmp_path, damage):
    at = open_page("overview.py", _damaged(seeded_file, tmp_path, *DAMAGES[damage]))
    [error] = at.error
    assert "This page cannot be drawn from the journal" in error.value
    assert "csl audit verify" in error.value
    assert "equity_blocks id=" in error.value


def test_run_labels_are_distinct():
    runs = pd.DataFrame(
        {
            "run_id": ["abcdef0123456789", "abcdef01ffffffff", "0123456789abcdef"],
            "name": ["paper", "paper", "paper"],
            "mode": ["simulated"] * 3,
            "started_at": [pd.Timestamp("2024-03-01 10:00:05")] * 2 + [pd.NaT],
            "status": ["completed"] * 3,
        }
    )
    labels = run_labels(runs)
    assert len(set(labels)) == 3
    # the first 8 characters of two ids collide, so every label shows 16
    assert labels[0].endswith("abcdef0123456789") and labels[1].endswith("abcdef01ffffffff")
    assert "start unknown" in labels[2]
    assert run_labels(runs.iloc[[0, 2]])[0].endswith("· abcdef01")


def test_sharpe_matches_the_closed_form():
    index = pd.date_range("2024-01-01", periods=500, freq="1h", tz="UTC")
    returns = np.random.default_rng(5).normal(0.0005, 0.01, len(index) - 1)
    equity = pd.Series(1000 * np.cumprod(np.r_[1.0, 1 + returns]), index=index)
    expected = returns.mean() / returns.std(ddof=1) * np.sqrt(365 * 24)  # 365-day year
    assert run_sharpe(equity) == pytest.approx(expected, rel=1e-9)
    assert run_sharpe(equity.iloc[:2]) is None
    assert run_sharpe(pd.Series(1000.0, index=index)) is None


def test_overview_shows_return_and_sharpe_and_the_fills_chart(seeded_file):
    from crypto_strategy_lab.journal import Journal

    url = f"sqlite:///{seeded_file}"
    at = open_page("overview.py", url)
    equity = metric(at, "Equity")
    journal = Journal.open(url)
    [run] = [
        r
        for r in journal.runs()
        if r.run_id == at.session_state["csl_dashboard_context"].run["run_id"]
    ]
    final = float(journal.equity_frame(run.run_id)["equity"].iloc[-1])
    journal.engine.dispose()
    assert f"({final / CAPITAL - 1:+.2%})" in equity.delta
    assert metric(at, "Sharpe (ann.)").value != ""
    figures = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Price and fills" in spec and "buy fills" in spec for spec in figures)
