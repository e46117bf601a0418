"""Both ways to start the dashboard listen on 127.0.0.1 only; stopping ``csl dashboard`` stops
its Streamlit child.

The servers are really started on a free port and the listening sockets read from the kernel
(psutil), so the test sees what a port scan from the network would see.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "::1"}
pytestmark = pytest.mark.slow  # each case starts a Streamlit server (5-15 s)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listeners(port: int) -> list[tuple[str, int]]:
    """(address, pid) of every socket listening on ``port``, any interface."""
    return [
        (c.laddr.ip, c.pid)
        for c in psutil.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
    ]


def _wait_for_listener(port: int, proc: subprocess.Popen, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _listeners(port)
        if found:
            time.sleep(0.5)  # a second address family may follow the first
            return _listeners(port)
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}: {proc.stdout.read()}")
        time.sleep(0.25)
    pytest.fail(f"nothing listened on port {port} within {timeout} s")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STREAMLIT_", "CSL_"))}
    env["CSL_JOURNAL_URL"] = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
    env["HOME"] = str(tmp_path)  # no user-level ~/.streamlit/config.toml
    return env


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_briefs_streamlit_command_binds_loopback(tmp_path):
    """`python -m streamlit run scripts/monitoring_dashboard.py` from the repository root (only
    the port is given, to run beside other tests) picks up .streamlit/config.toml."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "scripts/monitoring_dashboard.py",
            "--server.port",
            str(port),
        ],
        cwd=REPO,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        listeners = _wait_for_listener(port, proc)
        assert {ip for ip, _ in listeners} <= LOOPBACK, listeners
    finally:
        _stop(proc)
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_csl_dashboard_binds_loopback_and_stops_its_child(tmp_path, stop_signal):
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from crypto_strategy_lab.cli.main import main; main()",
            "dashboard",
            "--port",
            str(port),
            "--refresh",
            "0",
        ],
        cwd=tmp_path,  # not the repository: the flags alone must bind loopback
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        listeners = _wait_for_listener(port, proc)
        assert {ip for ip, _ in listeners} <= LOOPBACK, listeners
        servers = {pid for _, pid in listeners if pid is not None}
        children = {c.pid for c in psutil.Process(proc.pid).children(recursive=True)}
        assert servers and servers <= children  # the socket belongs to csl's Streamlit child
        watched = [psutil.Process(pid) for pid in servers]
        proc.send_signal(stop_signal)  # to csl alone, not to its process group
        proc.wait(timeout=30)
        _, alive = psutil.wait_procs(watched, timeout=30)
        assert not alive, f"Streamlit child still running after {stop_signal.name}"
        assert not _listeners(port)
    finally:
        _stop(proc)
