"""The lab report's Plotly figures: the overview charts and the tear sheets' charts.

Each function builds one ``go.Figure`` from a :class:`~crypto_strategy_lab.research.lab.
LabResult` or a tear sheet (:mod:`crypto_strategy_lab.research.tearsheet`); the page
(:mod:`crypto_strategy_lab.research.report`) registers it in a
:class:`~crypto_strategy_lab.research.figure_bundle.FigureBundle`. Each strategy has one
colour throughout (:func:`strategy_colour`); its timeframes differ by dash. Curves are thinned
for display only (:data:`~crypto_strategy_lab.research.figure_bundle.MAX_POINTS` points per
line); every number in the tables uses every bar.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from crypto_strategy_lab.performance.metrics import rolling_sharpe
from crypto_strategy_lab.research.display import format_number
from crypto_strategy_lab.research.figure_bundle import (
    significant,
    thin_extremes,
    thin_line,
    times,
    values,
)
from crypto_strategy_lab.research.lab import LabResult
from crypto_strategy_lab.research.tearsheet import BookTearSheet, Performance, TearSheet
from crypto_strategy_lab.strategies import list_strategies

#: One colour per strategy (12 strategies, 12 distinct colours; plotly's default has 10).
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#393b79", "#7f7f7f", "#000000",
)  # fmt: skip
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
BENCHMARK_COLOUR = "#999999"
BOOK_COLOUR = "#6a3d9a"


def strategy_colour(strategy: str) -> str:
    """The strategy's colour: its place among the registered strategies.

    Parameters
    ----------
    strategy : str
        A strategy name (a row's strategy, a book member), as registered
        (:func:`~crypto_strategy_lab.strategies.list_strategies`). A name not registered gets
        the colour at the sum of its characters' code points past the registered ones: the
        same name, the same colour in every run.

    Returns
    -------
    str
        A ``#rrggbb`` colour of :data:`PALETTE` (12 colours, one per registered strategy).
    """
    names = list_strategies()
    i = names.index(strategy) if strategy in names else len(names) + sum(map(ord, strategy))
    return PALETTE[i % len(PALETTE)]


def line_styles(result: LabResult) -> dict[str, dict[str, Any]]:
    """Per row: its strategy's colour and a dash per timeframe/dataset of that strategy.

    Parameters
    ----------
    result : LabResult
        The lab run; its rows (``result.assessments``) in their order.

    Returns
    -------
    dict of str to dict
        Row label to a plotly line ``{"color": ..., "dash": ...}``: the colour of
        :func:`strategy_colour`; the ``k``-th row of a strategy (0-based) has dash
        ``DASHES[k % 6]``.
    """
    seen: dict[str, int] = {}
    styles = {}
    for a in result.assessments:
        name = a.study.spec.strategy
        k = seen.get(name, 0)
        seen[name] = k + 1
        styles[a.strategy] = {"color": strategy_colour(name), "dash": DASHES[k % len(DASHES)]}
    return styles


def equity_figure(result: LabResult) -> go.Figure:
    """Equity (growth of 1) above drawdown, one legend entry per row for both panels.

    Parameters
    ----------
    result : LabResult
        The lab run; each row's selected configuration's net per-bar returns on the gate window
        (``StrategyAssessment.returns``, a NaN bar counted as 0).

    Returns
    -------
    plotly.graph_objects.Figure
        Two panels on a shared time axis, 650 px tall: ``prod(1 + r)`` (4 significant digits)
        and the drawdown ``equity / running peak - 1`` (a fraction, shown in %). Equity is
        thinned by :func:`~crypto_strategy_lab.research.figure_bundle.thin_line`, drawdown by
        :func:`~crypto_strategy_lab.research.figure_bundle.thin_extremes` (its troughs kept).
    """
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.04
    )
    styles = line_styles(result)
    for a in result.assessments:
        equity = (1.0 + a.returns.fillna(0.0)).cumprod()
        drawdown = equity / equity.cummax() - 1.0
        eq, dd = thin_line(equity), thin_extremes(drawdown)
        common = {"legendgroup": a.strategy, "line": {**styles[a.strategy], "width": 1.2}}
        fig.add_trace(
            go.Scatter(x=times(eq.index), y=significant(eq), name=a.strategy, **common), 1, 1
        )
        fig.add_trace(
            go.Scatter(
                x=times(dd.index), y=values(dd), name=a.strategy, showlegend=False, **common
            ),
            2,
            1,
        )
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    fig.update_layout(height=650, title="Equity and drawdown (selected configuration, net)")
    return fig


def rolling_window(result: LabResult) -> int:
    """About one month of bars, at most a fifth of the sample, at least 20.

    Parameters
    ----------
    result : LabResult
        The lab run; it needs at least one row (the first row's bars per year set the month).

    Returns
    -------
    int
        ``max(20, min(periods_per_year / 12, n / 5))`` truncated, with ``n`` the number of bars
        of the lab's data (``result.data.bars``).
    """
    ppy = result.assessments[0].study.periods_per_year
    n = len(result.data.bars)
    return int(max(20, min(ppy / 12.0, n / 5.0)))


def rolling_figure(result: LabResult, window: int) -> go.Figure:
    """Each row's annualised rolling Sharpe ratio over ``window`` bars, thinned for the page.

    Parameters
    ----------
    result : LabResult
        The lab run; each row's net per-bar returns on the gate window.
    window : int
        Bars per trailing window (:func:`rolling_window`).

    Returns
    -------
    plotly.graph_objects.Figure
        One line per row, 420 px tall: ``mean / std`` (ddof 1) of the window times
        ``sqrt(periods_per_year)`` of the row
        (:func:`~crypto_strategy_lab.performance.metrics.rolling_sharpe`; NaN until the window
        fills), two decimals, and a line at 0.
    """
    fig = go.Figure()
    styles = line_styles(result)
    for a in result.assessments:
        rs = thin_line(rolling_sharpe(a.returns, window, a.study.periods_per_year))
        fig.add_trace(
            go.Scatter(
                x=times(rs.index),
                y=values(rs, 2),
                name=a.strategy,
                mode="lines",
                line={**styles[a.strategy], "width": 1.2},
            )
        )
    fig.add_hline(y=0.0, line={"color": "#888", "width": 1})
    fig.update_layout(height=420, title=f"Rolling Sharpe ratio (annualised, {window} bars)")
    return fig


def pbo_figure(result: LabResult) -> go.Figure:
    """A histogram of the CSCV logits per row.

    Small multiples, four per line; 30 bins of the finite logits.

    Parameters
    ----------
    result : LabResult
        The lab run; rows without a PBO (``StrategyAssessment.pbo`` is ``None``) are left out.

    Returns
    -------
    plotly.graph_objects.Figure
        One panel per row with a PBO, titled with it, and a red line at ``λ = 0``; 260 px per
        line of panels.

    Notes
    -----
    Each combinatorially symmetric cross-validation split gives the logit
    ``λ = log(ω / (1 - ω))`` of the relative rank ``ω`` out of sample of the configuration that
    was best in sample; the PBO is the share of splits with ``λ ≤ 0`` (Bailey, Borwein, López de
    Prado and Zhu, 2017, "The probability of backtest overfitting", *Journal of Computational
    Finance* 20(4)). The counts are binned here: a row's thousands of splits would otherwise all
    be embedded in the page.
    """
    items = [a for a in result.assessments if a.pbo is not None]
    cols = 4
    rows = max(1, math.ceil(len(items) / cols))
    titles = [f"{a.strategy} (PBO {a.pbo.pbo:.2f})" for a in items]
    # the gap is a fraction of the whole height: 0.12 of a 4-row grid, about 30 px at any size
    # (plotly refuses more than 1 / (rows - 1): a multi-asset lab has 80+ rows)
    gap = min(0.12, 0.5 / rows)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=gap)
    for i, a in enumerate(items):
        r, c = divmod(i, cols)
        # binned here: thousands of CSCV splits per row would otherwise all be embedded
        logits = np.asarray(a.pbo.logits, dtype=float)
        counts, edges = np.histogram(logits[np.isfinite(logits)], bins=30)
        fig.add_trace(
            go.Bar(
                x=values((edges[:-1] + edges[1:]) / 2.0, 4),
                y=counts.tolist(),
                width=float(edges[1] - edges[0]),
                showlegend=False,
                marker_color="#4c78a8",
            ),
            r + 1,
            c + 1,
        )
        fig.add_vline(x=0.0, line={"color": "#c4161c", "width": 1}, row=r + 1, col=c + 1)
    fig.update_annotations(font_size=11)
    fig.update_layout(height=260 * rows, title="CSCV logits λ (λ ≤ 0: overfit split)")
    return fig


def correlation_figure(result: LabResult) -> go.Figure | None:
    """Heatmap of the rows' return correlation.

    Parameters
    ----------
    result : LabResult
        The lab run; its orthogonality check (``result.orthogonality``).

    Returns
    -------
    plotly.graph_objects.Figure or None
        The correlation matrix of the rows' per-bar net returns on a -1 to 1 red-blue scale,
        each cell labelled to two decimals, 560 px tall; ``None`` without an orthogonality check
        (fewer than two rows).
    """
    ortho = result.orthogonality
    if ortho is None:
        return None
    corr = ortho.correlation
    fig = go.Figure(
        go.Heatmap(
            z=corr.to_numpy(),
            x=list(corr.columns),
            y=list(corr.index),
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=np.round(corr.to_numpy(), 2),
            texttemplate="%{text}",
        )
    )
    fig.update_layout(height=560, title="Correlation of per-bar returns")
    return fig


def tearsheet_equity_figure(
    sheet: Performance, style: dict[str, Any], name: str = "strategy (net)"
) -> go.Figure:
    """The row's equity and drawdown against buy-and-hold of the same asset on the same bars.

    Parameters
    ----------
    sheet : Performance
        A row's or a book's tear sheet numbers (growth of 1 and drawdown of the strategy and of
        buy-and-hold, on the gate window).
    style : dict
        The plotly line of the strategy's curves (``{"color": ..., "dash": ...}``,
        :func:`line_styles`); buy-and-hold is grey.
    name : str, default "strategy (net)"
        The legend entry of the strategy's curves.

    Returns
    -------
    plotly.graph_objects.Figure
        Growth of 1 on a log axis above the drawdown (in %), 520 px tall, thinned as in
        :func:`equity_figure`.
    """
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.05
    )
    lines = (
        (sheet.equity, sheet.drawdown, name, {**style, "width": 1.4}),
        (sheet.benchmark, sheet.benchmark_drawdown, "buy and hold", {"color": BENCHMARK_COLOUR}),
    )
    for equity, drawdown, trace, line in lines:
        eq, dd = thin_line(equity), thin_extremes(drawdown)
        fig.add_trace(
            go.Scatter(
                x=times(eq.index), y=significant(eq), name=trace, legendgroup=trace, line=line
            ),
            1,
            1,
        )
        fig.add_trace(
            go.Scatter(
                x=times(dd.index), y=values(dd), name=trace, legendgroup=trace, line=line,
                showlegend=False,
            ),
            2,
            1,
        )  # fmt: skip
    fig.update_yaxes(title_text="growth of 1", type="log", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    fig.update_layout(height=520, title=f"{sheet.label}: equity and drawdown vs buy and hold")
    return fig


def weights_figure(sheet: BookTearSheet) -> go.Figure:
    """The book's budget per member over time (steps: budgets change at month starts).

    Parameters
    ----------
    sheet : BookTearSheet
        A validated book's tear sheet; ``sheet.weights`` holds each member's budget per bar, a
        fraction of the book's equity.

    Returns
    -------
    plotly.graph_objects.Figure
        One step line per member in its strategy's colour, 360 px tall. Only the bars where a
        budget changes and the last bar are drawn: a step line needs no more.
    """
    weights = sheet.weights
    changed = weights.ne(weights.shift()).any(axis=1).to_numpy().copy()
    changed[-1] = True  # the line runs to the last bar
    steps = weights[changed]
    fig = go.Figure()
    for name in weights.columns:
        fig.add_trace(
            go.Scatter(
                x=times(steps.index), y=values(steps[name]), name=name, mode="lines",
                line={"shape": "hv", "color": strategy_colour(name), "width": 1.4},
            )
        )  # fmt: skip
    fig.update_yaxes(title_text="budget (share of the book's equity)", tickformat=".0%")
    fig.update_layout(height=360, title=f"{sheet.label}: member budgets over time")
    return fig


def capacity_figure(sheet: TearSheet) -> go.Figure:
    """Net SR (annualised) against the cost per fill, re-run at each level; the break-even.

    Parameters
    ----------
    sheet : TearSheet
        A row's tear sheet; its ``capacity`` (net SR of a re-run at each cost level, and the
        linear break-even cost, :func:`~crypto_strategy_lab.research.tearsheet.capacity`).

    Returns
    -------
    plotly.graph_objects.Figure
        Net SR (three decimals) against the cost per signal fill in bps of notional (fee plus
        slippage), a line at SR 0 and, when the row breaks even at some cost, a dotted vertical
        line at the break-even; 320 px tall.
    """
    cap = sheet.capacity
    fig = go.Figure(
        go.Scatter(
            x=list(cap.cost_bps), y=values(np.array(cap.net_sr), 3), mode="lines+markers",
            name="net SR (re-run)", line={"color": "#1f77b4"},
        )
    )  # fmt: skip
    fig.add_hline(y=0.0, line={"color": "#888", "width": 1})
    if math.isfinite(cap.breakeven_bps):
        fig.add_vline(
            x=cap.breakeven_bps,
            line={"color": "#c4161c", "dash": "dot"},
            annotation_text=f"break-even {cap.breakeven_bps:.1f} bps",
        )
    fig.update_xaxes(title_text="cost per fill, bps of notional (fee + slippage)")
    fig.update_yaxes(title_text="net SR (annualised)")
    fig.update_layout(height=320, title="Net Sharpe ratio vs cost", showlegend=False)
    return fig


def heatmap_figure(sheet: TearSheet) -> go.Figure | None:
    """The study's net SR over two parameter axes.

    Parameters
    ----------
    sheet : TearSheet
        A row's tear sheet; its ``heatmap`` (the study's grid at the default cost-aware rules,
        :func:`~crypto_strategy_lab.research.tearsheet.parameter_heatmap`).

    Returns
    -------
    plotly.graph_objects.Figure or None
        Annualised net SR (mean over the other axes) per cell, labelled to two decimals, on a
        red-blue scale centred at 0; a one-axis grid is one row labelled ``all``. ``None`` when
        no parameter axis varies.
    """
    hm = sheet.heatmap
    if hm is None:
        return None
    z = hm.sr.to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=[values(row, 2) for row in z],
            x=[str(c) for c in hm.sr.columns],
            y=[str(i) for i in hm.sr.index] if hm.y else ["all"],
            colorscale="RdBu",
            zmid=0.0,
            text=[[format_number(v, ".2f") for v in row] for row in z],
            texttemplate="%{text}",
            colorbar={"title": "SR"},
        )
    )
    fig.update_xaxes(title_text=hm.x, type="category")
    fig.update_yaxes(title_text=hm.y or "", type="category")
    fig.update_layout(height=320, title="Study: net SR (annualised) over the parameter grid")
    return fig
