#!/usr/bin/env python3
"""Deploy a portfolio of strategies from one YAML (thin wrapper over ``csl deploy``).

python scripts/deploy_portfolio.py --config configs/production.yaml --days 30
"""

import sys

from crypto_strategy_lab.cli.main import main

if __name__ == "__main__":
    sys.argv = ["csl", "deploy", *sys.argv[1:]]
    main()
