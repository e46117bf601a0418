"""Dashboard page: Research."""

from crypto_strategy_lab.monitoring.dashboard.app import run_page
from crypto_strategy_lab.monitoring.dashboard.views import research

run_page(research.render, "Research", needs_run=False)
