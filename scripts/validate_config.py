#!/usr/bin/env python
"""Validate the environment settings and config files (the brief's `validate_config.py`).

Usage: ``python scripts/validate_config.py [FILE ...]`` — with no files, checks the environment
settings and every YAML file under ``configs/``. Thin wrapper over ``csl config check``.
"""

import sys

from crypto_strategy_lab.cli.main import main

if __name__ == "__main__":
    sys.argv = ["csl", "config", "check", *sys.argv[1:]]
    main()
