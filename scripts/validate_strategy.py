#!/usr/bin/env python
"""Validate one strategy: study, gate, stored verdict (the brief's `validate_strategy.py`).

Usage: ``python scripts/validate_strategy.py NAME [csl validate options]`` — e.g.
``python scripts/validate_strategy.py lag_autocorr --quick --data bars.csv``. Thin wrapper over
``csl validate --strategy NAME``.
"""

import sys

from crypto_strategy_lab.cli.main import main

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        print("usage: validate_strategy.py NAME [csl validate options]", file=sys.stderr)
        sys.exit(1)
    sys.argv = ["csl", "validate", "--strategy", sys.argv[1], *sys.argv[2:]]
    main()
