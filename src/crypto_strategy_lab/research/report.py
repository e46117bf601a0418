"""The lab's self-contained HTML report (Jinja2 template + Plotly figures): the page.

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
family's N), ``pbo`` (logit histograms), ``orthogonality`` (correlation heatmap, flagged
pairs, clusters), ``calibration``, ``studies`` (every trial), ``data`` (description and
cleaning report) and ``costs``.

This module assembles the page (:func:`render_report`) and writes it with the results beside
it (:func:`write_report`). Its parts have a module each, and the names this module has always
given are still importable from it:

* :mod:`~crypto_strategy_lab.research.report_figures`: the Plotly figures, one colour per
  strategy (:func:`~crypto_strategy_lab.research.report_figures.strategy_colour`);
* :mod:`~crypto_strategy_lab.research.report_tables`: the gate, deflation, studies,
  co-activity, calibration and costs tables;
* :mod:`~crypto_strategy_lab.research.report_tearsheets`: the tear sheets' sections;
* :mod:`~crypto_strategy_lab.research.report_summary`: the summary's statements.

Curves are thinned for display only (:data:`~crypto_strategy_lab.research.figure_bundle.
MAX_POINTS` points per line); every number in the tables uses every bar.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from crypto_strategy_lab.research.assessment import WALK_FORWARD_FOLDS
from crypto_strategy_lab.research.figure_bundle import (
    LOADER_JS,
    MAX_POINTS,
    FigureBundle,
    gzip_base64,
    plotly_js_gzip,
)
from crypto_strategy_lab.research.lab import LabResult
from crypto_strategy_lab.research.report_figures import (
    BENCHMARK_COLOUR,
    BOOK_COLOUR,
    DASHES,
    PALETTE,
    capacity_figure,
    correlation_figure,
    equity_figure,
    heatmap_figure,
    line_styles,
    pbo_figure,
    rolling_figure,
    rolling_window,
    strategy_colour,
    tearsheet_equity_figure,
    weights_figure,
)
from crypto_strategy_lab.research.report_summary import rarely_together_line, summary_lines
from crypto_strategy_lab.research.report_tables import (
    NOISE_TEXT,
    calibration_table,
    cluster_rows,
    co_activity_table,
    cost_rows,
    deflation_rows,
    deflation_searches,
    deflation_text,
    flagged_pairs,
    gate_rows,
    trial_rows,
)
from crypto_strategy_lab.research.report_tearsheets import book_tearsheet_view, tearsheet_view
from crypto_strategy_lab.research.results import write_results
from crypto_strategy_lab.research.tearsheet import (
    TRADE_LIST_LENGTH,
    BookTearSheet,
    TearSheet,
    lab_book_sheets,
    lab_tear_sheets,
)

# the names this module has always given; the figures, tables and summary are their own modules
__all__ = [
    "BENCHMARK_COLOUR",
    "BOOK_COLOUR",
    "DASHES",
    "NOISE_TEXT",
    "PALETTE",
    "capacity_figure",
    "correlation_figure",
    "deflation_text",
    "equity_figure",
    "heatmap_figure",
    "pbo_figure",
    "rarely_together_line",
    "render_report",
    "rolling_figure",
    "rolling_window",
    "strategy_colour",
    "summary_lines",
    "tearsheet_equity_figure",
    "weights_figure",
    "write_report",
]


def render_report(
    result: LabResult,
    sheets: dict[str, TearSheet] | None = None,
    book_sheets: dict[str, BookTearSheet] | None = None,
) -> str:
    """The report's HTML text.

    Parameters
    ----------
    result : LabResult
        The lab run (:func:`~crypto_strategy_lab.research.lab.run_lab`).
    sheets : dict of str to TearSheet, optional
        The rows' tear sheets by row label; ``None`` computes them
        (:func:`~crypto_strategy_lab.research.tearsheet.lab_tear_sheets`, a backtest re-run per
        row and per cost level).
    book_sheets : dict of str to BookTearSheet, optional
        The books' tear sheets by book label; ``None`` computes them from ``sheets``.

    Returns
    -------
    str
        The self-contained page (module docstring): plotly.js, the figures and the tear sheets
        after the first embedded gzip + base64. It states when it was rendered (UTC, to the
        minute); apart from that stamp the same inputs render the same bytes (the compression
        stores no timestamp).
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
        styles = line_styles(result)
        tearsheets = [
            tearsheet_view(a, sheets[a.strategy], styles[a.strategy], i, bundle)
            for i, a in enumerate(result.assessments)
        ]
        tearsheets += [
            book_tearsheet_view(b, book_sheets[b.label], i, bundle)
            for i, b in enumerate(result.books)
        ]
    # the first tear sheet is in the page; the others, a few kB of table markup each and a
    # hundred in a multi-asset lab, are compressed like the figures and inserted when chosen
    sheet_html = {t["label"]: env.get_template("tearsheet.html.j2").render(t=t) for t in tearsheets}
    first_tearsheet = next(iter(sheet_html.values()), "")
    later_tearsheets = dict(itertools.islice(sheet_html.items(), 1, None))
    corr_fig = correlation_figure(result)
    ortho = result.orthogonality
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
        criteria_names=list(result.gate.criteria),
        gate_rows=gate_rows(result),
        wf_folds=WALK_FORWARD_FOLDS,
        equity_html=equity_html,
        rolling_html=rolling_html,
        rolling_window=window,
        pbo_html=pbo_html,
        pbo_splits=result.gate.pbo_splits,
        corr_html=bundle.add(corr_fig, "correlation-figure") if corr_fig is not None else "",
        ortho_threshold=ortho.threshold if ortho is not None else "",
        flagged=flagged_pairs(result),
        clusters=cluster_rows(result),
        co=co_activity_table(result),
        deflation_rows=deflation_rows(result),
        deflation_searches=deflation_searches(result) if has_runs else [],
        cal=calibration_table(result),
        cal_seconds=f"{result.calibration.seconds:.1f} s",
        trial_rows=trial_rows(result),
        data_description=result.data.description,
        cleaning=result.data.cleaning,
        costs_sentence=result.settings.describe(),
        costs=cost_rows(result),
        figures_gz=bundle.payload(),
        first_tearsheet=first_tearsheet,
        tearsheets_gz=gzip_base64(json.dumps(later_tearsheets).encode("utf-8")),
    )


def write_report(result: LabResult, root: str | Path = "reports/lab") -> Path:
    """Write ``<root>/<run-id>/index.html`` and the machine-readable results beside it.

    Parameters
    ----------
    result : LabResult
        The lab run.
    root : str or pathlib.Path, default "reports/lab"
        The reports' folder; ``<root>/<run-id>`` is created (parents too) and files already
        there are overwritten.

    Returns
    -------
    pathlib.Path
        The HTML's path. Beside it are the files of
        :func:`~crypto_strategy_lab.research.results.write_results` (``results.json``, the
        correlation, per-row returns and trades), computed from the same tear sheets.
    """
    out = Path(root) / result.run_id
    out.mkdir(parents=True, exist_ok=True)
    sheets = lab_tear_sheets(result)
    book_sheets = lab_book_sheets(result, sheets)
    write_results(result, sheets, out, book_sheets)
    path = out / "index.html"
    path.write_text(render_report(result, sheets, book_sheets), encoding="utf-8")
    return path
