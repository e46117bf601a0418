"""The lab report's tables as the page's template shows them: rows of display strings.

The gate table (every criterion's value, threshold and result per judged row), the deflation
table (each row's trial counts and where they come from), every trial of the studies, the
co-activity of the rows, the gate calibration and the costs. Numbers are formatted here
(:func:`~crypto_strategy_lab.research.display.format_number`), never recomputed: they are the
lab's (:class:`~crypto_strategy_lab.research.lab.LabResult`).
"""

from __future__ import annotations

import json
import math
from typing import Any

from crypto_strategy_lab.research.assessment import StrategyAssessment
from crypto_strategy_lab.research.display import format_number
from crypto_strategy_lab.research.lab import LabResult
from crypto_strategy_lab.validation.sharpe import min_track_record_length
from crypto_strategy_lab.validation.trial_log import Deflation

NOISE_TEXT = {
    "bootstrap": "this data's own bar returns, stationary-block-bootstrapped, traded by random "
    "signals with the grids' turnover",
    "t": "Student-t(5) returns with a common factor per strategy",
}


def params_text(params: dict[str, Any]) -> str:
    """A configuration as ``k=v, ...`` text, its timeframe left out (the row names it).

    Parameters
    ----------
    params : dict of str to Any
        A trial's parameters, in their order.

    Returns
    -------
    str
        ``"k=v, k=v"`` with each value's ``str``; empty for no parameters but the timeframe.
    """
    shown = {k: v for k, v in params.items() if k != "timeframe"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def deflation_text(d: Deflation) -> str:
    """``Deflation.describe()`` without its list of datasets.

    That list names every dataset at every timeframe of the search (assets × timeframes) and
    would repeat in every row: it is given once, in the deflation section
    (:func:`deflation_searches`).

    Parameters
    ----------
    d : Deflation
        The trials a row's DSR is deflated by (:class:`~crypto_strategy_lab.validation.
        trial_log.Deflation`).

    Returns
    -------
    str
        One line: the family's trials ``N`` and strategies, the timeframes (``?`` when none is
        recorded), the data families (their signatures' first 12 characters), the number of
        datasets and the row's own strategy's trials.
    """
    fams = ", ".join(f[:12] for f in d.families)
    return (
        f"deflated by {d.n_trials} trials of {d.n_strategies} strategies (timeframes "
        f"{', '.join(d.timeframes) or '?'}) on data famil{'y' if len(d.families) == 1 else 'ies'}"
        f" {fams} ({len(d.datasets)} datasets, listed under the deflation table); this "
        f"strategy's own trials: {d.strategy_trials}"
    )


def deflation_searches(result: LabResult) -> list[dict[str, str]]:
    """Each distinct set of data families the rows were deflated over, with its datasets.

    Parameters
    ----------
    result : LabResult
        The lab run; every judged row (rows, books, pooled rows).

    Returns
    -------
    list of dict
        One ``{"families": ..., "datasets": ...}`` per distinct tuple of families, in the order
        first met: the families' signatures (first 12 characters) and every dataset of the
        search, each comma-joined.
    """
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}
    for a in _judged(result):
        seen.setdefault(a.deflation.families, a.deflation.datasets)
    return [
        {"families": ", ".join(f[:12] for f in fams), "datasets": ", ".join(datasets)}
        for fams, datasets in seen.items()
    ]


def co_activity_table(result: LabResult) -> dict[str, Any] | None:
    """The co-activity section: each row's exposure and the rarely-together pairs.

    Parameters
    ----------
    result : LabResult
        The lab run; its co-activity report
        (:class:`~crypto_strategy_lab.validation.orthogonality.CoActivityReport`).

    Returns
    -------
    dict or None
        ``rows`` (per row: time in market, OLS beta and correlation to the asset's returns),
        ``pairs`` (the pairs that look uncorrelated only because they are rarely active
        together: plain and co-active correlation, share of bars both are active, sign
        agreement, reason), the effective number of bets from the plain and the conditional
        correlations, and ``n`` the number of rows. ``None`` without a co-activity report
        (fewer than two rows).
    """
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


