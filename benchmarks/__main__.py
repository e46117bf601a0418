"""Run benchmarks: ``python -m benchmarks`` (all) or ``python -m benchmarks data_store``.

A benchmark module either defines ``run() -> list[Measurement]`` (see ``_util``) or its own
``main()``, which is called with no command-line arguments.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    available = sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")
    )
    names = argv or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 1
    for name in names:
        print(f"== {name}")
        module = importlib.import_module(f"benchmarks.{name}")
        if hasattr(module, "run"):  # the _util.Measurement protocol
            for measurement in module.run():
                print(measurement.line(), flush=True)
        else:  # a module with its own argparse main(): run it with its defaults
            sys.argv = [f"benchmarks.{name}"]
            module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
