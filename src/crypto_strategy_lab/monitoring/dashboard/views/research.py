"""Research: the latest lab run's gate table, DSR/PBO, correlations, and the trial log.

The trial log's size counts every configuration a study tried.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crypto_strategy_lab.monitoring.dashboard import charts
from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext
from crypto_strategy_lab.monitoring.dashboard.lab_reports import load_latest_report
from crypto_strategy_lab.monitoring.reader import JournalReader
from crypto_strategy_lab.research.results import RESULTS_FILE

# The gate's default thresholds (DESIGN.md / the brief): DSR >= 0.95, PBO <= 0.5.
DSR_THRESHOLD = 0.95
PBO_THRESHOLD = 0.5


def trial_summary(reader: JournalReader) -> pd.DataFrame | None:
    """Per strategy: trials logged, studies, best and mean per-period SR and ``V[SR]``.

    These are the inputs DSR deflates by (``V[SR]`` with ``ddof=1``, 0 for one trial);
    ``None`` when the journal has no trial log table.

    Parameters
    ----------
    reader : JournalReader
        The journal, read-only.

    Returns
    -------
    pandas.DataFrame or None
        One row per strategy: ``strategy``, ``trials``, ``studies`` (distinct), ``best_sr``,
        ``mean_sr`` and ``var_sr`` (per-period Sharpe ratios); the empty trial frame itself
        when the table has no row; None without the table.
    """
    frame = reader.trial_sharpe_ratios()
    if frame is None or len(frame) == 0:
        return frame
    return (
        frame.groupby("strategy")
        .agg(
            trials=("sr", "size"),
            studies=("study", "nunique"),
            best_sr=("sr", "max"),
            mean_sr=("sr", "mean"),
            var_sr=("sr", lambda s: s.var(ddof=1) if len(s) > 1 else 0.0),
        )
        .reset_index()
    )


def render(ctx: DashboardContext) -> None:
    """Draw the research page from the latest lab report and the trial log.

    Parameters
    ----------
    ctx : DashboardContext
        The page's context; this page needs no run (``reports_dir`` locates the report),
        and reads the trial log only when the journal is readable.
    """
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
            st.info(f"This lab run has no gate table (`{RESULTS_FILE}`) yet.")
        else:
            st.subheader("Gate")
            st.dataframe(report.gate, hide_index=True, key="rs_gate")
            # the row label (strategy, timeframe, asset class, symbol) is unique; a strategy
            # name repeats over timeframes and datasets
            columns = list(report.gate.columns)
            name_col = (
                "label"
                if "label" in columns
                else next((c for c in columns if "strategy" in str(c).lower()), None)
            )
            specs = (
                (
                    report.metric_columns("dsr", "deflated"),
                    report.thresholds.get("dsr", DSR_THRESHOLD),
                    True,
                ),
                (
                    report.metric_columns("pbo"),
                    report.thresholds.get("pbo", PBO_THRESHOLD),
                    False,
                ),
            )
            cols = st.columns(2)
            for col, (metric, threshold, higher) in zip(cols, specs, strict=True):
                if metric and name_col is not None:
                    values = pd.to_numeric(
                        report.gate.set_index(name_col)[metric[0]], errors="coerce"
                    )
                    col.plotly_chart(
                        charts.gate_metric_bars(
                            values, metric[0], threshold, higher_is_better=higher
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
    summary = trial_summary(ctx.reader)
    if summary is None or len(summary) == 0:
        st.caption(
            "No trial recorded in this journal yet (every configuration a study tries is "
            "logged here, and DSR deflates by their number and the variance of their Sharpe)."
        )
    else:
        st.caption("Per-period Sharpe ratios; DSR uses `trials` and `var_sr` per strategy.")
        st.dataframe(summary, hide_index=True, key="rs_trials")