def deflation_rows(result: LabResult) -> list[dict[str, Any]]:
    """Per judged row: its trials, the family's, the SR variance and the track record.

    Parameters
    ----------
    result : LabResult
        The lab run; every judged row (rows, books, pooled rows) and the gate's track-record
        settings.

    Returns
    -------
    list of dict
        Per row: its strategy's and the family's trials (the DSR's ``N``), the variance of the
        trials' SRs (per bar), the deflation's source (:func:`deflation_text`), the number of
        independent bets and bars per bet, the MinTRL in bets (the track-record criterion's
        threshold, ``n/a`` without that criterion), and the bars of the gate window beside the
        MinTRL in bars.

    Notes
    -----
    The MinTRL in bars is
    :func:`~crypto_strategy_lab.validation.sharpe.min_track_record_length` on the row's per-bar
    SR, skewness and kurtosis against the gate's benchmark SR at its confidence (Bailey and
    López de Prado, 2012, "The Sharpe ratio efficient frontier", *Journal of Risk* 15(2)); it is
    shown for comparison only: the gate counts bets.
    """
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


def gate_rows(result: LabResult) -> list[dict[str, Any]]:
    """Per judged row, then per row not evaluated: its configuration and its criteria.

    Parameters
    ----------
    result : LabResult
        The lab run: its rows, books and pooled rows (judged), and the rows the gate could not
        evaluate with their verdicts.

    Returns
    -------
    list of dict
        Per row: label, configuration (a book's weighting and members, a pooled row's assets),
        SR per bar (4 decimals) and annualised by ``sqrt(periods_per_year)`` (2 decimals),
        whether it passed and its criteria (:func:`criteria_rows`). A row not evaluated has SRs
        ``n/a``, fails, and gives its one reason in its first criterion only.
    """
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
            params = f"mean over {assets} of: {params_text(a.selected_params)}"
        else:
            params = params_text(a.selected_params)
        rows.append(
            {
                "strategy": a.strategy,
                "params": params,
                "sr_annual": format_number(a.moments.sr * ann, ".2f"),
                "sr": format_number(a.moments.sr, ".4f"),
                "passed": a.verdict.passed,
                "criteria": criteria_rows(a.verdict, a.deflation),
            }
        )
    for name, v in result.not_evaluated.items():
        row = {"strategy": name, "params": "", "sr_annual": "n/a", "sr": "n/a"}
        criteria = criteria_rows(v)
        for c in criteria[1:]:  # one reason for every criterion: said once, in the first
            c["detail"] = ""
        rows.append(row | {"passed": False, "criteria": criteria})
    return rows


