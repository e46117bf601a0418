"""The lab's self-contained HTML report (Jinja2 template + Plotly figures).

``reports/lab/<run-id>/index.html`` opens offline: plotly.js and the figures are embedded,
compressed (:mod:`crypto_strategy_lab.research.figure_bundle`), and every figure is a
``<div>`` the page's loader draws. Sections (each a ``<section id=...>``): ``summary``,
``gate`` (every criterion's value, threshold and result), ``equity`` (equity and drawdown per
row), ``rolling-sharpe``, ``tearsheets`` (one row at a time, chosen in a ``<select>``: equity
and drawdown against buy-and-hold, monthly and yearly returns, exposure, turnover, cost
attribution, stop exits, the last trades, the parameter heatmap, net SR vs cost and the
row's gate numbers; :mod:`crypto_strategy_lab.research.tearsheet`; each book's tear sheet
in the same list: its equity and drawdown against buy-and-hold, monthly and yearly returns,
exposure, turnover, costs, the members' budgets over time and its gate row with the
family's N), ``pbo`` (logit
histograms), ``orthogonality`` (correlation heatmap, flagged pairs, clusters),
``calibration``, ``studies`` (every trial), ``data`` (description and cleaning report) and
``costs``.

Each strategy has one colour throughout (:func:`strategy_colour`); its timeframes differ by
dash. Curves are thinned for display only (:data:`~crypto_strategy_lab.research.
figure_bundle.MAX_POINTS` points per line); every number in the tables uses every bar.
"""

from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.subplots import make_subplots

from crypto_strategy_lab.performance.metrics import rolling_sharpe
from crypto_strategy_lab.research.assessment import WALK_FORWARD_FOLDS, StrategyAssessment
from crypto_strategy_lab.research.book import BookAssessment
from crypto_strategy_lab.research.display import format_number
from crypto_strategy_lab.research.figure_bundle import (
    LOADER_JS,
    MAX_POINTS,
    FigureBundle,
    gzip_base64,
    plotly_js_gzip,
    significant,
    thin_extremes,
    thin_line,
    times,
    values,
)
from crypto_strategy_lab.research.lab import LabResult
from crypto_strategy_lab.research.results import write_results
from crypto_strategy_lab.research.tearsheet import (
    TRADE_LIST_LENGTH,
    BookTearSheet,
    Performance,
    TearSheet,
    lab_book_sheets,
    lab_tear_sheets,
)
from crypto_strategy_lab.strategies import list_strategies
from crypto_strategy_lab.validation.sharpe import min_track_record_length
from crypto_strategy_lab.validation.trial_log import Deflation

NOISE_TEXT = {
    "bootstrap": "this data's own bar returns, stationary-block-bootstrapped, traded by random "
    "signals with the grids' turnover",
    "t": "Student-t(5) returns with a common factor per strategy",
}
#: One colour per strategy (12 strategies, 12 distinct colours; plotly's default has 10).
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#393b79", "#7f7f7f", "#000000",
)  # fmt: skip
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
BENCHMARK_COLOUR = "#999999"
BOOK_COLOUR = "#6a3d9a"


def strategy_colour(strategy: str) -> str:
    """The strategy's colour: its place among the registered strategies."""
    names = list_strategies()
    i = names.index(strategy) if strategy in names else len(names) + sum(map(ord, strategy))
    return PALETTE[i % len(PALETTE)]


def _line_styles(result: LabResult) -> dict[str, dict[str, Any]]:
    """Per row: its strategy's colour and a dash per timeframe/dataset of that strategy."""
    seen: dict[str, int] = {}
    styles = {}
    for a in result.assessments:
        name = a.study.spec.strategy
        k = seen.get(name, 0)
        seen[name] = k + 1
        styles[a.strategy] = {"color": strategy_colour(name), "dash": DASHES[k % len(DASHES)]}
    return styles


