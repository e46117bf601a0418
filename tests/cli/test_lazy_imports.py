"""``csl --help`` and the group helps load no heavy library: those load in the commands that
use them (issue 16: the CLI's start-up must stay within 1.5x of ``import pandas``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "sqlalchemy", "duckdb", "pyarrow", "scipy", "numba", "cryptography")

PROBE = """
import sys
from typer.testing import CliRunner
from crypto_strategy_lab.cli.main import app
result = CliRunner().invoke(app, sys.argv[1:])
assert result.exit_code == 0, result.output
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    "args", [["--help"], ["data", "--help"], ["audit", "--help"], ["keys", "--help"]]
)
def test_help_imports_no_heavy_library(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "", f"csl {' '.join(args)} imported {out.stdout.strip()}"


#: What reading the strategy classes may not load: pandas and the numerics come with
#: ``compute`` (numpy, which pydantic validators of the parameters use, may load).
NUMERICS = ("pandas", "scipy", "numba", "pywt", "arch", "sqlalchemy", "duckdb", "pyarrow")


@pytest.mark.parametrize("args", [["strategies"], ["strategies", "--json"], ["config", "show"]])
def test_fast_commands_import_no_numerics(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=NUMERICS), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "", f"csl {' '.join(args)} imported {out.stdout.strip()}"