def criteria_rows(verdict: Any, deflation: Deflation | None = None) -> list[dict[str, Any]]:
    """The verdict's criteria as the template shows them.

    The DSR's trial sources are in the short form of :func:`deflation_text` when
    ``deflation`` is given.

    Parameters
    ----------
    verdict : GateVerdict
        A row's gate verdict (:class:`~crypto_strategy_lab.validation.gate.GateVerdict`).
    deflation : Deflation, optional
        The row's deflation; ``None`` (a row not evaluated) keeps the details as they are.

    Returns
    -------
    list of dict
        Per criterion, in the gate's order: name, value and threshold (DSR and PBO 3 decimals,
        track record in whole bets, walk-forward 4 decimals, others 3 significant digits; ``n/a``
        for NaN), comparison, pass and detail.
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


def trial_rows(result: LabResult) -> list[dict[str, Any]]:
    """Every trial of every row's study, the selected one marked.

    Parameters
    ----------
    result : LabResult
        The lab run; each row's study's trials.

    Returns
    -------
    list of dict
        Per trial: row label (with ``first`` true on a row's first trial), trial label, whether
        it is the selected configuration, parameters, annualised SR, trades, total return and
        status; a trial that did not run (no SR) shows ``n/a`` for its numbers.
    """
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
                    "params": params_text(t["params"]),
                    "sr_annual": format_number(t["sr_annual"], ".2f") if ran else "n/a",
                    "n_trades": int(t["n_trades"]) if ran else "n/a",
                    "total_return": format_number(t["total_return"], ".2%") if ran else "n/a",
                    "status": t["status"],
                }
            )
    return rows


def calibration_table(result: LabResult) -> dict[str, Any]:
    """The gate calibration's shape, false-pass rate and power as the page shows them.

    Parameters
    ----------
    result : LabResult
        The lab run; its gate calibration
        (:class:`~crypto_strategy_lab.research.lab.CalibrationSummary`) and gate criteria.

    Returns
    -------
    dict
        The simulated searches' shape (families, strategies × configurations, ρ, bars, bars per
        year, time in market, bars per bet), the noise (:data:`NOISE_TEXT`), seed and whether it
        came from the cache; the family-wise false-pass rate with its interval, the per-strategy
        rate and the false-pass rate of each criterion; per planted annual SR the power with its
        interval and per criterion.
    """
    cal = result.calibration
    criteria_names = list(result.gate.criteria)
    return {
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
                    format_number(cal.power_by_criterion[e].get(c), ".0%") for c in criteria_names
                ],
            }
            for e, p in cal.power.items()
        ],
    }


def cost_rows(result: LabResult) -> list[tuple[str, str]]:
    """The stated cost model's fields and the backtest settings, as ``(name, value)`` rows.

    Parameters
    ----------
    result : LabResult
        The lab run; its backtest settings.

    Returns
    -------
    list of tuple of (str, str)
        Each field of the cost model as stated (a value that is not text as JSON), then market,
        fill, fee side, sizing, stop-loss and take-profit (fractions shown in %, ``n/a`` when
        off) and the intrabar rule.
    """
    settings = result.settings
    costs = settings.costs.model_dump(mode="json")
    rows = [(k, json.dumps(v) if not isinstance(v, str) else v) for k, v in costs.items()]
    rows += [
        ("market", settings.market),
        ("fill", settings.fill),
        ("fee side", settings.fee_side),
        ("sizing", f"{settings.sizing:g}"),
        ("stop-loss", format_number(settings.stop_loss, ".2%")),
        ("take-profit", format_number(settings.take_profit, ".2%")),
        ("intrabar rule", "a bar that touches both levels fills the stop first"),
    ]
    return rows


def flagged_pairs(result: LabResult) -> list[dict[str, str]]:
    """The pairs the orthogonality check flags, with their return correlation.

    Parameters
    ----------
    result : LabResult
        The lab run; its orthogonality check.

    Returns
    -------
    list of dict
        One ``{"a": ..., "b": ..., "correlation": ...}`` per flagged pair (correlation to two
        decimals); empty without an orthogonality check.
    """
    ortho = result.orthogonality
    if ortho is None:
        return []
    return [
        {"a": r.a, "b": r.b, "correlation": format_number(r.correlation, ".2f")}
        for r in ortho.flagged.itertuples()
    ]


def cluster_rows(result: LabResult) -> list[tuple[str, str]]:
    """The orthogonality check's clusters as ``("cluster k", "member, member, ...")`` rows.

    Parameters
    ----------
    result : LabResult
        The lab run; its orthogonality check's cluster of each row.

    Returns
    -------
    list of tuple of (str, str)
        One row per cluster in cluster order; empty without an orthogonality check.
    """
    ortho = result.orthogonality
    if ortho is None:
        return []
    groups = ortho.clusters.groupby(ortho.clusters).groups
    return [(f"cluster {k}", ", ".join(map(str, v))) for k, v in groups.items()]
