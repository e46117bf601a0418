"""Dashboard page: Risk."""

from crypto_strategy_lab.monitoring.dashboard.app import run_page
from crypto_strategy_lab.monitoring.dashboard.views import risk

run_page(risk.render, "Risk")