def _params_text(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if k != "timeframe"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def equity_figure(result: LabResult) -> go.Figure:
    """Equity (growth of 1) above drawdown, one legend entry per row for both panels."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.04
    )
    styles = _line_styles(result)
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
    """About one month of bars, at most a fifth of the sample, at least 20."""
    ppy = result.assessments[0].study.periods_per_year
    n = len(result.data.bars)
    return int(max(20, min(ppy / 12.0, n / 5.0)))


def rolling_figure(result: LabResult, window: int) -> go.Figure:
    """Each row's annualised rolling Sharpe ratio over ``window`` bars, thinned for the page."""
    fig = go.Figure()
    styles = _line_styles(result)
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

    Small multiples; 30 bins of the finite logits.
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
    """Heatmap of the rows' return correlation (``None`` without an orthogonality check)."""
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
    """The row's equity and drawdown against buy-and-hold of the same asset on the same bars."""
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
    """The book's budget per member over time (steps: budgets change at month starts)."""
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
    """Net SR (annualised) against the cost per fill, re-run at each level; the break-even."""
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
    """The study's net SR over two parameter axes."""
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


def _pct(x: float, spec: str = ".1%") -> str:
    return format_number(x, spec)


def _month_rows(sheet: Performance) -> list[dict[str, Any]]:
    monthly = sheet.monthly.reindex(columns=range(1, 13))
    rows = []
    for year, row in monthly.iterrows():
        cells = [
            {"text": _pct(v) if pd.notna(v) else "", "sign": "pos" if v > 0 else "neg"} for v in row
        ]
        rows.append(
            {
                "year": year,
                "months": cells,
                "strategy": _pct(sheet.yearly.loc[year, "strategy"]),
                "benchmark": _pct(sheet.yearly.loc[year, "buy_and_hold"]),
            }
        )
    return rows


def _trade_rows(sheet: TearSheet) -> list[dict[str, str]]:
    return [
        {
            "entry": f"{t['entry_time']:%Y-%m-%d %H:%M}",
            "exit": f"{t['exit_time']:%Y-%m-%d %H:%M}",
            "side": "long" if t["direction"] > 0 else "short",
            "quantity": format_number(t["quantity"], ".4g"),
            "entry_price": format_number(t["entry_price"], ",.2f"),
            "exit_price": format_number(t["exit_price"], ",.2f"),
            "fees": format_number(t["fees"], ",.2f"),
            "funding": format_number(t["funding"], ",.2f"),
            "pnl": format_number(t["pnl"], ",.2f"),
            "ret": format_number(t["return"], ".2%"),
            "reason": t["exit_reason"],
        }
        for t in sheet.last_trades.to_dict("records")
    ]


def _sheet_view(
    a: StrategyAssessment,
    sheet: Performance,
    equity_html: str,
    slug: str,
) -> dict[str, Any]:
    """The template's view of the sections a strategy's and a book's tear sheets share."""
    costs = sheet.costs
    ann = math.sqrt(a.study.periods_per_year)
    metrics = [
        ("net SR (annualised)", format_number(a.moments.sr * ann, ".2f")),
        ("total return (net)", _pct(sheet.equity.iloc[-1] - 1.0)),
        ("buy and hold: total return", _pct(sheet.benchmark.iloc[-1] - 1.0)),
        ("max drawdown", _pct(sheet.drawdown.min())),
        ("buy and hold: max drawdown", _pct(sheet.benchmark_drawdown.min())),
        ("time in market", _pct(sheet.time_in_market)),
        ("mean gross exposure (|notional| / equity)", format_number(sheet.gross_exposure, ".2f")),
        ("turnover (traded notional / equity, per year)", format_number(sheet.turnover, ",.1f")),
    ]
    start = costs.start_equity
    cost_rows = [
        (name, format_number(v, ",.2f"), _pct(v / start, ".2%"))
        for name, v in (
            ("gross P&L (before costs)", costs.gross_pnl),
            ("fees", -costs.fees),
            ("slippage", -costs.slippage),
            ("funding", -costs.funding),
            ("net P&L", costs.net_pnl),
        )
    ]
    return {
        "label": a.strategy,
        "slug": slug,
        "equity_html": equity_html,
        "metrics": metrics,
        "months": _month_rows(sheet),
        "costs": cost_rows,
        "start_equity": format_number(start, ",.2f"),
        "criteria": _criteria(a.verdict, a.deflation),
        "passed": a.verdict.passed,
        "strategy_trials": a.deflation.strategy_trials,
        "family_trials": a.deflation.n_trials,
        "deflation_source": deflation_text(a.deflation),
        "bars": f"{len(sheet.returns):,} from {sheet.returns.index[0]:%Y-%m-%d}",
    }


def _tearsheet(
    a: StrategyAssessment, sheet: TearSheet, style: dict[str, Any], index: int, bundle: FigureBundle
) -> dict[str, Any]:
    """The template's view of one row's tear sheet (its figures registered in ``bundle``)."""
    cap = sheet.capacity
    slug = f"ts{index}"
    view = _sheet_view(
        a, sheet, bundle.add(tearsheet_equity_figure(sheet, style), f"{slug}-equity"), slug
    )
    view["metrics"][1:1] = [
        ("gross SR (annualised, no fees, slippage or funding)", format_number(cap.gross_sr, ".2f"))
    ]
    view["metrics"] += [
        ("trades", f"{sheet.n_trades:,}"),
        ("exits by stop-loss", _pct(sheet.stop_share["stop_loss"])),
        ("exits by take-profit", _pct(sheet.stop_share["take_profit"])),
        (
            "break-even cost per fill",
            f"{cap.breakeven_bps:.1f} bps"
            if math.isfinite(cap.breakeven_bps)
            else "none (no profit before fees and slippage)",
        ),
        ("bars (gate window)", view["bars"]),
    ]
    heat = heatmap_figure(sheet)
    return view | {
        "kind": "strategy",
        "params": _params_text(a.selected_params),
        "capacity_html": bundle.add(capacity_figure(sheet), f"{slug}-capacity"),
        "heatmap_html": bundle.add(heat, f"{slug}-heatmap") if heat is not None else "",
        "capacity": [
            (f"{c:g}", format_number(sr, ".2f"))
            for c, sr in zip(cap.cost_bps, cap.net_sr, strict=True)
        ],
        "trades": _trade_rows(sheet),
        "n_trades": sheet.n_trades,
        "trials_label": "trials: this strategy / data family (DSR's N)",
    }


def _book_tearsheet(
    book: BookAssessment, sheet: BookTearSheet, index: int, bundle: FigureBundle
) -> dict[str, Any]:
    """The template's view of a book's tear sheet.

    The shared sections, the members' budgets and the book's gate row (its candidates counted
    as trials).
    """
    slug = f"book{index}"
    style = {"color": BOOK_COLOUR}
    equity = bundle.add(tearsheet_equity_figure(sheet, style, "book (net)"), f"{slug}-equity")
    view = _sheet_view(book.assessment, sheet, equity, slug)
    view["metrics"] += [("bars (gate window)", view["bars"])]
    caps = {k: book.params[k] for k in ("max_weight", "max_gross", "kelly_fraction")}
    return view | {
        "kind": "book",
        "params": f"{book.params['weighting']} of {', '.join(book.params['members'])} "
        f"({', '.join(f'{k}={v:g}' for k, v in caps.items())})",
        "weights_html": bundle.add(weights_figure(sheet), f"{slug}-weights"),
        "trials_label": "trials: book candidates / data family (DSR's N, members' trials included)",
    }


def deflation_text(d: Deflation) -> str:
    """``Deflation.describe()`` without its list of datasets.

    That list names every dataset at every timeframe of the search (assets × timeframes) and
    would repeat in every row: it is given once, in the deflation section
    (:func:`_deflation_searches`).
    """
    fams = ", ".join(f[:12] for f in d.families)
    return (
        f"deflated by {d.n_trials} trials of {d.n_strategies} strategies (timeframes "
        f"{', '.join(d.timeframes) or '?'}) on data famil{'y' if len(d.families) == 1 else 'ies'}"
        f" {fams} ({len(d.datasets)} datasets, listed under the deflation table); this "
        f"strategy's own trials: {d.strategy_trials}"
    )


def _deflation_searches(result: LabResult) -> list[dict[str, str]]:
    """Each distinct set of data families the rows were deflated over, with its datasets."""
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    for a in _judged(result):
        seen.setdefault(a.deflation.families, a.deflation.datasets)
    return [
        {"families": ", ".join(f[:12] for f in fams), "datasets": ", ".join(datasets)}
        for fams, datasets in seen.items()
    ]


def _fails(verdict: Any, criterion: str) -> bool:
    return any(c.name == criterion and not c.passed for c in verdict.criteria)


def summary_lines(result: LabResult) -> list[str]:
    """Plain statements of the outcome; failures are stated as failures."""
    verdicts = result.verdicts
    n = len(verdicts)
    bars = result.data.bars
    days = (bars.index[-1] - bars.index[0]).total_seconds() / 86_400
    lines = [
        f"{result.n_passed} of {n} strategies pass the gate; {n - result.n_passed} fail. "
        f"Data: {result.data.name}, {len(bars):,} bars over {days:,.0f} days."
    ]
    passed = [s for s, v in verdicts.items() if v.passed]
    if passed:
        lines.append(f"Passing: {', '.join(passed)}.")
    for crit in result.gate.criteria:
        failing = [
            s
            for s, v in verdicts.items()
            if any(c.name == crit and not c.passed for c in v.criteria)
        ]
        if failing:
            lines.append(f"Fail {crit} ({len(failing)} of {n}): {', '.join(failing)}.")
    dsr_fail = sum(_fails(v, "dsr") for v in verdicts.values())
    if dsr_fail == n:
        lines.append(
            f"No strategy shows a Sharpe ratio that survives deflation for the configurations "
            f"tried on this data (DSR < {result.gate.min_dsr}): on this sample none has a "
            "demonstrated edge, and none is cleared for paper trading."
        )
    elif dsr_fail:
        lines.append(
            f"{dsr_fail} of {n} strategies fail the DSR criterion: their best Sharpe ratio is "
            "what the number of configurations tried would produce by chance."
        )
    if result.pooled:
        passing = [p.label for p in result.pooled if p.assessment.verdict.passed]
        lines.append(
            f"Pooled across the {len(result.datasets)} assets (equal-weight mean of their net "
            f"returns, the same gate, the family's N): {len(passing)} of {len(result.pooled)} "
            "strategy × timeframe rows pass" + (f": {', '.join(passing)}." if passing else ".")
        )
    together = rarely_together_line(result)
    if together:
        lines.append(together)
    if result.assessments:
        d = result.assessments[0].deflation
        lines.append(
            f"Every DSR is deflated by the {d.n_trials} trials of {d.n_strategies} strategies "
            f"logged on this data's family (timeframes {', '.join(d.timeframes)}; datasets "
            f"{', '.join(d.datasets)}), not only by the strategy's own."
        )
    cal = result.calibration
    power = ", ".join(f"{p:.0%} at annual SR {e:g}" for e, p in cal.power.items())
    lines.append(
        f"Gate calibration on {cal.settings.n_families} noise searches shaped like this one "
        f"({cal.shape.n_strategies} strategies × {cal.shape.n_configs} configurations, ρ "
        f"{cal.shape.rho:.2f}, {cal.shape.n_obs:,} bars): family-wise false-pass rate "
        f"{cal.false_pass:.1%} (per strategy {cal.strategy_false_pass:.1%}); power {power}."
    )
    return lines


def rarely_together_line(result: LabResult) -> str | None:
    """The summary's statement about pairs that only look uncorrelated, if any."""
    co = result.co_activity
    if co is None or co.rarely_together.empty:
        return None
    pairs = [f"{r.a}/{r.b} ({r.reason})" for r in co.rarely_together.itertuples()]
    shown = ", ".join(pairs[:8]) + (f" and {len(pairs) - 8} more" if len(pairs) > 8 else "")
    return (
        f"{len(pairs)} pairs look uncorrelated only because they are rarely active together: "
        f"{shown}. Effective number of independent bets: {co.effective_bets:.1f} from the "
        f"plain correlations, {co.effective_bets_conditional:.1f} from the correlations "
        "when both are active."
    )


def _co_activity(result: LabResult) -> dict[str, Any] | None:
    co = result.co_activity
    if co is None:
        return None
    return {
        "rows": [
            {
                "strategy": name,
                "time_in_market": f"{co.time_in_market[name]:.1%}",
                "beta": format_number(co.beta[name], ".3f"),
                "asset_correlation": format_number(co.asset_correlation[name], ".2f"),
            }
            for name in co.time_in_market.index
        ],
        "pairs": [
            {
                "a": r.a,
                "b": r.b,
                "correlation": format_number(r.correlation, ".2f"),
                "co_active": f"{r.co_active:.2%}",
                "conditional": format_number(r.conditional, ".2f"),
                "agreement": format_number(r.agreement, ".0%"),
                "reason": r.reason,
            }
            for r in co.rarely_together.itertuples()
        ],
        "effective_bets": f"{co.effective_bets:.1f}",
        "effective_bets_conditional": f"{co.effective_bets_conditional:.1f}",
        "n": len(co.time_in_market),
    }


def _deflation_rows(result: LabResult) -> list[dict[str, Any]]:
    rows = []
    for a in _judged(result):
        d = a.deflation
        m = a.moments
        track = next((c for c in a.verdict.criteria if c.name == "track_record"), None)
        mintrl_bars = min_track_record_length(
            m.sr,
            result.gate.track_record_sr_benchmark,
            m.skew,
            m.kurtosis,
            result.gate.track_record_alpha,
        )
        rows.append(
            {
                "strategy": a.strategy,
                "strategy_trials": d.strategy_trials,
                "n_trials": d.n_trials,
                "sr_variance": format_number(d.sr_variance, ".3g"),
                "source": deflation_text(d),
                "bets": f"{a.bets.n_bets:,}",
                "bars_per_bet": format_number(a.bets.bars_per_bet, ".1f"),
                "mintrl_bets": format_number(track.threshold, ",.1f") if track else "n/a",
                "bars": f"{m.n_obs:,}",
                "mintrl_bars": format_number(mintrl_bars, ",.0f"),
            }
        )
    return rows


def _judged(result: LabResult) -> list[StrategyAssessment]:
    """Every assessment the gate judged: the rows, the books, the pooled rows."""
    return [
        *result.assessments,
        *(b.assessment for b in result.books),
        *(p.assessment for p in result.pooled),
    ]


def _gate_rows(result: LabResult) -> list[dict[str, Any]]:
    rows = []
    books = {b.assessment.strategy: b for b in result.books}
    pooled = {p.label: p for p in result.pooled}
    for a in _judged(result):
        ann = math.sqrt(a.study.periods_per_year)
        book = books.get(a.strategy)
        if book is not None:
            weighting, members = book.params.get("weighting", ""), book.params.get("members", [])
            params = f"{weighting} of {', '.join(members)}"
        elif a.strategy in pooled:
            assets = ", ".join(m.study.spec.symbol for m in pooled[a.strategy].members.values())
            params = f"mean over {assets} of: {_params_text(a.selected_params)}"
        else:
            params = _params_text(a.selected_params)
        rows.append(
            {
                "strategy": a.strategy,
                "params": params,
                "sr_annual": format_number(a.moments.sr * ann, ".2f"),
                "sr": format_number(a.moments.sr, ".4f"),
                "passed": a.verdict.passed,
                "criteria": _criteria(a.verdict, a.deflation),
            }
        )
    for name, v in result.not_evaluated.items():
        row = {"strategy": name, "params": "", "sr_annual": "n/a", "sr": "n/a"}
        criteria = _criteria(v)
        for c in criteria[1:]:  # one reason for every criterion: said once, in the first
            c["detail"] = ""
        rows.append(row | {"passed": False, "criteria": criteria})
    return rows


def _criteria(verdict: Any, deflation: Deflation | None = None) -> list[dict[str, Any]]:
    """The verdict's criteria as the template shows them.

    The DSR's trial sources are in the short form of :func:`deflation_text` when
    ``deflation`` is given.
    """
    spec = {"dsr": ".3f", "track_record": ",.0f", "pbo": ".3f", "walk_forward": ".4f"}
    full, short = (deflation.describe(), deflation_text(deflation)) if deflation else ("", "")
    return [
        {
            "name": c.name,
            "value": format_number(c.value, spec.get(c.name, ".3g")),
            "comparison": c.comparison,
            "threshold": format_number(c.threshold, spec.get(c.name, ".3g")),
            "passed": c.passed,
            "detail": c.detail.replace(full, short) if full else c.detail,
        }
        for c in verdict.criteria
    ]


def _trial_rows(result: LabResult) -> list[dict[str, Any]]:
    rows = []
    for a in result.assessments:
        for k, (label, t) in enumerate(a.study.trials.iterrows()):
            ran = isinstance(t.get("sr"), float) and not math.isnan(t["sr"])
            rows.append(
                {
                    "strategy": a.strategy,
                    "first": k == 0,
                    "label": label,
                    "selected": label == a.selected,
                    "params": _params_text(t["params"]),
                    "sr_annual": format_number(t["sr_annual"], ".2f") if ran else "n/a",
                    "n_trades": int(t["n_trades"]) if ran else "n/a",
                    "total_return": format_number(t["total_return"], ".2%") if ran else "n/a",
                    "status": t["status"],
                }
            )
    return rows


def render_report(
    result: LabResult,
    sheets: dict[str, TearSheet] | None = None,
    book_sheets: dict[str, BookTearSheet] | None = None,
) -> str:
    """The report's HTML text.

    ``sheets``, ``book_sheets``: the rows' and the books' tear sheets, computed when not given.
    """
    sheets = lab_tear_sheets(result) if sheets is None else sheets
    book_sheets = lab_book_sheets(result, sheets) if book_sheets is None else book_sheets
    env = Environment(
        loader=PackageLoader("crypto_strategy_lab.research", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    template = env.get_template("lab_report.html.j2")
    bundle = FigureBundle()
    has_runs = bool(result.assessments)
    equity_html = rolling_html = pbo_html = "<p>No strategy could be evaluated.</p>"
    window = 0
    tearsheets = []
    if has_runs:
        equity_html = bundle.add(equity_figure(result), "equity-figure")
        window = rolling_window(result)
        rolling_html = bundle.add(rolling_figure(result, window), "rolling-sharpe-figure")
        pbo_html = bundle.add(pbo_figure(result), "pbo-figure")
        styles = _line_styles(result)
        tearsheets = [
            _tearsheet(a, sheets[a.strategy], styles[a.strategy], i, bundle)
            for i, a in enumerate(result.assessments)
        ]
        tearsheets += [
            _book_tearsheet(b, book_sheets[b.label], i, bundle) for i, b in enumerate(result.books)
        ]
    # the first tear sheet is in the page; the others, a few kB of table markup each and a
    # hundred in a multi-asset lab, are compressed like the figures and inserted when chosen
    sheet_html = {t["label"]: env.get_template("tearsheet.html.j2").render(t=t) for t in tearsheets}
    first_tearsheet = next(iter(sheet_html.values()), "")
    later_tearsheets = dict(itertools.islice(sheet_html.items(), 1, None))
    corr_fig = correlation_figure(result)
    ortho = result.orthogonality
    flagged, clusters = [], []
    if ortho is not None:
        flagged = [
            {"a": r.a, "b": r.b, "correlation": format_number(r.correlation, ".2f")}
            for r in ortho.flagged.itertuples()
        ]
        groups = ortho.clusters.groupby(ortho.clusters).groups
        clusters = [(f"cluster {k}", ", ".join(map(str, v))) for k, v in groups.items()]
    cal = result.calibration
    criteria_names = list(result.gate.criteria)
    costs = result.settings.costs.model_dump(mode="json")
    costs_rows = [(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in costs.items()]
    costs_rows += [
        ("market", result.settings.market),
        ("fill", result.settings.fill),
        ("fee side", result.settings.fee_side),
        ("sizing", f"{result.settings.sizing:g}"),
        ("stop-loss", format_number(result.settings.stop_loss, ".2%")),
        ("take-profit", format_number(result.settings.take_profit, ".2%")),
        ("intrabar rule", "a bar that touches both levels fills the stop first"),
    ]
    return template.render(
        run_id=result.run_id,
        created=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        mode="quick" if result.quick else "standard",
        elapsed=f"{result.seconds:.1f} s",
        plotly_js_gz=plotly_js_gzip(),
        loader_js=LOADER_JS,
        tearsheets=tearsheets,
        trade_list_length=TRADE_LIST_LENGTH,
        max_points=MAX_POINTS,
        n_passed=result.n_passed,
        summary_lines=summary_lines(result),
        criteria_names=criteria_names,
        gate_rows=_gate_rows(result),
        wf_folds=WALK_FORWARD_FOLDS,
        equity_html=equity_html,
        rolling_html=rolling_html,
        rolling_window=window,
        pbo_html=pbo_html,
        pbo_splits=result.gate.pbo_splits,
        corr_html=bundle.add(corr_fig, "correlation-figure") if corr_fig is not None else "",
        ortho_threshold=ortho.threshold if ortho is not None else "",
        flagged=flagged,
        clusters=clusters,
        co=_co_activity(result),
        deflation_rows=_deflation_rows(result),
        deflation_searches=_deflation_searches(result) if has_runs else [],
        cal={
            "n_families": cal.settings.n_families,
            "n_strategies": cal.shape.n_strategies,
            "n_configs": cal.shape.n_configs,
            "rho": f"{cal.shape.rho:.2f}",
            "n_obs": f"{cal.shape.n_obs:,}",
            "ppy": f"{cal.shape.periods_per_year:,.0f}",
            "time_in_market": f"{cal.shape.time_in_market:.0%}",
            "bars_per_bet": f"{cal.shape.bars_per_bet:.1f}",
            "noise": NOISE_TEXT.get(cal.settings.noise, cal.settings.noise),
            "seed": cal.settings.seed,
            "from_cache": cal.from_cache,
            "false_pass": f"{cal.false_pass:.1%}",
            "false_pass_ci": "{:.1%} – {:.1%}".format(*cal.false_pass_ci),
            "strategy_false_pass": f"{cal.strategy_false_pass:.2%}",
            "false_by": [
                format_number(cal.false_pass_by_criterion.get(c), ".0%") for c in criteria_names
            ],
            "power_rows": [
                {
                    "edge": f"{e:g}",
                    "rate": f"{p:.1%}",
                    "ci": "{:.1%} – {:.1%}".format(*cal.power_ci[e]),
                    "by": [
                        format_number(cal.power_by_criterion[e].get(c), ".0%")
                        for c in criteria_names
                    ],
                }
                for e, p in cal.power.items()
            ],
        },
        cal_seconds=f"{cal.seconds:.1f} s",
        trial_rows=_trial_rows(result),
        data_description=result.data.description,
        cleaning=result.data.cleaning,
        costs_sentence=result.settings.describe(),
        costs=costs_rows,
        figures_gz=bundle.payload(),
        first_tearsheet=first_tearsheet,
        tearsheets_gz=gzip_base64(json.dumps(later_tearsheets).encode("utf-8")),
    )


def write_report(result: LabResult, root: str | Path = "reports/lab") -> Path:
    """Write ``<root>/<run-id>/index.html`` and the machine-readable results beside it.

    The results are those of :mod:`crypto_strategy_lab.research.results`; returns the HTML's
    path.
    """
    out = Path(root) / result.run_id
    out.mkdir(parents=True, exist_ok=True)
    sheets = lab_tear_sheets(result)
    book_sheets = lab_book_sheets(result, sheets)
    write_results(result, sheets, out, book_sheets)
    path = out / "index.html"
    path.write_text(render_report(result, sheets, book_sheets), encoding="utf-8")
    return path
