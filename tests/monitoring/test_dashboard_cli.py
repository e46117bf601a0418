"""``csl dashboard`` builds a Streamlit command bound to 127.0.0.1 and rejects bad options."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli import dashboard_cmd
from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.core.errors import ConfigError


def test_command_defaults_to_localhost_8501() -> None:
    cmd = dashboard_cmd.streamlit_command(None, 8501, 15)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert dashboard_cmd.ENTRY.is_file()
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8501"
    assert cmd[cmd.index("--") + 1 :] == ["--refresh", "15"]
    with_journal = dashboard_cmd.streamlit_command("sqlite:////tmp/j.sqlite", 9000, 0)
    assert with_journal[-2:] == ["--journal", "sqlite:////tmp/j.sqlite"]


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="--port"):
        dashboard_cmd.streamlit_command(None, 0, 15)
    with pytest.raises(ConfigError, match="--refresh"):
        dashboard_cmd.streamlit_command(None, 8501, -1)


def test_cli_passes_options(monkeypatch) -> None:
    seen = {}

    def fake_serve(command):
        seen["command"] = command
        return 0

    monkeypatch.setattr(dashboard_cmd, "serve", fake_serve)
    result = CliRunner().invoke(app, ["dashboard", "--port", "8600", "--refresh", "5"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8600" in result.output
    assert seen["command"][-2:] == ["--refresh", "5"]
