#!/usr/bin/env python3
"""Live trading of one strategy (thin wrapper over ``csl live``).

    python scripts/deploy_live.py --strategy lag_autocorr --capital 1000 --confirm

Refuses unless live API keys are present, the strategy's latest gate verdict passed, and
``--confirm`` is given. ``--check-only`` checks the three conditions and exits.
"""

import sys

from crypto_strategy_lab.cli.main import main

if __name__ == "__main__":
    sys.argv = ["csl", "live", *sys.argv[1:]]
    main()
