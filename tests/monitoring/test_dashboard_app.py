"""Every dashboard page through Streamlit's AppTest against a journal seeded with the
journal's own repository API; plus the empty, missing and corrupt journal states."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from crypto_strategy_lab.monitoring.dashboard.app import PAGES, PAGES_DIR
from crypto_strategy_lab.research.results import CORRELATION_FILE, RESULTS_FILE
from tests.monitoring.seed import Seeded, seed_journal

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "monitoring_dashboard.py"
TIMEOUT = 60


@pytest.fixture(scope="session")
def seeded(tmp_path_factory) -> Seeded:
    path = tmp_path_factory.mktemp("journal") / "journal.sqlite"
    return seed_journal(f"sqlite:///{path}")


@pytest.fixture(scope="session")
def reports_dir(tmp_path_factory) -> Path:
    """A lab report as the lab writes it: the gate table (one row per lab row, each criterion's
    value, the verdict; :mod:`crypto_strategy_lab.research.results`) and the strategy
    correlation matrix."""
    from crypto_strategy_lab.performance.metrics import ReturnMoments
    from crypto_strategy_lab.validation.gate import GateInputs, evaluate_gate

    lab = tmp_path_factory.mktemp("reports") / "lab" / "20240301-run"
    lab.mkdir(parents=True)
    rows = []
    for name, sr, pbo in (("lag_autocorr", 0.12, 0.1), ("vpin", 0.01, 0.7)):
        verdict = evaluate_gate(
            GateInputs(
                strategy=name,
                moments=ReturnMoments(sr=sr, n_obs=5000, skew=0.0, kurtosis=3.0),
                n_trials=20,
                sr_variance=0.0004,
                pbo=pbo,
                walk_forward_sharpe=sr / 2,
            )
        )
        rows.append(
            {"label": f"{name} 1h crypto BTCUSDT", "strategy": name}
            | {c.name: c.value for c in verdict.criteria}
            | {"verdict": "PASS" if verdict.passed else "FAIL"}
        )
    payload = {"gate": rows, "thresholds": {"dsr": 0.95, "pbo": 0.5}}
    (lab / RESULTS_FILE).write_text(json.dumps(payload))
    corr = pd.DataFrame(
        [[1.0, 0.2], [0.2, 1.0]], index=["lag_autocorr", "vpin"], columns=["lag_autocorr", "vpin"]
    )
    corr.to_csv(lab / CORRELATION_FILE)
    (lab / "index.html").write_text("<html></html>")
    return lab.parents[1]


def open_page(page: str, url: str, reports: Path | None = None) -> AppTest:
    os.environ["CSL_JOURNAL_URL"] = url
    os.environ["CSL_DASHBOARD_REFRESH"] = "0"
    os.environ["CSL_REPORTS_DIR"] = str(reports or "/nonexistent-reports")
    at = AppTest.from_file(str(SCRIPT), default_timeout=TIMEOUT).run()
    if page != "overview.py":
        at.switch_page(os.path.relpath(PAGES_DIR / page, SCRIPT.parent)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    # open_page sets these in os.environ; setenv first so that the teardown removes them
    # again (delenv of an absent variable records nothing to undo)
    for name in ("CSL_JOURNAL_URL", "CSL_DASHBOARD_REFRESH", "CSL_REPORTS_DIR"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += (
        [i.value for i in at.info] + [e.value for e in at.error] + [s.value for s in at.success]
    )
    return "\n".join(str(p) for p in parts)


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def test_overview(seeded, reports_dir) -> None:
    at = open_page("overview.py", seeded.url, reports_dir)
    assert at.title[0].value == "Overview"
    assert len(charts(at)) == 4  # equity/drawdown, price with fills, two gauges
    assert metric(at, "Equity").value == f"{seeded.final_equity:,.2f}"
    assert metric(at, "Kill switch").value == "HALTED"
    assert any("operator ran csl kill" in e.value for e in at.error)
    venues = at.dataframe[-1].value
    assert venues.loc[0, "venue"] == "bybit" and venues.loc[0, "status"] == "error"
    # the run picker lists both runs and selects the latest (the paper run)
    assert "paper-demo" in at.sidebar.selectbox[0].format_func(at.sidebar.selectbox[0].value)


def test_positions_and_orders(seeded) -> None:
    at = open_page("positions.py", seeded.url)
    assert metric(at, "Open positions").value == "1"
    assert metric(at, "Open orders").value == "3"  # a resting limit buy + the short's SL/TP
    assert metric(at, "Fills").value == "6"
    assert metric(at, "Rejected orders").value == "1"
    positions = at.dataframe[0].value
    [row] = positions.to_dict("records")
    assert row["strategy"] == "lag_autocorr" and row["quantity"] == pytest.approx(-0.005)
    assert row["levels_from"] == "resting orders"
    assert row["stop_loss"] == pytest.approx(seeded.short_stop)  # not the cancelled pair's
    assert row["take_profit"] == pytest.approx(seeded.short_target)
    assert not at.warning  # the open position has a stop
    frames = [d.value for d in at.dataframe]
    venue_rejects = frames[-2]
    assert "110007" in venue_rejects["reason"].iloc[0]
    assert frames[-1]["rule"].iloc[0] == "portfolio_heat"


def test_strategies(seeded) -> None:
    at = open_page("strategies.py", seeded.url)
    # P&L curves, attribution x2, factor split, rolling Sharpe (drift needs a reference pick)
    assert len(charts(at)) == 5
    attribution = at.dataframe[0].value.set_index("strategy")
    for name, realised in seeded.realized.items():
        assert attribution.loc[name, "realized_pnl"] == pytest.approx(realised, abs=1e-6)
    assert not at.warning  # the seeded fills reproduce the seeded positions
    # fills + marks explain the whole equity change of the seeded run (no funding there)
    [note] = [c.value for c in at.caption if "unattributed" in c.value]
    assert "unattributed +0.00" in note or "unattributed -0.00" in note
    at.selectbox(key="st_reference").select_index(1).run()
    assert not at.exception
    assert len(charts(at)) == 6
    assert metric(at, "Return gap (live - reference)").value.endswith("%")


def test_risk(seeded) -> None:
    at = open_page("risk.py", seeded.url)
    assert len(charts(at)) == 1
    usage = at.dataframe[0].value.set_index("limit")
    assert usage.loc["Daily loss", "limit value"] == pytest.approx(0.04)  # run config override
    assert usage.loc["Portfolio heat (gross exposure)", "limit value"] == pytest.approx(0.5)
    assert "Venue exposure: bybit" in usage.index
    assert metric(at, "reject").value == "1" and metric(at, "resize").value == "1"
    assert metric(at, "approve").value == "6"


def test_research_with_lab_report(seeded, reports_dir) -> None:
    at = open_page("research.py", seeded.url, reports_dir)
    gate = at.dataframe[0].value.set_index("strategy")
    assert gate.loc["lag_autocorr", "verdict"] == "PASS"
    assert gate.loc["vpin", "verdict"] == "FAIL"
    assert gate.loc["vpin", "pbo"] == pytest.approx(0.7)
    assert len(charts(at)) == 3  # DSR, PBO, correlation heatmap
    trials = at.dataframe[1].value.set_index("strategy")
    assert trials.loc["lag_autocorr", "trials"] == 3 and trials.loc["vpin", "trials"] == 2
    srs = seeded.trial_srs["lag_autocorr"]
    assert trials.loc["lag_autocorr", "var_sr"] == pytest.approx(np.var(srs, ddof=1))


def test_research_without_report(seeded) -> None:
    at = open_page("research.py", seeded.url)
    assert "No lab report" in texts(at)


def test_alerts(seeded) -> None:
    at = open_page("alerts.py", seeded.url)
    table = at.dataframe[0].value
    assert len(table) == 2
    acked = table.set_index("source")
    assert (
        bool(acked.loc["drawdown", "acknowledged"])
        and acked.loc["drawdown", "acknowledged_by"] == "alice"
    )
    assert not bool(acked.loc["venue_errors", "acknowledged"])
    assert metric(at, "unacknowledged").value == "1"
    at.toggle[0].set_value(True).run()
    assert len(at.dataframe[0].value) == 1


@pytest.mark.parametrize("page", [p[0] for p in PAGES])
def test_empty_journal_shows_empty_state(tmp_path, page) -> None:
    from crypto_strategy_lab.journal import Journal

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    Journal.open(url).engine.dispose()
    at = open_page(page, url)
    assert not at.error
    if page == "research.py":
        assert "No lab report" in texts(at)
    else:
        assert "no runs" in texts(at)


def test_missing_journal_is_a_clear_message(tmp_path) -> None:
    at = open_page("overview.py", f"sqlite:///{tmp_path / 'nope.sqlite'}")
    [error] = at.error
    assert "missing" in error.value and "nope.sqlite" in error.value and "csl paper" in error.value


def test_corrupt_journal_is_a_clear_message(tmp_path) -> None:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    at = open_page("positions.py", f"sqlite:///{path}")
    [error] = at.error
    assert "corrupt" in error.value and "not readable" in error.value
