"""Small helpers shared by the page views."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext
from crypto_strategy_lab.monitoring.risk_usage import effective_limits


def run_id(ctx: DashboardContext) -> str:
    """The chosen run's id (a page calls it only with a run chosen).

    Parameters
    ----------
    ctx : DashboardContext
        The page's context; :func:`~crypto_strategy_lab.monitoring.dashboard.app.run_page`
        calls it only with a readable journal and a chosen run.

    Returns
    -------
    str
        ``ctx.run["run_id"]``.
    """
    assert ctx.run is not None
    return str(ctx.run["run_id"])


def limits(ctx: DashboardContext) -> dict[str, float]:
    """The chosen run's limits: the brief's defaults overridden by its ``config.risk``.

    Parameters
    ----------
    ctx : DashboardContext
        The page's context; without a chosen run (or with an unreadable config) the
        defaults are returned.

    Returns
    -------
    dict of str to float
        :func:`~crypto_strategy_lab.monitoring.risk_usage.effective_limits` of the run's
        config.
    """
    config = ctx.run["config"] if ctx.run is not None else {}
    return effective_limits(config if isinstance(config, dict) else {})


def equity_or_note(ctx: DashboardContext) -> pd.DataFrame | None:
    """The run's equity frame, or ``None`` after telling the user none was recorded yet.

    Parameters
    ----------
    ctx : DashboardContext
        The page's context; :func:`~crypto_strategy_lab.monitoring.dashboard.app.run_page`
        calls it only with a readable journal and a chosen run.

    Returns
    -------
    pandas.DataFrame or None
        The journal's equity frame of the run; None (and an info box drawn) when it has
        no point yet.
    """
    assert ctx.reader is not None
    equity = ctx.reader.equity(run_id(ctx))
    if len(equity) == 0:
        st.info(
            "This run has not recorded an equity point yet (the engine writes one per bar). "
            "Charts appear after the first bar."
        )
        return None
    return equity


def table(frame: pd.DataFrame, empty: str, key: str) -> None:
    """A dataframe, or a one-line note when it is empty.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows to show (without their index).
    empty : str
        The caption shown instead when ``frame`` has no row.
    key : str
        Streamlit's widget key, unique on the page.
    """
    if len(frame) == 0:
        st.caption(empty)
    else:
        st.dataframe(frame, hide_index=True, key=key)
