"""The lab's self-contained HTML report (Jinja2 template + Plotly figures).

``reports/lab/<run-id>/index.html`` opens offline: plotly.js is inlined once in the page head
and every figure is a ``<div>`` that uses it. Sections (each a ``<section id=...>``):
``summary``, ``gate`` (every criterion's value, threshold and result), ``equity`` (equity and
drawdown per strategy), ``rolling-sharpe``, ``pbo`` (logit histograms), ``orthogonality``
(correlation heatmap, flagged pairs, clusters), ``calibration``, ``studies`` (every trial),
``data`` (description and cleaning report) and ``costs``.

Curves are drawn at most :data:`MAX_POINTS` points per trace (every k-th bar) to keep the page
light; every number in the tables is computed on every bar.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from crypto_strategy_lab.performance.metrics import rolling_sharpe
from crypto_strategy_lab.research.assessment import WALK_FORWARD_FOLDS
from crypto_strategy_lab.research.display import format_number
from crypto_strategy_lab.research.lab import LabResult
from crypto_strategy_lab.research.results import write_results
from crypto_strategy_lab.research.tearsheet import TearSheet, lab_tear_sheets
from crypto_strategy_lab.validation.sharpe import min_track_record_length

MAX_POINTS = 2500
NOISE_TEXT = {
    "bootstrap": "this data's own bar returns, stationary-block-bootstrapped, traded by random "
    "signals with the grids' turnover",
    "t": "Student-t(5) returns with a common factor per strategy",
}


def _params_text(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if k != "timeframe"}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def _thin(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    step = max(1, math.ceil(len(frame) / MAX_POINTS))
    return frame.iloc[::step], step


def _div(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(template="plotly_white", margin={"l": 50, "r": 20, "t": 40, "b": 40})
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id)


def equity_figure(result: LabResult) -> tuple[go.Figure, int]:
    """Equity (growth of 1) above drawdown, one legend entry per strategy for both panels."""
    rets = pd.DataFrame({a.strategy: a.returns for a in result.assessments})
    equity = (1.0 + rets.fillna(0.0)).cumprod()
    dd = equity / equity.cummax() - 1.0
    eq_t, step = _thin(equity)
    dd_t, _ = _thin(dd)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.04
    )
    palette = pio.templates["plotly_white"].layout.colorway
    for i, name in enumerate(equity.columns):
        color = palette[i % len(palette)]
        common = {"legendgroup": name, "line": {"color": color, "width": 1.2}}
        fig.add_trace(go.Scatter(x=eq_t.index, y=eq_t[name], name=name, **common), 1, 1)
        fig.add_trace(
            go.Scatter(x=dd_t.index, y=dd_t[name], name=name, showlegend=False, **common), 2, 1
        )
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    fig.update_layout(height=650, title="Equity and drawdown (selected configuration, net)")
    return fig, step


def rolling_window(result: LabResult) -> int:
    """About one month of bars, at most a fifth of the sample, at least 20."""
    ppy = result.assessments[0].study.periods_per_year
    n = len(result.data.bars)
    return int(max(20, min(ppy / 12.0, n / 5.0)))


def rolling_figure(result: LabResult, window: int) -> go.Figure:
    fig = go.Figure()
    for a in result.assessments:
        rs = rolling_sharpe(a.returns, window, a.study.periods_per_year)
        thin, _ = _thin(rs.to_frame())
        fig.add_trace(go.Scatter(x=thin.index, y=thin.iloc[:, 0], name=a.strategy, mode="lines"))
    fig.add_hline(y=0.0, line={"color": "#888", "width": 1})
    fig.update_layout(height=420, title=f"Rolling Sharpe ratio (annualised, {window} bars)")
    return fig


def pbo_figure(result: LabResult) -> go.Figure:
    """A histogram of the CSCV logits per strategy (small multiples)."""
    items = [a for a in result.assessments if a.pbo is not None]
    cols = 4
    rows = max(1, math.ceil(len(items) / cols))
    titles = [f"{a.strategy} (PBO {a.pbo.pbo:.2f})" for a in items]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.12)
    for i, a in enumerate(items):
        r, c = divmod(i, cols)
        fig.add_trace(
            go.Histogram(x=a.pbo.logits, nbinsx=30, showlegend=False, marker_color="#4c78a8"),
            r + 1,
            c + 1,
        )
        fig.add_vline(x=0.0, line={"color": "#c4161c", "width": 1}, row=r + 1, col=c + 1)
    fig.update_annotations(font_size=11)
    fig.update_layout(height=260 * rows, title="CSCV logits λ (λ ≤ 0: overfit split)")
    return fig


def correlation_figure(result: LabResult) -> go.Figure | None:
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
    for a in result.assessments:
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
                "source": d.describe(),
                "bets": f"{a.bets.n_bets:,}",
                "bars_per_bet": format_number(a.bets.bars_per_bet, ".1f"),
                "mintrl_bets": format_number(track.threshold, ",.1f") if track else "n/a",
                "bars": f"{m.n_obs:,}",
                "mintrl_bars": format_number(mintrl_bars, ",.0f"),
            }
        )
    return rows


def _gate_rows(result: LabResult) -> list[dict[str, Any]]:
    rows = []
    for a in result.assessments:
        ann = math.sqrt(a.study.periods_per_year)
        rows.append(
            {
                "strategy": a.strategy,
                "params": _params_text(a.selected_params),
                "sr_annual": format_number(a.moments.sr * ann, ".2f"),
                "sr": format_number(a.moments.sr, ".4f"),
                "passed": a.verdict.passed,
                "criteria": _criteria(a.verdict),
            }
        )
    for name, v in result.not_evaluated.items():
        row = {"strategy": name, "params": "", "sr_annual": "n/a", "sr": "n/a"}
        rows.append(row | {"passed": False, "criteria": _criteria(v)})
    return rows


def _criteria(verdict: Any) -> list[dict[str, Any]]:
    spec = {"dsr": ".3f", "track_record": ",.0f", "pbo": ".3f", "walk_forward": ".4f"}
    return [
        {
            "name": c.name,
            "value": format_number(c.value, spec.get(c.name, ".3g")),
            "comparison": c.comparison,
            "threshold": format_number(c.threshold, spec.get(c.name, ".3g")),
            "passed": c.passed,
            "detail": c.detail,
        }
        for c in verdict.criteria
    ]


def _trial_rows(result: LabResult) -> list[dict[str, Any]]:
    rows = []
    for a in result.assessments:
        for label, t in a.study.trials.iterrows():
            ran = isinstance(t.get("sr"), float) and not math.isnan(t["sr"])
            rows.append(
                {
                    "strategy": a.strategy,
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


def render_report(result: LabResult, sheets: dict[str, TearSheet] | None = None) -> str:
    """The report's HTML text (``sheets``: the rows' tear sheets, computed when not given)."""
    sheets = lab_tear_sheets(result) if sheets is None else sheets
    env = Environment(
        loader=PackageLoader("crypto_strategy_lab.research", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    template = env.get_template("lab_report.html.j2")
    has_runs = bool(result.assessments)
    equity_html = rolling_html = pbo_html = "<p>No strategy could be evaluated.</p>"
    plot_note, window = "", 0
    if has_runs:
        fig, step = equity_figure(result)
        equity_html = _div(fig, "equity-figure")
        if step > 1:
            plot_note = f"Curves drawn every {step} bars; all statistics use every bar."
        window = rolling_window(result)
        rolling_html = _div(rolling_figure(result, window), "rolling-sharpe-figure")
        pbo_html = _div(pbo_figure(result), "pbo-figure")
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
        plotly_js=get_plotlyjs(),
        n_passed=result.n_passed,
        summary_lines=summary_lines(result),
        criteria_names=criteria_names,
        gate_rows=_gate_rows(result),
        wf_folds=WALK_FORWARD_FOLDS,
        equity_html=equity_html,
        plot_note=plot_note,
        rolling_html=rolling_html,
        rolling_window=window,
        pbo_html=pbo_html,
        pbo_splits=result.gate.pbo_splits,
        corr_html=_div(corr_fig, "correlation-figure") if corr_fig is not None else "",
        ortho_threshold=ortho.threshold if ortho is not None else "",
        flagged=flagged,
        clusters=clusters,
        co=_co_activity(result),
        deflation_rows=_deflation_rows(result),
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
    )


def write_report(result: LabResult, root: str | Path = "reports/lab") -> Path:
    """Write ``<root>/<run-id>/index.html`` and the machine-readable results beside it
    (:mod:`crypto_strategy_lab.research.results`); return the HTML's path."""
    out = Path(root) / result.run_id
    out.mkdir(parents=True, exist_ok=True)
    sheets = lab_tear_sheets(result)
    write_results(result, sheets, out)
    path = out / "index.html"
    path.write_text(render_report(result, sheets), encoding="utf-8")
    return path
