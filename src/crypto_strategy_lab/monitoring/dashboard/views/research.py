"""Research: the latest lab run's gate table, DSR/PBO figures and correlation heatmap, and
the size of the trial log (every configuration a study tried)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import inspect, text

from crypto_strategy_lab.monitoring.dashboard import charts
from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext
from crypto_strategy_lab.monitoring.dashboard.lab_reports import load_latest_report


def _trial_counts(ctx: DashboardContext) -> pd.DataFrame | None:
    """Trials per strategy from the journal's trial log table, when it exists."""
    assert ctx.reader is not None
    engine = ctx.reader.engine
    with engine.connect() as conn:
        tables = [t for t in inspect(conn).get_table_names() if "trial" in t]
        if not tables:
            return None
        columns = {c["name"] for c in inspect(conn).get_columns(tables[0])}
        if "strategy" not in columns:
            n = conn.execute(text(f'SELECT COUNT(*) FROM "{tables[0]}"')).scalar_one()
            return pd.DataFrame({"trials": [n]}, index=["all"])
        rows = conn.execute(
            text(f'SELECT strategy, COUNT(*) AS trials FROM "{tables[0]}" GROUP BY strategy')
        ).fetchall()
    return pd.DataFrame(rows, columns=["strategy", "trials"])


def render(ctx: DashboardContext) -> None:
    report = load_latest_report(ctx.reports_dir)
    if report is None:
        st.info(
            f"No lab report under `{ctx.reports_dir / 'lab'}` yet. Run `make lab` (or "
            "`csl lab`) to backtest, validate and gate the strategies; the latest report's gate "
            "table, DSR/PBO and correlations then appear here."
        )
    else:
        st.caption(f"Latest lab run: `{report.run_id}` in `{report.directory}`")
        if report.html is not None:
            st.caption(f"Full report: `{report.html}`")
        for problem in report.problems:
            st.warning(problem)
        if report.gate is None:
            st.info("This lab run has no gate table file (yet).")
        else:
            st.subheader("Gate")
            st.dataframe(report.gate, hide_index=True, key="rs_gate")
            dsr = report.metric_columns("dsr", "deflated")
            pbo = report.metric_columns("pbo")
            name_col = next((c for c in report.gate.columns if "strategy" in str(c).lower()), None)
            cols = st.columns(2)
            for col, metric in zip(cols, (dsr, pbo), strict=True):
                if metric and name_col is not None:
                    frame = report.gate.set_index(name_col)[[metric[0]]]
                    frame = frame.apply(pd.to_numeric, errors="coerce")
                    frame.columns = ["net_pnl"]  # attribution_bars plots this column
                    col.plotly_chart(
                        charts.attribution_bars(frame, metric[0]).update_yaxes(
                            title_text=metric[0]
                        ),
                        key=f"rs_{metric[0]}",
                    )
        if report.correlation is not None:
            st.subheader("Correlation of strategy returns")
            corr = report.correlation.apply(pd.to_numeric, errors="coerce")
            st.plotly_chart(charts.correlation_heatmap(corr), key="rs_corr")
    if ctx.reader is None:
        return
    st.subheader("Trial log")
    counts = _trial_counts(ctx)
    if counts is None:
        st.caption("No trial log in this journal yet (studies record every configuration tried).")
    else:
        st.dataframe(counts, hide_index=True, key="rs_trials")
