"""Every runnable code block of the documentation site runs and exits cleanly.

A page's ```` ```python ```` and ```` ```bash ```` blocks run in document order in one Jupyter
kernel, as a reader would paste them: Python blocks share one interpreter (a later block uses
an earlier block's names), bash blocks run under ``set -euo pipefail``, so any failing
command fails the page. A block preceded by ``<!-- docs-test: skip REASON -->`` is shown but not
run (it needs the network, keys or many minutes); each of its commands must run in another
test (:func:`test_every_skipped_block_runs_elsewhere`). README commands are tested in tests/cli.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.conftest import SHARED_DATA
from tests.docs.nbrun import REPO, cell_text, execute, scratch_checkout

DOCS = REPO / "docs"
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\b[^>]*-->\s*$")
RUNNABLE = {"python", "bash"}
# What a page's commands must print besides exiting cleanly (the summaries the page describes).
EXPECTED = {
    "quickstart.md": ["buy & hold", "Sharpe (ann.)", "funding paid", "gate: lag_autocorr"],
    "own-data.md": ["buy & hold", "PSR(SR* = 0)"],
    "research-to-live.md": ["FAIL", "live trading refused", "blocked by the kill switch"],
}


def runnable_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, code)`` of each block that runs, in document order."""
    blocks = []
    for m in FENCE.finditer(text):
        if m.group(1) not in RUNNABLE:
            continue
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if SKIP.search(before):
            continue
        blocks.append((m.group(1), m.group(2)))
    return blocks


def skipped_commands(text: str) -> list[str]:
    """Command lines (comments and ``|| ...`` fallbacks dropped) of the skipped bash blocks."""
    lines = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if m.group(1) == "bash" and SKIP.search(before):
            for line in m.group(2).splitlines():
                command = line.split("#", 1)[0].split("||", 1)[0].strip()
                if command:
                    lines.append(" ".join(command.split()))
    return lines


# A skipped block still runs, elsewhere: as a README command (tests/cli/test_readme_commands.py
# runs each on a short span, the network replaced by the local emulator) or as listed here.
RUN_ELSEWHERE = {
    "csl lab": "`make lab` in the README; its parts in tests/research/test_lab.py",
    "csl lab --quick": "tests/cli/test_readme_commands.py::test_lab_quick_runs_cleanly",
}


PAGES = sorted(
    p.relative_to(DOCS).as_posix()
    for p in DOCS.rglob("*.md")
    if runnable_blocks(p.read_text(encoding="utf-8"))
)


def test_block_parser_honours_the_skip_marker() -> None:
    text = (
        "```python\nprint(1)\n```\n\n<!-- docs-test: skip needs keys -->\n```bash\ncsl live\n```\n"
        "```text\nnot code\n```\n```bash\ncsl status\n```\n"
    )
    assert runnable_blocks(text) == [("python", "print(1)\n"), ("bash", "csl status\n")]


def test_the_pages_with_commands_are_covered() -> None:
    assert {"quickstart.md", "own-data.md", "research-to-live.md", "api/index.md"} <= set(PAGES)


def test_every_skipped_block_runs_elsewhere() -> None:
    from tests.cli.test_readme_commands import RUNS

    skipped = {
        (page.relative_to(DOCS).as_posix(), command)
        for page in DOCS.rglob("*.md")
        for command in skipped_commands(page.read_text(encoding="utf-8"))
    }
    assert skipped, "no skipped blocks found: the parser or the marker changed"
    uncovered = sorted(
        (page, c) for page, c in skipped if RUNS.get(c) is None and c not in RUN_ELSEWHERE
    )
    assert not uncovered, f"run these skipped docs commands in a test: {uncovered}"


def _notebook(blocks: list[tuple[str, str]]) -> nbformat.NotebookNode:
    cells = []
    for lang, code in blocks:
        if lang == "bash":
            # IPython's %%bash raises CalledProcessError on a non-zero exit.
            code = f"%%bash\nset -euo pipefail\n{code}"
        cells.append(nbformat.v4.new_code_cell(code))
    return nbformat.v4.new_notebook(cells=cells)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_docs_page_blocks_run_cleanly(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    if "../shared/data" in text and not SHARED_DATA.is_dir():
        pytest.skip(f"{page} uses ../shared/data, absent here ({SHARED_DATA})")
    work = scratch_checkout(tmp_path, monkeypatch)
    nb = execute(_notebook(runnable_blocks(text)), work, timeout=600)
    output = "\n".join(cell_text(c) for c in nb.cells)
    assert "Traceback" not in output, output[-3000:]
    flat = " ".join(output.split())
    for phrase in EXPECTED.get(page, []):
        assert phrase in flat, f"{page}: {phrase!r} missing from its output"
