"""Finding and reading the lab's latest report: long and wide gate tables, bad files."""

from __future__ import annotations

import json
import os

import pandas as pd

from crypto_strategy_lab.monitoring.dashboard.lab_reports import load_latest_report, widen_gate
from crypto_strategy_lab.research.results import RESULTS_FILE


def test_no_report(tmp_path) -> None:
    assert load_latest_report(tmp_path) is None
    (tmp_path / "lab").mkdir()
    assert load_latest_report(tmp_path) is None


def test_latest_directory_wins_and_wide_gate_passes_through(tmp_path) -> None:
    old, new = tmp_path / "lab" / "old", tmp_path / "lab" / "new"
    for d in (old, new):
        d.mkdir(parents=True)
    (old / RESULTS_FILE).write_text(json.dumps({"gate": [{"strategy": "a", "dsr": 0.5}]}))
    rows = [{"strategy": "b", "deflated_sharpe": 0.99, "pbo": 0.2, "params": {"lag": 1}}]
    (new / RESULTS_FILE).write_text(json.dumps({"gate": rows, "thresholds": {"pbo": 0.5}}))
    os.utime(old, (1_000, 1_000))
    report = load_latest_report(tmp_path)
    assert report.run_id == "new"
    assert report.gate["strategy"].tolist() == ["b"]
    assert report.metric_columns("dsr", "deflated") == ["deflated_sharpe"]
    assert report.gate["params"].tolist() == ['{"lag": 1}']  # nested values shown as text
    assert report.thresholds == {"pbo": 0.5}
    assert report.correlation is None and report.html is None


def test_long_gate_is_pivoted_with_thresholds() -> None:
    long = pd.DataFrame(
        {
            "strategy": ["a", "a", "b", "b"],
            "criterion": ["dsr", "pbo", "dsr", "pbo"],
            "value": [0.97, 0.2, 0.9, 0.6],
            "threshold": [0.95, 0.5, 0.95, 0.5],
            "passed": [True, True, False, False],
        }
    )
    wide, thresholds = widen_gate(long)
    wide = wide.set_index("strategy")
    assert wide.loc["a", "verdict"] == "PASS" and wide.loc["b", "verdict"] == "FAIL"
    assert wide.loc["b", "pbo"] == 0.6
    assert thresholds == {"dsr": 0.95, "pbo": 0.5}


def test_unreadable_gate_file_is_reported(tmp_path) -> None:
    run = tmp_path / "lab" / "r1"
    run.mkdir(parents=True)
    (run / RESULTS_FILE).write_text("{not json")
    report = load_latest_report(tmp_path)
    assert report.gate is None
    assert report.problems and RESULTS_FILE in report.problems[0]
