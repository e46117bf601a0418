"""``csl validate``/``backtest``/``study`` and ``scripts/validate_strategy.py`` on small data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.data.synthetic import ar_bars
from crypto_strategy_lab.research.verdicts import latest_verdict
from crypto_strategy_lab.validation.trial_log import TrialLog

ROOT = Path(__file__).resolve().parents[2]
CSL = ROOT / ".venv" / "bin" / "csl"


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    ar_bars(1500, 0.3, sigma=0.005, seed=5).to_csv(path)
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    # COLUMNS keeps rich from wrapping the one-line errors of a piped console
    return os.environ | {"CSL_DATA_DIR": str(tmp_path / "home"), "COLUMNS": "1000"}


def _common(tmp_path: Path, csv_file: Path) -> list[str]:
    journal = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    return ["--data", str(csv_file), "--quick", "--workers", "1", "--journal", journal,
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip


def test_csl_validate_runs_the_gate_and_stores_the_verdict(tmp_path, csv_file):
    out = subprocess.run(
        [str(CSL), "validate", "--strategy", "lag_autocorr", *_common(tmp_path, csv_file)],
        capture_output=True, text=True, env=_env(tmp_path), timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "gate: lag_autocorr on file:bars.csv" in out.stdout
    for criterion in ("dsr", "track_record", "pbo", "walk_forward"):
        assert criterion in out.stdout
    journal = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    # the quick draws: four of its own axes plus a stops-off, a band and a min-hold variant
    assert len(TrialLog(journal).trials("lag_autocorr")) == 8
    verdict = latest_verdict("lag_autocorr", journal)
    assert verdict is not None
    assert ("— PASS" in out.stdout) == verdict.passed
    # per-strategy and family N, where the trials come from, bets beside bars, calibration
    text = " ".join(out.stdout.split())
    assert "trials: 8 of lag_autocorr (per-strategy N), 8 on this data family" in text
    assert "deflated by 8 trials of 1 strategies" in text
    assert "(datasets: file:bars.csv)" in text  # printed, not eaten as console markup
    assert "independent bets" in text and "beside 1," in text
    assert "gate calibration (50 searches each)" in text and "power at annual SR" in text
    again = subprocess.run(
        [str(CSL), "validate", "--strategy", "lag_autocorr", *_common(tmp_path, csv_file)],
        capture_output=True, text=True, env=_env(tmp_path), timeout=300,
    )  # fmt: skip
    assert "gate calibration (50 searches each, cached)" in " ".join(again.stdout.split())
    assert len(TrialLog(journal).trials("lag_autocorr")) == 8  # a re-run adds no trial


def test_validate_strategy_script(tmp_path, csv_file):
    script = ROOT / "scripts" / "validate_strategy.py"
    out = subprocess.run(
        [sys.executable, str(script), "lag_autocorr", *_common(tmp_path, csv_file)],
        capture_output=True, text=True, env=_env(tmp_path), timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "gate: lag_autocorr" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown strategy 'nope'"),
        (["lag_autocorr", "--data", "/nonexistent/bars.csv"], "data file not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(tmp_path, args, message):
    script = ROOT / "scripts" / "validate_strategy.py"
    out = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True, text=True, env=_env(tmp_path), timeout=300,
    )  # fmt: skip
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr


def test_backtest_and_study_commands(tmp_path, csv_file):
    runner = CliRunner()
    trades = tmp_path / "trades.csv"
    res = runner.invoke(
        app,
        ["backtest", "--strategy", "lag_autocorr", "--data", str(csv_file), "--param",
         "window=96", "--trades-csv", str(trades)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Sharpe (ann.)" in res.output and "taker fee 5.5 bps" in res.output
    assert trades.is_file() and trades.read_text().startswith("entry_time")

    journal = f"sqlite:///{tmp_path / 'study.sqlite'}"
    args = ["study", "--strategy", "lag_autocorr", "--data", str(csv_file), "--param",
            "window=60,90,120", "--param", "lag=1", "--journal", journal, "--workers", "1",
            "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "new trials 3, resumed 0" in first.output
    # progress draws on stderr, and only on a terminal: no bar's last frame in the results
    assert not re.search(r"\d+/\d+ +\d+:\d\d:\d\d", first.output), first.output
    again = runner.invoke(app, args)
    assert "new trials 0, resumed 3" in again.output
    assert len(TrialLog(journal).trials("lag_autocorr")) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--strategy", "lag_autocorr", "--param", "window"], "name=value"),
        (["backtest", "--strategy", "lag_autocorr", "--param", "window=3"], "window"),
        (["study", "--strategy", "lag_autocorr", "--executor", "dask"], "unknown executor"),
    ],
)
def test_bad_options_exit_1(tmp_path, csv_file, args, message):
    res = CliRunner().invoke(app, [*args, "--data", str(csv_file)])
    assert res.exit_code == 1
    assert message in res.output
