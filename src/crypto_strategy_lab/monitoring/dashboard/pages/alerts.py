"""Dashboard page: Alerts."""

from crypto_strategy_lab.monitoring.dashboard.app import run_page
from crypto_strategy_lab.monitoring.dashboard.views import alerts

run_page(alerts.render, "Alerts")
