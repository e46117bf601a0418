"""Dashboard page: Overview."""

from crypto_strategy_lab.monitoring.dashboard.app import run_page
from crypto_strategy_lab.monitoring.dashboard.views import overview

run_page(overview.render, "Overview")
