"""The lab report's summary: plain statements of the outcome, failures stated as failures.

How many rows pass the gate and which criterion each failing row fails, whether any Sharpe
ratio survives deflation, the pooled rows, the pairs that only look uncorrelated, the trials
every DSR is deflated by and the gate's calibration (false-pass rate and power).
"""

from __future__ import annotations

from typing import Any

from crypto_strategy_lab.research.lab import LabResult


def _fails(verdict: Any, criterion: str) -> bool:
    return any(c.name == criterion and not c.passed for c in verdict.criteria)


def summary_lines(result: LabResult) -> list[str]:
    """Plain statements of the outcome; failures are stated as failures.

    Parameters
    ----------
    result : LabResult
        The lab run: its verdicts, gate, pooled rows, co-activity, deflation and calibration.

    Returns
    -------
    list of str
        In order: how many rows pass and the data's size and span; the passing rows; per
        criterion, the rows that fail it; whether any Sharpe ratio survives deflation; the pooled
        rows that pass; the pairs that only look uncorrelated (:func:`rarely_together_line`);
        the trials every DSR is deflated by; the gate calibration's false-pass rate and power.
    """
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
    """The summary's statement about pairs that only look uncorrelated, if any.

    Parameters
    ----------
    result : LabResult
        The lab run; its co-activity report.

    Returns
    -------
    str or None
        The pairs (the first 8 named, with their reason) and the effective number of
        independent bets from the plain and from the co-active correlations; ``None`` without a
        co-activity report or without such pairs.
    """
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
