"""The layer contracts of docs/ARCHITECTURE.md hold: a wrong import fails the test suite.

The contracts live in ``.importlinter`` (also run by ``make lint``); this test runs the same
check so that ``make test``, which CI runs, enforces them too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _lint_imports(config: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (dev extra)")
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.run(
        [str(exe), "--no-cache", "--no-logo", str(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_layer_contracts_hold():
    result = _lint_imports(REPO / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_import_breaks_the_contracts(tmp_path):
    # The contracts are not vacuous: declaring the strategies on top of the CLI (so that
    # every existing cli -> strategies import points upward) must be reported as broken.
    config = tmp_path / "inverted.ini"
    config.write_text(
        "[importlinter]\nroot_package = crypto_strategy_lab\n\n"
        "[importlinter:contract:inverted]\nname = inverted\ntype = layers\n"
        "containers =\n    crypto_strategy_lab\nlayers =\n    strategies\n    cli\n"
    )
    result = _lint_imports(config)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
