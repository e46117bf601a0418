"""Monitoring: alert rules and sinks, attribution, Prometheus metrics, the dashboard.

The dashboard is a read-only Streamlit app over the journal (see ``README.md``).

The package exports what the README's wiring of alerts and metrics into the trading loop uses;
the rule classes, attribution and the dashboard are imported from their modules.
"""

from crypto_strategy_lab.monitoring.alerts import MonitorSnapshot, default_rules, evaluate_rules
from crypto_strategy_lab.monitoring.metrics import TradingMetrics, start_metrics_server
from crypto_strategy_lab.monitoring.sinks import AlertRouter, LogSink, WebhookSink, journal_sink

__all__ = [
    "AlertRouter",
    "LogSink",
    "MonitorSnapshot",
    "TradingMetrics",
    "WebhookSink",
    "default_rules",
    "evaluate_rules",
    "journal_sink",
    "start_metrics_server",
]
