"""Run a notebook (or a docs page turned into one) the way a user would, in a scratch layout.

The scratch directory mirrors a checkout: ``<tmp>/repo`` is the working directory, with
``configs`` and ``scripts`` linked from the repository, and ``<tmp>/shared`` links the real
market data, so ``../shared/data/...`` and ``configs/gate.yaml`` resolve as they do from the
repository root. ``CSL_DATA_DIR`` points at a fresh store and journal, so nothing touches the
user's data, and the ``csl`` of the running interpreter comes first on ``PATH``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import SHARED_DATA

REPO = Path(__file__).resolve().parents[2]


def scratch_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Lay out ``tmp_path`` like a checkout beside ``shared/`` and point the env at it."""
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("configs", "scripts"):
        (work / name).symlink_to(REPO / name)
    if SHARED_DATA.is_dir():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(SHARED_DATA)
    monkeypatch.setenv("CSL_DATA_DIR", str(tmp_path / "csl-data"))
    monkeypatch.delenv("CSL_JOURNAL_URL", raising=False)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    # The kernel imports this checkout's package, whatever is installed.
    monkeypatch.setenv(
        "PYTHONPATH",
        os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])),
    )
    monkeypatch.setenv("NO_COLOR", "1")
    return work


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 300) -> nbformat.NotebookNode:
    """Execute every cell in a fresh ``python3`` kernel; a raising cell raises here."""
    client = NotebookClient(
        nb, kernel_name="python3", timeout=timeout, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return nb


def cell_text(cell: nbformat.NotebookNode) -> str:
    """Everything a code cell printed (streams and plain-text results)."""
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif "data" in o:
            out.append(o["data"].get("text/plain", ""))
    return "".join(out)
