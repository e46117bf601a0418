"""The lab report's tear sheets as the page's template shows them (``tearsheet.html.j2``).

A row's tear sheet (:func:`tearsheet_view`) and a book's (:func:`book_tearsheet_view`) share
their sections: the equity and drawdown figure against buy-and-hold, the headline metrics,
monthly and yearly returns, cost attribution and the row's gate numbers. A row adds its stop
exits, last trades, parameter heatmap and net SR vs cost; a book its members' budgets over
time. The numbers are :mod:`crypto_strategy_lab.research.tearsheet`'s, formatted here; the
figures are :mod:`crypto_strategy_lab.research.report_figures`', registered in the page's
:class:`~crypto_strategy_lab.research.figure_bundle.FigureBundle`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from crypto_strategy_lab.research.assessment import StrategyAssessment
from crypto_strategy_lab.research.book import BookAssessment
from crypto_strategy_lab.research.display import format_number
from crypto_strategy_lab.research.figure_bundle import FigureBundle
from crypto_strategy_lab.research.report_figures import (
    BOOK_COLOUR,
    capacity_figure,
    heatmap_figure,
    tearsheet_equity_figure,
    weights_figure,
)
from crypto_strategy_lab.research.report_tables import criteria_rows, deflation_text, params_text
from crypto_strategy_lab.research.tearsheet import BookTearSheet, Performance, TearSheet


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
        "criteria": criteria_rows(a.verdict, a.deflation),
        "passed": a.verdict.passed,
        "strategy_trials": a.deflation.strategy_trials,
        "family_trials": a.deflation.n_trials,
        "deflation_source": deflation_text(a.deflation),
        "bars": f"{len(sheet.returns):,} from {sheet.returns.index[0]:%Y-%m-%d}",
    }


def tearsheet_view(
    a: StrategyAssessment, sheet: TearSheet, style: dict[str, Any], index: int, bundle: FigureBundle
) -> dict[str, Any]:
    """The template's view of one row's tear sheet (its figures registered in ``bundle``).

    Parameters
    ----------
    a : StrategyAssessment
        The row: its selected configuration, moments, verdict and deflation.
    sheet : TearSheet
        The row's tear sheet numbers (:func:`~crypto_strategy_lab.research.tearsheet.
        tear_sheet`).
    style : dict
        The row's plotly line (:func:`~crypto_strategy_lab.research.report_figures.
        line_styles`).
    index : int
        The row's place among the rows; the figures' ids are ``ts<index>-equity``,
        ``ts<index>-capacity`` and ``ts<index>-heatmap``.
    bundle : FigureBundle
        The page's figures; the row's equity, capacity and (when its grid varies) heatmap
        figures are added to it, in that order.

    Returns
    -------
    dict
        What ``tearsheet.html.j2`` shows: the shared sections (label, figure placeholders,
        headline metrics, monthly and yearly returns, costs, the gate row and its trial counts)
        and the row's own (gross SR, trades and stop exits, break-even cost, the net SR at each
        cost level, the last trades).
    """
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
        "params": params_text(a.selected_params),
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


def book_tearsheet_view(
    book: BookAssessment, sheet: BookTearSheet, index: int, bundle: FigureBundle
) -> dict[str, Any]:
    """The template's view of a book's tear sheet.

    The shared sections, the members' budgets and the book's gate row (its candidates counted
    as trials).

    Parameters
    ----------
    book : BookAssessment
        The validated book: its assessment and the selected candidate's parameters (weighting,
        members, caps).
    sheet : BookTearSheet
        The book's tear sheet numbers (:func:`~crypto_strategy_lab.research.tearsheet.
        book_tear_sheet`).
    index : int
        The book's place among the books; its figures' ids are ``book<index>-equity`` and
        ``book<index>-weights``.
    bundle : FigureBundle
        The page's figures; the book's equity and budgets figures are added to it.

    Returns
    -------
    dict
        What ``tearsheet.html.j2`` shows for a book: the shared sections, the weighting of its
        members with its caps (max weight, max gross, Kelly fraction) and the budgets figure.
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
