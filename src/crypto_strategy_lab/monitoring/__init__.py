"""Monitoring: alert rules and sinks, performance attribution, Prometheus metrics, and the
read-only Streamlit dashboard over the journal (see ``README.md``)."""

from crypto_strategy_lab.monitoring.alerts import (
    Alert,
    AlertRule,
    MonitorSnapshot,
    Severity,
    default_rules,
    evaluate_rules,
)
from crypto_strategy_lab.monitoring.attribution import (
    FactorAttribution,
    factor_attribution,
    pnl_attribution,
    realized_pnl,
)
from crypto_strategy_lab.monitoring.metrics import TradingMetrics, start_metrics_server
from crypto_strategy_lab.monitoring.sinks import (
    AlertRouter,
    CallbackSink,
    LogSink,
    WebhookFormat,
    WebhookSink,
    journal_sink,
)

__all__ = [
    "Alert",
    "AlertRouter",
    "AlertRule",
    "CallbackSink",
    "FactorAttribution",
    "LogSink",
    "MonitorSnapshot",
    "Severity",
    "TradingMetrics",
    "WebhookFormat",
    "WebhookSink",
    "default_rules",
    "evaluate_rules",
    "factor_attribution",
    "journal_sink",
    "pnl_attribution",
    "realized_pnl",
    "start_metrics_server",
]
