"""``csl dashboard``: serve the monitoring dashboard (Streamlit) on 127.0.0.1."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from pathlib import Path

import typer

from crypto_strategy_lab.core.errors import ConfigError

ENTRY = Path(__file__).resolve().parents[1] / "monitoring" / "dashboard" / "entry.py"


def streamlit_command(
    journal: str | None, port: int, refresh: int, address: str = "127.0.0.1"
) -> list[str]:
    """The ``python -m streamlit run ...`` command line ``csl dashboard`` executes.

    Parameters
    ----------
    journal : str or None
        The journal URL handed to the dashboard; None lets it use its default.
    port : int
        The server's port, 1..65535.
    refresh : int
        The pages' auto-refresh interval in seconds (>= 0; 0 turns it off).
    address : str, default "127.0.0.1"
        The address the server binds (the dashboard refuses to serve off loopback).

    Returns
    -------
    list of str
        The argv: this interpreter running Streamlit headless, usage statistics off, then
        the dashboard's own options after ``--``.

    Raises
    ------
    ConfigError
        If ``port`` or ``refresh`` is out of range.
    """
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
    """Serve the monitoring dashboard (read-only view of the journal) on 127.0.0.1.
    \f

    Parameters
    ----------
    journal : str or None
        ``--journal``: Journal URL (default: CSL_JOURNAL_URL or the local SQLite file).
    port : int
        ``--port``: Port on 127.0.0.1. Default 8501.
    refresh : int
        ``--refresh``: Auto-refresh interval in seconds (0 = off). Default 15.
    """  # noqa: D205, D400
    command = streamlit_command(journal, port, refresh)
    typer.echo(f"Dashboard on http://127.0.0.1:{port} (Ctrl-C to stop)")
    raise typer.Exit(serve(command))


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the kernel sends the child SIGTERM when ``csl dashboard`` dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def serve(command: list[str]) -> int:
    """Run the Streamlit server ``command`` until it exits or ``csl dashboard`` is stopped.

    SIGTERM, SIGHUP and SIGINT (Ctrl-C, or ``kill -INT`` of this process alone) stop the child
    too, so no orphaned server keeps the journal's data on a port; 0 after such a stop.

    Parameters
    ----------
    command : list of str
        The server's argv (:func:`streamlit_command`).

    Returns
    -------
    int
        The child's exit status, or 0 when it was stopped by one of those signals.
    """
    child = subprocess.Popen(
        command, preexec_fn=_die_with_parent if sys.platform == "linux" else None
    )
    stopped = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopped
        stopped = True
        child.terminate()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                code = child.wait()
                return 0 if stopped else code
            except KeyboardInterrupt:
                stop(signal.SIGINT, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
