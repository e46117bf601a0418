"""Overview: equity, drawdown, today's P&L, exposure, halts, venue connectivity.

Today's P&L is shown against the daily loss limit, exposure against the heat limit, halts
with the kill switch.

Venue connectivity is inferred from the journal: the last successful contact with a venue is
its latest fill, venue-acknowledged order event, or venue-side position snapshot; a venue is
flagged when a venue-error or reconciliation alert naming it is newer than that contact.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crypto_strategy_lab.monitoring.dashboard import charts
from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext
from crypto_strategy_lab.monitoring.dashboard.views.common import (
    equity_or_note,
    limits,
    run_id,
    table,
)
from crypto_strategy_lab.monitoring.performance import pnl_today
from crypto_strategy_lab.performance.metrics import infer_periods_per_year, sharpe_ratio

VENUE_ALERT_SOURCES = ("venue_errors", "reconciliation", "reconciliation_mismatch", "exchange")


def venue_connectivity(
    orders: pd.DataFrame, fills: pd.DataFrame, alerts: pd.DataFrame
) -> pd.DataFrame:
    """Per venue: last contact, last error and a status (see module docstring).

    Parameters
    ----------
    orders : pandas.DataFrame
        The run's orders (``venue``, ``status``, ``updated_at``).
    fills : pandas.DataFrame
        The run's fills (``venue``, ``ts``).
    alerts : pandas.DataFrame
        The run's alerts (``source``, ``details``, ``message``, ``ts``).

    Returns
    -------
    pandas.DataFrame
        One row per venue seen in the orders or fills, sorted: ``venue``, ``status``
        (``"error"`` when a venue alert is later than the last contact, else ``"ok"``, or
        ``"no contact yet"``), ``last_contact`` (latest fill or acknowledged order update)
        and ``last_error`` (NaT when none).
    """
    venues = sorted(set(orders.get("venue", pd.Series(dtype=str))) | set(fills.get("venue", [])))
    rows = []
    for venue in venues:
        contacts = []
        if len(fills):
            contacts.append(fills.loc[fills["venue"] == venue, "ts"].max())
        if len(orders):
            acked = orders[(orders["venue"] == venue) & (orders["status"] != "new")]
            contacts.append(acked["updated_at"].max())
        contacts = [c for c in contacts if pd.notna(c)]
        last_ok = max(contacts) if contacts else pd.NaT
        last_err = pd.NaT
        if len(alerts):
            from_venue = alerts["source"].isin(VENUE_ALERT_SOURCES) & alerts.apply(
                lambda a, v=venue: (a["details"] or {}).get("venue") == v or v in a["message"],
                axis=1,
            )
            if from_venue.any():
                last_err = alerts.loc[from_venue, "ts"].max()
        if pd.notna(last_err) and (pd.isna(last_ok) or last_err > last_ok):
            status = "error"
        elif pd.notna(last_ok):
            status = "ok"
        else:
            status = "no contact yet"
        rows.append(
            {"venue": venue, "status": status, "last_contact": last_ok, "last_error": last_err}
        )
    return pd.DataFrame(rows)


def run_sharpe(equity: pd.Series) -> float | None:
    """Annualised Sharpe ratio of the run's per-bar equity returns.

    Annualised by :func:`~crypto_strategy_lab.performance.metrics.infer_periods_per_year` of
    the equity's index; ``None`` with fewer than three points or no variation.

    Parameters
    ----------
    equity : pandas.Series
        Equity per bar on a DatetimeIndex.

    Returns
    -------
    float or None
        The Sharpe ratio of the simple returns ``E_t / E_{t-1} - 1``, annualised; None as
        above.
    """
    returns = equity.pct_change().dropna()
    if len(returns) < 2 or not float(returns.std()) > 0:
        return None
    return float(sharpe_ratio(returns, infer_periods_per_year(equity.index)))


@st.cache_data(show_spinner=False, max_entries=8)
def _run_bars(source: str, start: str, end: str) -> pd.DataFrame | None:
    """The OHLC bars a replayed run traded, from its recorded data source.

    ``None`` when that source cannot be read here (a venue run, a file moved since).
    """
    from crypto_strategy_lab.data.loader import open_data

    try:
        bars = open_data(source, require_market=False).bars
    except Exception:  # the source is only for display: fall back to the journal's prices
        return None
    return bars.loc[pd.Timestamp(start) : pd.Timestamp(end)]


def price_chart(ctx: DashboardContext, rid: str) -> None:
    """Candles of the run's bars with its fills (journal prices when the bars are unknown).

    Parameters
    ----------
    ctx : DashboardContext
        The page's context, with a chosen run.
    rid : str
        The run's id.
    """
    assert ctx.reader is not None and ctx.run is not None
    fills = ctx.reader.fills(rid)
    prices = ctx.reader.signals_prices(rid)
    data = (ctx.run["config"] or {}).get("data") or {}
    symbols = sorted(set(prices.get("symbol", [])) | set(fills.get("symbol", [])))
    if not symbols:
        return
    symbol = symbols[0] if len(symbols) == 1 else st.selectbox("Symbol", symbols, key="ov_sym")
    bars = None
    if data.get("source") and data.get("symbol") == symbol:
        bars = _run_bars(str(data["source"]), str(data.get("start")), str(data.get("end")))
    closes = prices[prices["symbol"] == symbol].set_index("ts")["price"] if len(prices) else prices
    fig = charts.price_with_fills(bars, closes, fills[fills["symbol"] == symbol])
    st.plotly_chart(fig, key="ov_price")


def render(ctx: DashboardContext) -> None:
    """Draw the overview page of the chosen run.

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
    halts = ctx.reader.halt_states()
    kill = halts[halts["scope"] == "global"] if len(halts) else halts
    kill_on = bool(len(kill)) and kill.iloc[0]["action"] == "halt"

    if equity is not None:
        series = equity["equity"]
        today = pnl_today(series)
        capital = float(ctx.run["capital"])
        heat = float(equity["gross_exposure"].iloc[-1]) / float(series.iloc[-1])
        c1, c5, c2, c3, c4 = st.columns(5)
        c1.metric(
            "Equity",
            f"{series.iloc[-1]:,.2f}",
            f"{series.iloc[-1] - capital:+,.2f} ({series.iloc[-1] / capital - 1:+.2%}) since start",
        )
        sharpe = run_sharpe(series)
        c5.metric(
            "Sharpe (ann.)",
            "n/a" if sharpe is None else f"{sharpe:.2f}",
            "from equity returns per bar",
            delta_color="off",
            delta_arrow="off",
        )
        c2.metric(
            "P&L today (UTC)",
            f"{today.pnl:+,.2f}",
            f"loss {today.loss_fraction:.2%} / limit {lim['daily_loss']:.0%}",
            delta_color="off",
            delta_arrow="off",
        )
        c3.metric(
            "Exposure (heat)",
            f"{heat:.2%}",
            f"limit {lim['portfolio_heat']:.0%}",
            delta_color="off",
            delta_arrow="off",
        )
        c4.metric("Kill switch", "HALTED" if kill_on else "armed")
        st.plotly_chart(charts.equity_drawdown(series, lim["drawdown_derisk"]), key="ov_equity")
        price_chart(ctx, rid)
        g1, g2 = st.columns(2)
        g1.plotly_chart(
            charts.usage_gauge("Daily loss", today.loss_fraction, lim["daily_loss"]), key="ov_loss"
        )
        g2.plotly_chart(
            charts.usage_gauge("Portfolio heat", heat, lim["portfolio_heat"]), key="ov_heat"
        )

    st.subheader("Halts and kill switch")
    if kill_on:
        row = kill.iloc[0]
        st.error(f"Kill switch engaged at {row['ts']} by {row['actor']}: {row['reason']}")
    table(halts, "No halt has ever been recorded: trading is armed.", key="ov_halts")

    st.subheader("Venue connectivity")
    orders = ctx.reader.orders(rid)
    fills = ctx.reader.fills(rid)
    alerts = ctx.reader.alerts(rid)
    table(venue_connectivity(orders, fills, alerts), "No venue contacted yet.", key="ov_venues")
