"""Dashboard page: Strategies."""

from crypto_strategy_lab.monitoring.dashboard.app import run_page
from crypto_strategy_lab.monitoring.dashboard.views import strategies

run_page(strategies.render, "Strategies")
