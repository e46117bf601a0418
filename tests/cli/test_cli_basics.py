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
