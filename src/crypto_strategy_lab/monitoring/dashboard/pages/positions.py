"""Dashboard page: Positions & orders."""

from crypto_strategy_lab.monitoring.dashboard.app import run_page
from crypto_strategy_lab.monitoring.dashboard.views import positions

run_page(positions.render, "Positions & orders")
