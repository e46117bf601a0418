"""Risk: every limit with its current usage, and recent risk decisions with their reasons."""

from __future__ import annotations

import streamlit as st

from crypto_strategy_lab.monitoring.dashboard import charts
from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext
from crypto_strategy_lab.monitoring.dashboard.views.common import (
    equity_or_note,
    limits,
    run_id,
    table,
)
from crypto_strategy_lab.monitoring.risk_usage import LABELS, exposure_caps, limit_usage


def render(ctx: DashboardContext) -> None:
    """Draw the risk page of the chosen run: each limit's usage, recent risk decisions.

    Parameters
    ----------
    ctx : DashboardContext
        The page's context; :func:`~crypto_strategy_lab.monitoring.dashboard.app.run_page`
        calls it only with a readable journal and a chosen run.
    """
    assert ctx.reader is not None
    rid = run_id(ctx)
    lim = limits(ctx)
    equity = equity_or_note(ctx)
    if equity is not None:
        config = ctx.run["config"] if isinstance(ctx.run["config"], dict) else {}
        usage = limit_usage(equity, ctx.reader.positions(rid), lim, exposure_caps(config))
        st.plotly_chart(charts.limit_usage_bars(usage), key="risk_usage")
        shown = usage.drop(columns="key").rename(columns={"value": "limit value"})
        st.dataframe(
            shown.style.format(
                {"limit value": "{:.2%}", "used": "{:.2%}", "used_fraction_of_limit": "{:.0%}"}
            ),
            hide_index=True,
            key="risk_usage_table",
        )
        st.caption(
            f"{LABELS['take_profit']}: {lim['take_profit']:.0%} from entry, attached to every "
            "position. Limits: the brief's defaults overridden by this run's recorded "
            "`config.risk`."
        )

    st.subheader("Recent risk decisions")
    counts = ctx.reader.risk_decision_counts(rid)
    events = ctx.reader.risk_events(rid)
    if counts:
        cols = st.columns(4)
        for col, decision in zip(cols, ("approve", "resize", "reject", "halt"), strict=True):
            col.metric(decision, counts.get(decision, 0))
        decisions = st.multiselect(
            "Show decisions",
            ["approve", "resize", "reject", "halt"],
            default=["resize", "reject", "halt"],
        )
        events = events[events["decision"].isin(decisions)]
    table(events.head(300), "No risk decision recorded for this run.", key="risk_events")
