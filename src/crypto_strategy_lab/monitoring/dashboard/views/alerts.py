"""Alerts: history with severity and acknowledgement.

Acknowledge with the journal's own command; the dashboard is read-only.
"""

from __future__ import annotations

import streamlit as st

from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext
from crypto_strategy_lab.monitoring.dashboard.views.common import run_id, table

SEVERITIES = ("critical", "error", "warning", "info")
_BADGE = {"critical": "🔴", "error": "🟠", "warning": "🟡", "info": "🔵"}


def render(ctx: DashboardContext) -> None:
    """Draw the chosen run's alerts: counts per severity, a filterable history.

    Parameters
    ----------
    ctx : DashboardContext
        The page's context; :func:`~crypto_strategy_lab.monitoring.dashboard.app.run_page`
        calls it only with a readable journal and a chosen run.
    """
    assert ctx.reader is not None
    alerts = ctx.reader.alerts(run_id(ctx))
    if len(alerts) == 0:
        st.success("No alert recorded for this run.")
        return
    counts = alerts["severity"].value_counts()
    unacked = alerts[~alerts["acknowledged"]]
    cols = st.columns(len(SEVERITIES) + 1)
    for col, sev in zip(cols, SEVERITIES, strict=False):
        col.metric(f"{_BADGE[sev]} {sev}", int(counts.get(sev, 0)))
    cols[-1].metric("unacknowledged", len(unacked))
    severities = st.multiselect("Severity", list(SEVERITIES), default=list(SEVERITIES))
    only_open = st.toggle("Unacknowledged only", value=False)
    shown = alerts[alerts["severity"].isin(severities)]
    if only_open:
        shown = shown[~shown["acknowledged"]]
    shown = shown.assign(severity=shown["severity"].map(lambda s: f"{_BADGE.get(s, '')} {s}"))
    columns = [
        "ts",
        "severity",
        "source",
        "message",
        "acknowledged",
        "acknowledged_by",
        "acknowledged_at",
        "note",
        "id",
    ]
    table(shown[columns], "No alert matches the filter.", key="alerts_table")
