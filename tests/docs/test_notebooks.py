"""The example notebooks in notebooks/ run top to bottom in a fresh kernel (so they never rot).

Each runs on a short span (the first on six months of hourly bars, the second on the bundled
data with two configurations), in a scratch checkout layout with a scratch store and journal
(tests/docs/nbrun.py). The assertions check what each notebook exists to show.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.docs.nbrun import REPO, cell_text, execute, scratch_checkout

NOTEBOOKS = REPO / "notebooks"


def _run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        f"{name} is committed with outputs; clear them"
    )
    work = scratch_checkout(tmp_path, monkeypatch)
    execute(nb, work)
    return "\n".join(cell_text(c) for c in nb.cells if c.cell_type == "code")


def test_notebooks_directory_holds_exactly_the_tested_notebooks() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == [
        "01_research_own_data.ipynb",
        "02_verdict_to_paper.ipynb",
    ]


@pytest.mark.slow
def test_research_on_own_data_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _run("01_research_own_data.ipynb", tmp_path, monkeypatch)
    assert "vs buy-and-hold" in out
    assert "PSR" in out and "DSR" in out and "MinTRL" in out and "PBO" in out
    assert "dsr" in out and "walk_forward" in out  # the gate verdict, criterion by criterion


@pytest.mark.slow
def test_verdict_to_paper_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _run("02_verdict_to_paper.ipynb", tmp_path, monkeypatch)
    assert "gate: lag_autocorr" in out
    assert "live trading refused" in out
    assert "REPLAY of historical bars" in out
    assert "run id:" in out
