"""Start-up of ``csl``: whole-process wall time of fast commands against ``import pandas``.

Each command runs as its own process (``python -m crypto_strategy_lab.cli.main ...``),
interleaved with the yardstick ``python -c "import pandas"``; best and median of each and the
load average are printed. Target: ``csl --help`` and the fast commands <= 1.5x the yardstick.

Run: ``python -m benchmarks cli``.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks._util import Measurement, compare

COMMANDS = (
    ["--help"],
    ["data", "--help"],
    ["backtest", "--help"],
    ["config", "--help"],
    ["config", "show"],
    ["strategies"],
)


def _run(args: list[str]) -> None:
    subprocess.run(args, check=True, capture_output=True)


def run() -> list[Measurement]:
    pandas = [sys.executable, "-c", "import pandas"]
    for args in COMMANDS:
        cmd = [sys.executable, "-m", "crypto_strategy_lab.cli.main", *args]
        m = compare(
            f"csl {' '.join(args)}",
            lambda cmd=cmd: _run(cmd),
            lambda: _run(pandas),
            "python -c 'import pandas'",
            1,
            repeat=5,
        )
        # report as a ratio of times (a speedup < 1 means slower than the yardstick)
        print(
            f"csl {' '.join(args):<20} best {m.seconds:.3f} s, median {m.median_seconds:.3f} s;"
            f" import pandas best {m.baseline_seconds:.3f} s, median"
            f" {m.baseline_median_seconds:.3f} s -> csl/pandas {1 / m.speedup:.2f} (best),"
            f" {1 / m.median_speedup:.2f} (median)  [load {m.load[0]:.2f}]",
            flush=True,
        )
    return []  # printed above: the ratio here is csl / yardstick, not a speed-up
