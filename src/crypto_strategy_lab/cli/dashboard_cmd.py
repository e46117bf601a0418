"""``csl dashboard``: serve the monitoring dashboard (Streamlit) on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from crypto_strategy_lab.core.errors import ConfigError

ENTRY = Path(__file__).resolve().parents[1] / "monitoring" / "dashboard" / "entry.py"


def streamlit_command(
    journal: str | None, port: int, refresh: int, address: str = "127.0.0.1"
) -> list[str]:
    """The ``python -m streamlit run ...`` command line ``csl dashboard`` executes."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be in 1..65535, got {port}")
    if refresh < 0:
        raise ConfigError(f"--refresh must be >= 0 seconds, got {refresh}")
    command = [
        sys.executable, "-m", "streamlit", "run", str(ENTRY),
        "--server.address", address,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
        "--",
        "--refresh", str(refresh),
    ]  # fmt: skip
    if journal:
        command += ["--journal", journal]
    return command


def dashboard(
    journal: str | None = typer.Option(
        None, "--journal", help="Journal URL (default: CSL_JOURNAL_URL or the local SQLite file)."
    ),
    port: int = typer.Option(8501, "--port", help="Port on 127.0.0.1."),
    refresh: int = typer.Option(
        15, "--refresh", help="Auto-refresh interval in seconds (0 = off)."
    ),
) -> None:
    """Serve the monitoring dashboard (read-only view of the journal) on 127.0.0.1."""
    command = streamlit_command(journal, port, refresh)
    typer.echo(f"Dashboard on http://127.0.0.1:{port} (Ctrl-C to stop)")
    try:
        code = subprocess.call(command)
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)
