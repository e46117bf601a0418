"""The `csl` entry point: help lists the groups, errors are one clear line without traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CSL = [sys.executable, "-m", "crypto_strategy_lab.cli.main"]
REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path | None = None, env: dict | None = None):
    return subprocess.run(
        [*CSL, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_help_lists_config_group():
    result = run("--help")
    assert result.returncode == 0
    assert "config" in result.stdout


def test_config_validate_missing_file_is_one_line(tmp_path):
    result = run("config", "validate", str(tmp_path / "missing.yaml"))
    assert result.returncode == 1
    assert "config file not found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_config_validate_unknown_kind(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("kind: nonsense\n")
    result = run("config", "validate", str(path))
    assert result.returncode == 1
    assert "unknown config kind 'nonsense'" in result.stderr


def test_debug_flag_shows_traceback(tmp_path):
    result = run("--debug", "config", "validate", str(tmp_path / "missing.yaml"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_validate_config_script_checks_environment(tmp_path):
    import os

    env = {**os.environ, "MAX_POSITION_SIZE": "2"}
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "validate_config.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "MAX_POSITION_SIZE" in result.stderr
    assert "Traceback" not in result.stderr


def _paper(*args: str, tmp_path: Path):
    from typer.testing import CliRunner

    from crypto_strategy_lab.cli.main import app

    journal = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    argv = ["paper", "--strategy", "lag_autocorr", *args, "--journal", journal]
    return CliRunner().invoke(app, argv)


def test_paper_bad_input_is_one_line_under_cli_runner(tmp_path):
    # 1e9 days is a finite, positive float that no pandas Timedelta can hold: it escaped the
    # guard as OutOfBoundsTimedelta, which CliRunner swallows into result.exception (no line)
    result = _paper("--days", "1e9", tmp_path=tmp_path)
    assert result.exit_code == 1, result.exception
    assert result.stderr == (
        "error: ConfigError: --days must be a finite number > 0 and <= 36525, got 1000000000.0\n"
    )
    assert result.output == result.stderr  # stdout stays empty: nothing ran


def test_unexpected_error_is_one_line_naming_a_bug(tmp_path, monkeypatch):
    # A bug (an exception outside the known input families) is one line too, with its own exit
    # status so that a script and the CLI fuzz test can tell it from bad input
    from crypto_strategy_lab.engine import paper

    def broken(*args, **kwargs):
        raise KeyError("sleeve")

    monkeypatch.setattr(paper, "build_simulated_run", broken)
    result = _paper("--days", "1", tmp_path=tmp_path)
    assert result.exit_code == 70
    assert result.stderr == (
        "error: internal error (a bug): KeyError: 'sleeve'; rerun with --debug for the traceback\n"
    )
    assert "Traceback" not in result.output
