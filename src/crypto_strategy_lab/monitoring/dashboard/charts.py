"""Plotly figures of the dashboard: pure functions from DataFrames to ``go.Figure``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from crypto_strategy_lab.performance.metrics import drawdown

_RED, _GREEN, _AMBER, _BLUE = "#d62728", "#2ca02c", "#ff9f0e", "#1f77b4"


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=title, height=height, margin={"l": 40, "r": 20, "t": 50, "b": 30}, hovermode="x"
    )
    return fig


def equity_drawdown(equity: pd.Series, derisk_at: float | None = None) -> go.Figure:
    """Equity (top) and drawdown in % (bottom, filled), sharing the time axis.

    Parameters
    ----------
    equity : pandas.Series
        Equity per timestamp (quote currency).
    derisk_at : float or None, default None
        The de-risking drawdown as a fraction (0.10), drawn as a dotted line at
        ``-100 * derisk_at`` %; None draws none.

    Returns
    -------
    plotly.graph_objects.Figure
        Two rows: equity, and the drawdown ``-100 (1 - E_t / max_{s<=t} E_s)`` % below zero.
    """
    dd = pd.Series(-100.0 * drawdown(equity), index=equity.index)  # shown below zero
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.05
    )
    fig.add_trace(go.Scatter(x=equity.index, y=equity, name="equity", line={"color": _BLUE}), 1, 1)
    fig.add_trace(
        go.Scatter(
            x=dd.index, y=dd, name="drawdown %", fill="tozeroy", line={"color": _RED, "width": 1}
        ),
        2,
        1,
    )
    if derisk_at is not None:
        fig.add_hline(
            y=-100 * derisk_at,
            line={"dash": "dot", "color": _AMBER},
            annotation_text=f"de-risk at {derisk_at:.0%}",
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    return _layout(fig, "Equity and drawdown", height=460)


def usage_gauge(title: str, value: float, limit: float) -> go.Figure:
    """A gauge of ``value`` against ``limit`` (both fractions), amber from 80 % of the limit.

    Parameters
    ----------
    title : str
        The gauge's title (the limit is shown under it).
    value : float
        The usage, as a fraction (0.04 = 4 %).
    limit : float
        The limit, same unit.

    Returns
    -------
    plotly.graph_objects.Figure
        A gauge in % whose axis runs to ``max(1.25 limit, 1.05 value)``, with green, amber
        (80-100 % of the limit) and red bands; the needle bar turns red at the limit.
    """
    top = max(limit * 1.25, value * 1.05, 1e-9)
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=100 * value,
            number={"suffix": " %", "valueformat": ".2f"},
            gauge={
                "axis": {"range": [0, 100 * top]},
                "bar": {"color": _RED if value >= limit else _BLUE},
                "steps": [
                    {"range": [0, 80 * limit], "color": "#e8f4ea"},
                    {"range": [80 * limit, 100 * limit], "color": "#fff1d6"},
                    {"range": [100 * limit, 100 * top], "color": "#fbe0e0"},
                ],
                "threshold": {"line": {"color": _RED, "width": 3}, "value": 100 * limit},
            },
            title={"text": f"{title}<br><sub>limit {limit:.0%}</sub>"},
        )
    )
    fig.update_layout(height=280, margin={"l": 30, "r": 30, "t": 100, "b": 10})
    return fig


def limit_usage_bars(usage: pd.DataFrame) -> go.Figure:
    """Horizontal bars of ``usage`` (``limit``, ``used_fraction_of_limit``) in % of each limit.

    Parameters
    ----------
    usage : pandas.DataFrame
        One row per limit (:func:`~crypto_strategy_lab.monitoring.risk_usage.limit_usage`);
        a NaN usage is drawn as 0.

    Returns
    -------
    plotly.graph_objects.Figure
        Green below 80 %, amber from 80 %, red from 100 % of the limit.
    """
    pct = 100 * usage["used_fraction_of_limit"].fillna(0.0)
    colours = [_RED if p >= 100 else _AMBER if p >= 80 else _GREEN for p in pct]
    fig = go.Figure(go.Bar(x=pct, y=usage["limit"], orientation="h", marker_color=colours))
    fig.add_vline(x=100, line={"color": _RED, "dash": "dash"})
    fig.update_xaxes(title_text="% of limit used")
    return _layout(fig, "Limit usage", height=80 + 45 * len(usage))


def lines(frame: pd.DataFrame, title: str, y_title: str) -> go.Figure:
    """One line per column of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The series, one per column, on a shared index (the x axis).
    title : str
        The figure's title.
    y_title : str
        The y axis title.

    Returns
    -------
    plotly.graph_objects.Figure
        One trace per column, named after it.
    """
    fig = go.Figure([go.Scatter(x=frame.index, y=frame[c], name=str(c)) for c in frame.columns])
    fig.update_yaxes(title_text=y_title)
    return _layout(fig, title)


def attribution_bars(table: pd.DataFrame, title: str) -> go.Figure:
    """Net P&L per group (index may be a MultiIndex, joined with ' / ').

    Parameters
    ----------
    table : pandas.DataFrame
        One row per group, with a ``net_pnl`` column (quote currency).
    title : str
        The figure's title.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar per row, green for a gain (>= 0) and red for a loss.
    """
    labels = [" / ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in table.index]
    net = table["net_pnl"]
    fig = go.Figure(go.Bar(x=labels, y=net, marker_color=[_GREEN if v >= 0 else _RED for v in net]))
    fig.update_yaxes(title_text="net P&L")
    return _layout(fig, title, height=340)


def factor_split(market: float, residual: float, total: float) -> go.Figure:
    """Waterfall: market beta part + residual part = total return.

    Parameters
    ----------
    market : float
        The part explained by the market, ``beta x`` market returns summed (fraction).
    residual : float
        The rest (alpha plus noise), as a fraction.
    total : float
        The total, as a fraction (``market + residual`` for a consistent split).

    Returns
    -------
    plotly.graph_objects.Figure
        Three waterfall steps, in %.
    """
    fig = go.Figure(
        go.Waterfall(
            x=["market (beta)", "residual (alpha)", "total"],
            measure=["relative", "relative", "total"],
            y=[100 * market, 100 * residual, 100 * total],
            text=[f"{100 * market:.2f}%", f"{100 * residual:.2f}%", f"{100 * total:.2f}%"],
        )
    )
    fig.update_yaxes(title_text="sum of returns, %")
    return _layout(fig, "Factor split: market beta vs residual", height=340)


def gate_metric_bars(
    values: pd.Series, title: str, threshold: float, *, higher_is_better: bool
) -> go.Figure:
    """One bar per strategy, green when it meets the gate ``threshold``, red otherwise.

    Parameters
    ----------
    values : pandas.Series
        The metric per strategy (index: strategy names).
    title : str
        The figure's title.
    threshold : float
        The gate's threshold, drawn as a dashed line.
    higher_is_better : bool
        True when a value passes at ``>= threshold``, False at ``<= threshold``.

    Returns
    -------
    plotly.graph_objects.Figure
    """
    ok = values >= threshold if higher_is_better else values <= threshold
    fig = go.Figure(
        go.Bar(
            x=[str(i) for i in values.index],
            y=values,
            marker_color=[_GREEN if o else _RED for o in ok],
        )
    )
    fig.add_hline(
        y=threshold,
        line={"dash": "dash", "color": _AMBER},
        annotation_text=f"gate {'≥' if higher_is_better else '≤'} {threshold:g}",
    )
    return _layout(fig, title, height=320)


def correlation_heatmap(
    corr: pd.DataFrame, title: str = "Strategy return correlation"
) -> go.Figure:
    """Heatmap of a correlation matrix on a fixed -1..1 scale, each cell labelled.

    Parameters
    ----------
    corr : pandas.DataFrame
        A square correlation matrix.
    title : str, default "Strategy return correlation"
        The figure's title.

    Returns
    -------
    plotly.graph_objects.Figure
        Red-blue cells (red positive), each labelled with its value to 2 decimals.
    """
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(),
            x=[str(c) for c in corr.columns],
            y=[str(i) for i in corr.index],
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=corr.round(2).to_numpy(),
            texttemplate="%{text}",
        )
    )
    return _layout(fig, title, height=120 + 40 * len(corr))


def price_with_fills(
    bars: pd.DataFrame | None, prices: pd.Series, fills: pd.DataFrame
) -> go.Figure:
    """Candles of the run's bars with every fill marked.

    Without bars, the prices the strategies saw as a line. Buys are green up-triangles, sells
    red down-triangles, at the fill price and time.

    Parameters
    ----------
    bars : pandas.DataFrame or None
        OHLC bars on a time index; None (or empty) draws ``prices`` instead.
    prices : pandas.Series
        Prices per timestamp, the fallback line.
    fills : pandas.DataFrame
        The fills (``ts``, ``side``, ``price``, ``quantity``, ``strategy``); ``side`` is
        matched case-insensitively against ``buy`` and ``sell``.

    Returns
    -------
    plotly.graph_objects.Figure
        The price trace and up to two marker traces, without a range slider.
    """
    fig = go.Figure()
    if bars is not None and len(bars):
        fig.add_trace(
            go.Candlestick(
                x=bars.index,
                open=bars["open"],
                high=bars["high"],
                low=bars["low"],
                close=bars["close"],
                name="bars",
            )
        )
    elif len(prices):
        fig.add_trace(go.Scatter(x=prices.index, y=prices, name="price", line={"color": _BLUE}))
    for side, symbol, color in (("buy", "triangle-up", _GREEN), ("sell", "triangle-down", _RED)):
        chosen = fills[fills["side"].astype(str).str.lower() == side] if len(fills) else fills
        if len(chosen):
            fig.add_trace(
                go.Scatter(
                    x=chosen["ts"],
                    y=chosen["price"],
                    mode="markers",
                    name=f"{side} fills",
                    marker={"symbol": symbol, "size": 10, "color": color},
                    customdata=chosen[["quantity", "strategy"]].astype(str).to_numpy(),
                    hovertemplate="%{y:,.2f} × %{customdata[0]} (%{customdata[1]})",
                )
            )
    fig.update_layout(xaxis_rangeslider_visible=False)
    fig.update_yaxes(title_text="price")
    return _layout(fig, "Price and fills", height=420)
