"""The lab's machine-readable results, written beside ``index.html``.

``reports/lab/<run-id>/`` holds:

* :data:`RESULTS_FILE` (``results.json``): the gate table, one row per lab row (strategy,
  timeframe, asset class, symbol) and per validated book (``strategy`` ``book``, its
  ``members``) — net SR (annualised; gross SR for the strategies), total return against
  buy-and-hold, max drawdown, turnover, time in market, gross exposure, costs (fees,
  slippage, funding, gross and net P&L),
  every gate criterion's value and result, the strategy's and the data family's trial counts
  (the DSR's N), the verdict, the break-even cost and the net SR at each capacity cost level —
  plus the gate's common thresholds (the track record's, MinTRL, is per row). Numbers are
  the gate's own (``GateVerdict.criteria``); a value that is not a number (NaN, infinite)
  is ``null``, so the file is strict JSON;
* :data:`CORRELATION_FILE`: the correlation of the selected configurations' returns;
* ``returns/<row>.csv`` (net return, equity, buy-and-hold, position per bar of the gate window)
  and ``trades/<row>.csv`` (every trade of the window) per evaluated row;
  ``returns/<book>.csv`` (net return, equity, buy-and-hold and ``budget:<member>`` per bar)
  per book; with several assets, one row per strategy and timeframe pooled across them
  (``symbol`` ``pooled``, its ``assets``: :mod:`crypto_strategy_lab.research.pooled`)
  with its total return against the equal-weight buy-and-hold of its assets, and
  ``returns/<pooled row>.csv`` (net return, equity, buy-and-hold per bar).

The dashboard's Research page reads these names from this module.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from crypto_strategy_lab.research.lab import LabResult
from crypto_strategy_lab.research.pooled import POOLED, PooledAssessment
from crypto_strategy_lab.research.tearsheet import (
    BookTearSheet,
    Performance,
    TearSheet,
    buy_and_hold_returns,
    drawdown_of,
    growth,
)
from crypto_strategy_lab.validation.gate import GateVerdict

#: The gate table of a lab run (JSON), beside ``index.html``.
RESULTS_FILE = "results.json"
#: The correlation matrix of the selected configurations' returns (CSV, labels in column 0).
CORRELATION_FILE = "correlation.csv"


def _number(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def row_slug(label: str) -> str:
    """A file name for a row label.

    ``lag_autocorr 1h crypto BTCUSDT`` -> ``lag_autocorr_1h_crypto_BTCUSDT``.

    Parameters
    ----------
    label : str
        A row label (:attr:`~crypto_strategy_lab.research.lab.LabCell.label`, a book's or a
        pooled row's).

    Returns
    -------
    str
        `label` with every run of characters other than ASCII letters, digits, ``.`` and
        ``-`` replaced by one ``_``, and leading/trailing ``_`` removed.
    """
    return re.sub(r"[^A-Za-z0-9.-]+", "_", label).strip("_")


def _performance_fields(sheet: Performance) -> dict[str, Any]:
    """The numbers of the sections a strategy's and a book's tear sheets share."""
    costs = sheet.costs
    return {
        "total_return": _number(sheet.equity.iloc[-1] - 1.0),
        "buy_and_hold_return": _number(sheet.benchmark.iloc[-1] - 1.0),
        "max_drawdown": _number(sheet.drawdown.min()),
        "turnover_annual": _number(sheet.turnover),
        "time_in_market": _number(sheet.time_in_market),
        "gross_exposure": _number(sheet.gross_exposure),
        "costs": {
            "fees": _number(costs.fees),
            "slippage": _number(costs.slippage),
            "funding": _number(costs.funding),
            "gross_pnl": _number(costs.gross_pnl),
            "net_pnl": _number(costs.net_pnl),
            "start_equity": _number(costs.start_equity),
        },
        "returns_csv": f"returns/{row_slug(sheet.label)}.csv",
    }


def results_rows(
    result: LabResult,
    sheets: dict[str, TearSheet],
    book_sheets: dict[str, BookTearSheet] | None = None,
) -> list[dict[str, Any]]:
    """One JSON-ready row per lab row, book and pooled row (module docstring).

    Parameters
    ----------
    result : LabResult
        The lab run.
    sheets : dict of str to TearSheet
        The tear sheet of every evaluated row, by label (the performance, trade and capacity
        numbers come from it).
    book_sheets : dict of str to BookTearSheet or None, optional
        The tear sheet of every book, by label; ``None`` (default): book rows carry only the
        gate's numbers.

    Returns
    -------
    list of dict
        The lab rows (evaluated ones first, then those not evaluated, with their
        ``reason``), then the books, then the pooled rows. Every number that is not finite
        is ``None``, so the rows dump as strict JSON; SRs are given annualised
        (``sr_annual``) and per bar (``sr_per_bar``), returns as fractions.
    """
    rows = []
    for label, verdict in result.verdicts.items():
        cell = result.cells[label]
        a = next((x for x in result.assessments if x.strategy == label), None)
        row: dict[str, Any] = {
            "label": label,
            "strategy": cell.strategy,
            "timeframe": cell.timeframe,
            "asset_class": cell.asset_class,
            "symbol": cell.data.symbol,
            "dataset": cell.data.name,
            "evaluated": a is not None,
            "verdict": "PASS" if verdict.passed else "FAIL",
            "passed": bool(verdict.passed),
            "failed": [c.name for c in verdict.criteria if not c.passed],
        }
        row |= _criteria_fields(verdict)
        if a is None:
            row["reason"] = verdict.criteria[0].detail if verdict.criteria else ""
            rows.append(row)
            continue
        sheet = sheets[label]
        ann = math.sqrt(a.study.periods_per_year)
        row |= {
            "params": a.selected_params,
            "sr_annual": _number(a.moments.sr * ann),
            "gross_sr_annual": _number(sheet.capacity.gross_sr),
            "sr_per_bar": _number(a.moments.sr),
            "n_obs": a.moments.n_obs,
            "strategy_trials": a.deflation.strategy_trials,
            "family_trials": a.deflation.n_trials,
            "sr_variance": _number(a.deflation.sr_variance),
            **_performance_fields(sheet),
            "n_trades": sheet.n_trades,
            "breakeven_bps": _number(sheet.capacity.breakeven_bps),
            "net_sr_by_cost_bps": {
                f"{c:g}": _number(sr)
                for c, sr in zip(sheet.capacity.cost_bps, sheet.capacity.net_sr, strict=True)
            },
            "trades_csv": f"trades/{row_slug(label)}.csv",
        }
        rows.append(row)
    for book in result.books:
        a = book.assessment
        cell = result.cells[next(iter(book.members.values())).strategy]
        row = {
            "label": a.strategy,
            "strategy": "book",
            "timeframe": cell.timeframe,
            "asset_class": cell.asset_class,
            "symbol": cell.data.symbol,
            "dataset": cell.data.name,
            "evaluated": True,
            "verdict": "PASS" if book.verdict.passed else "FAIL",
            "passed": bool(book.verdict.passed),
            "failed": [c.name for c in book.verdict.criteria if not c.passed],
            **_criteria_fields(book.verdict),
            "params": book.params,
            "members": list(book.members),
            "sr_annual": _number(a.moments.sr * math.sqrt(a.study.periods_per_year)),
            "sr_per_bar": _number(a.moments.sr),
            "n_obs": a.moments.n_obs,
            "strategy_trials": a.deflation.strategy_trials,
            "family_trials": a.deflation.n_trials,
            "sr_variance": _number(a.deflation.sr_variance),
        }
        if book_sheets is not None:
            row |= _performance_fields(book_sheets[book.label])
        rows.append(row)
    for pooled in result.pooled:
        a = pooled.assessment
        rows.append(
            {
                "label": pooled.label,
                "strategy": pooled.strategy,
                "timeframe": pooled.timeframe,
                "asset_class": pooled.asset_class,
                "symbol": POOLED,
                "pooled": True,
                "assets": [m.study.spec.symbol for m in pooled.members.values()],
                "evaluated": True,
                "verdict": "PASS" if a.verdict.passed else "FAIL",
                "passed": bool(a.verdict.passed),
                "failed": [c.name for c in a.verdict.criteria if not c.passed],
                **_criteria_fields(a.verdict),
                "params": a.selected_params,
                "stop": a.study.trials.loc[a.selected, "stop"],
                "sr_annual": _number(a.moments.sr * math.sqrt(a.study.periods_per_year)),
                "sr_per_bar": _number(a.moments.sr),
                "n_obs": a.moments.n_obs,
                "strategy_trials": a.deflation.strategy_trials,
                "family_trials": a.deflation.n_trials,
                "sr_variance": _number(a.deflation.sr_variance),
                **_pooled_fields(pooled_curves(result, pooled)),
                "returns_csv": f"returns/{row_slug(pooled.label)}.csv",
            }
        )
    return rows


def pooled_curves(result: LabResult, pooled: PooledAssessment) -> pd.DataFrame:
    """A pooled row's net return and growth of 1, with its assets' buy-and-hold.

    The buy-and-hold is equal-weight, over the same bars.

    Parameters
    ----------
    result : LabResult
        The lab run whose bars the members were studied on.
    pooled : PooledAssessment
        The pooled row.

    Returns
    -------
    pandas.DataFrame
        Indexed by the pooled returns' bars: ``net_return``, ``equity`` (growth of 1, the
        cumulative product of ``1 + net_return``) and ``buy_and_hold`` (growth of 1 of the
        equal-weight buy-and-hold of the members' closes).
    """
    returns = pooled.assessment.returns
    closes = pd.concat(
        {name: result.cell_bars(m.strategy)["close"] for name, m in pooled.members.items()},
        axis=1,
    )
    bench = buy_and_hold_returns(closes).reindex(returns.index)
    return pd.DataFrame(
        {"net_return": returns, "equity": growth(returns), "buy_and_hold": growth(bench)}
    )


def _pooled_fields(curves: pd.DataFrame) -> dict[str, Any]:
    return {
        "total_return": _number(curves["equity"].iloc[-1] - 1.0),
        "buy_and_hold_return": _number(curves["buy_and_hold"].iloc[-1] - 1.0),
        "max_drawdown": _number(drawdown_of(curves["equity"]).min()),
    }


def _criteria_fields(verdict: GateVerdict) -> dict[str, Any]:
    """Each criterion's value, threshold and result.

    As ``<name>``, ``<name>_threshold``, ``<name>_passed``.
    """
    out: dict[str, Any] = {}
    for c in verdict.criteria:
        out[c.name] = _number(c.value)
        out[f"{c.name}_threshold"] = _number(c.threshold)
        out[f"{c.name}_passed"] = bool(c.passed)
    return out


def write_results(
    result: LabResult,
    sheets: dict[str, TearSheet],
    directory: Path,
    book_sheets: dict[str, BookTearSheet] | None = None,
) -> Path:
    """Write the files of the module docstring into ``directory``.

    Parameters
    ----------
    result : LabResult
        The lab run.
    sheets : dict of str to TearSheet
        The tear sheet of every evaluated row, by label: one ``returns/`` and one ``trades/``
        CSV each.
    directory : pathlib.Path
        An existing folder (the report's); ``returns/`` and ``trades/`` are created in it.
        Files of the same names are overwritten.
    book_sheets : dict of str to BookTearSheet or None, optional
        The tear sheet of every book, by label: one ``returns/`` CSV each, with the budgets
        as ``budget:<member>`` columns; ``None`` (default): no book CSVs.

    Returns
    -------
    pathlib.Path
        The path of :data:`RESULTS_FILE`: ``run_id``, ``quick``, ``datasets``, the gate's
        common ``thresholds`` and the ``gate`` rows (:func:`results_rows`), as strict JSON.
    """
    gate = result.gate
    # the track record's threshold (MinTRL) is each row's own: it is in the rows only
    thresholds = {
        "dsr": gate.min_dsr,
        "pbo": gate.max_pbo,
        "walk_forward": gate.min_walk_forward_sharpe,
    }
    payload = {
        "run_id": result.run_id,
        "quick": result.quick,
        "datasets": [d.name for d in result.datasets or (result.data,)],
        "thresholds": thresholds,
        "gate": results_rows(result, sheets, book_sheets),
    }
    path = directory / RESULTS_FILE
    path.write_text(json.dumps(payload, indent=1, allow_nan=False), encoding="utf-8")
    if result.orthogonality is not None:
        result.orthogonality.correlation.to_csv(directory / CORRELATION_FILE)
    for sub in ("returns", "trades"):
        (directory / sub).mkdir(exist_ok=True)
    for label, sheet in sheets.items():
        slug = row_slug(label)
        frame = pd.DataFrame(
            {
                "net_return": sheet.returns,
                "equity": sheet.equity,
                "buy_and_hold": sheet.benchmark,
                "position": sheet.backtest.positions.loc[sheet.returns.index[0] :],
            }
        )
        frame.to_csv(directory / "returns" / f"{slug}.csv", index_label="time")
        sheet.trades.to_csv(directory / "trades" / f"{slug}.csv", index=False)
    for pooled in result.pooled:
        curves = pooled_curves(result, pooled)
        curves.to_csv(directory / "returns" / f"{row_slug(pooled.label)}.csv", index_label="time")
    for label, book in (book_sheets or {}).items():
        frame = pd.DataFrame(
            {"net_return": book.returns, "equity": book.equity, "buy_and_hold": book.benchmark}
        )
        frame = frame.join(book.weights.add_prefix("budget:"))
        frame.to_csv(directory / "returns" / f"{row_slug(label)}.csv", index_label="time")
    return path
