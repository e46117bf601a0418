"""The research lab: every strategy through a small study, the backtest with costs, the gate,
orthogonality and the gate's own calibration, into one verdict table and one HTML report.

Steps of :func:`run_lab`:

1. a grid study per strategy (:data:`~crypto_strategy_lab.research.spaces.LAB_SPACES`, six
   configurations each, four with ``quick``), configurations whose warm-up exceeds half the
   bars dropped; every trial logged (so ``n_trials`` in DSR is the number actually tried);
2. the backtest of each configuration with the stated costs
   (:func:`~crypto_strategy_lab.research.inputs.default_settings`);
3. selection, DSR, MinTRL, PBO and walk-forward, then the gate
   (:mod:`crypto_strategy_lab.research.assessment`);
4. orthogonality of the selected configurations' returns;
5. a reduced gate calibration (false-pass rate on pure-noise families, power on families with
   a planted edge; :mod:`crypto_strategy_lab.validation.calibration`) with Clopper–Pearson 95 %
   intervals, so the report says how much a pass or a fail is worth;
6. the verdicts stored in the journal (:mod:`crypto_strategy_lab.research.verdicts`), a rich
   table on the console and ``reports/lab/<run-id>/index.html``.

A strategy that fails is reported as failing, with the criteria that failed it; a strategy the
data cannot evaluate (warm-up longer than the data) fails with that reason.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table
from scipy.stats import binomtest
from sqlalchemy import Engine

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.journal.db import make_engine
from crypto_strategy_lab.research.assessment import StrategyAssessment, assess_study
from crypto_strategy_lab.research.display import format_number
from crypto_strategy_lab.research.executors import TrialExecutor
from crypto_strategy_lab.research.identity import strategy_code_version
from crypto_strategy_lab.research.inputs import LabData, default_settings
from crypto_strategy_lab.research.spaces import grid_configs, lab_space
from crypto_strategy_lab.research.study import StudySpec, run_studies
from crypto_strategy_lab.research.trial import BacktestSettings
from crypto_strategy_lab.research.verdicts import VerdictStore
from crypto_strategy_lab.strategies import get_strategy, list_strategies
from crypto_strategy_lab.validation.calibration import gate_pass_rate
from crypto_strategy_lab.validation.gate import Criterion, GateConfig, GateVerdict
from crypto_strategy_lab.validation.orthogonality import OrthogonalityReport, orthogonality_report
from crypto_strategy_lab.validation.trial_log import TrialLog


class LabError(CSLError):
    """The lab cannot run (no strategy could be evaluated, unknown strategy name...)."""


@dataclass(frozen=True)
class CalibrationSettings:
    """Size of the lab's reduced gate calibration (the full one is the benchmark's)."""

    n_families: int = 200
    n_obs: int = 2000
    n_configs: int = 6
    edge_sr: float = 0.1
    seed: int = 0


@dataclass(frozen=True)
class CalibrationSummary:
    """Pass rates with Clopper–Pearson 95 % intervals."""

    settings: CalibrationSettings
    false_pass: float
    false_pass_ci: tuple[float, float]
    power: float
    power_ci: tuple[float, float]
    false_pass_by_criterion: dict[str, float]
    power_by_criterion: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class LabResult:
    """Everything one lab run produced."""

    run_id: str
    data: LabData
    settings: BacktestSettings
    gate: GateConfig
    assessments: list[StrategyAssessment]
    not_evaluated: dict[str, GateVerdict]
    orthogonality: OrthogonalityReport | None
    calibration: CalibrationSummary
    quick: bool
    seconds: float = 0.0
    report_path: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def verdicts(self) -> dict[str, GateVerdict]:
        out = {a.strategy: a.verdict for a in self.assessments}
        return out | self.not_evaluated

    @property
    def n_passed(self) -> int:
        return sum(v.passed for v in self.verdicts.values())


def new_run_id() -> str:
    """``YYYYmmddTHHMMSSZ-xxxxxx`` (UTC time and 6 random hex digits)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _not_evaluated(strategy: str, reason: str, gate: GateConfig) -> GateVerdict:
    thresholds = {
        "dsr": (gate.min_dsr, ">="),
        "track_record": (math.nan, ">="),
        "pbo": (gate.max_pbo, "<="),
        "walk_forward": (gate.min_walk_forward_sharpe, ">"),
    }
    return GateVerdict(
        strategy,
        tuple(
            Criterion(n, math.nan, thresholds[n][0], thresholds[n][1], False, reason)
            for n in gate.criteria
        ),
    )


def run_calibration(settings: CalibrationSettings, gate: GateConfig) -> CalibrationSummary:
    """False-pass rate (pure noise) and power (planted edge) of the gate at a reduced size."""
    start = time.perf_counter()
    common = {
        "n_families": settings.n_families,
        "n_obs": settings.n_obs,
        "n_configs": settings.n_configs,
        "config": gate,
    }
    noise = gate_pass_rate(edge_sr=0.0, seed=settings.seed, **common)
    edge = gate_pass_rate(edge_sr=settings.edge_sr, seed=settings.seed + 1, **common)

    def ci(rate: float) -> tuple[float, float]:
        k = round(rate * settings.n_families)
        interval = binomtest(k, settings.n_families).proportion_ci(0.95, method="exact")
        return float(interval.low), float(interval.high)

    return CalibrationSummary(
        settings,
        noise.pass_rate,
        ci(noise.pass_rate),
        edge.pass_rate,
        ci(edge.pass_rate),
        noise.criterion_pass_rates,
        edge.criterion_pass_rates,
        time.perf_counter() - start,
    )


def lab_specs(
    data: LabData, strategies: Sequence[str], settings: BacktestSettings, quick: bool
) -> tuple[list[StudySpec], dict[str, str]]:
    """One grid study per strategy; configurations whose warm-up exceeds half the bars are
    dropped, and a strategy left with none is returned with the reason."""
    specs, skipped = [], {}
    limit = len(data.bars) // 2
    for name in strategies:
        configs = [
            c for c in grid_configs(lab_space(name, quick)) if get_strategy(name, c).warmup <= limit
        ]
        if not configs:
            skipped[name] = f"not evaluated: every lab configuration needs more than {limit} bars"
            continue
        specs.append(StudySpec(f"lab:{name}", name, tuple(configs), settings, data.name))
    return specs, skipped


def run_lab(
    data: LabData,
    *,
    strategies: Sequence[str] | None = None,
    quick: bool = False,
    settings: BacktestSettings | None = None,
    gate: GateConfig | None = None,
    calibration: CalibrationSettings | None = None,
    journal: Engine | str | None = None,
    executor: TrialExecutor | None = None,
    cache_dir: str | Path | None = None,
    console: Console | None = None,
    run_id: str | None = None,
) -> LabResult:
    """Run the lab on ``data`` (see the module docstring); verdicts go to ``journal``."""
    start = time.perf_counter()
    names = list(strategies) if strategies else list_strategies()
    for name in names:
        get_strategy(name)  # unknown names fail now, with the list of known ones
    settings = settings or default_settings(data.market)
    gate = gate or GateConfig()
    calibration = calibration or CalibrationSettings(n_families=50 if quick else 200)
    engine = journal if isinstance(journal, Engine) else make_engine(journal)
    trial_log = TrialLog(engine)
    timings: dict[str, float] = {}

    specs, skipped = lab_specs(data, names, settings, quick)
    if not specs:
        raise LabError(f"no strategy can be evaluated on {len(data.bars)} bars of {data.name}")
    t0 = time.perf_counter()
    studies = run_studies(
        specs,
        data.bars,
        trial_log=trial_log,
        executor=executor,
        cache_dir=cache_dir,
        console=console,
        description=f"studies ({len(specs)} strategies)",
    )
    timings["studies"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    assessments = [assess_study(s, trial_log, gate) for s in studies]
    selected = pd.DataFrame({a.strategy: a.returns for a in assessments}).dropna()
    ortho = orthogonality_report(selected) if selected.shape[1] >= 2 else None
    timings["validation"] = time.perf_counter() - t0

    if console is not None:
        with console.status(
            f"gate calibration: {calibration.n_families} noise + {calibration.n_families} "
            "planted-edge families"
        ):
            cal = run_calibration(calibration, gate)
    else:
        cal = run_calibration(calibration, gate)
    timings["calibration"] = cal.seconds

    not_evaluated = {n: _not_evaluated(n, reason, gate) for n, reason in skipped.items()}
    return LabResult(
        run_id=run_id or new_run_id(),
        data=data,
        settings=settings,
        gate=gate,
        assessments=assessments,
        not_evaluated=not_evaluated,
        orthogonality=ortho,
        calibration=cal,
        quick=quick,
        seconds=time.perf_counter() - start,
        timings=timings,
    )


def store_verdicts(result: LabResult, journal: Engine | str | None = None) -> None:
    """Append the run's verdicts to the journal (``gate_verdicts``)."""
    store = VerdictStore(journal)
    path = str(result.report_path or "")
    data = result.data
    for a in result.assessments:
        store.save(
            result.run_id, a.verdict, symbol=data.name, params=a.selected_params,
            report_path=path, instrument=data.instrument, data=a.study.data,
            code_version=strategy_code_version(a.strategy),
        )  # fmt: skip
    for verdict in result.not_evaluated.values():
        store.save(
            result.run_id, verdict, symbol=data.name, params={}, report_path=path,
            instrument=data.instrument,
        )  # fmt: skip


def verdict_table(result: LabResult) -> Table:
    """The rich verdict table: one row per strategy, every gate number, PASS/FAIL."""
    cal = result.calibration
    table = Table(
        title=f"Gate verdicts — {result.data.name} ({len(result.data.bars):,} bars)",
        caption=(
            f"{result.n_passed} of {len(result.verdicts)} pass. SR annualised; DSR on per-bar "
            "SR deflated by every trial on this data family; MinTRL in independent bets. "
            f"Gate false-pass rate on noise {cal.false_pass:.1%}, power "
            f"{cal.power:.1%} ({cal.settings.n_families} families each)."
        ),
    )
    for col, justify in [
        ("strategy", "left"),
        ("SR (ann.)", "right"),
        ("DSR", "right"),
        ("trials strat/family", "right"),
        ("PBO", "right"),
        ("bets (bars)", "right"),
        ("MinTRL bets", "right"),
        ("WF OOS SR (ann.)", "right"),
        ("verdict", "left"),
    ]:
        table.add_column(col, justify=justify)
    ann = math.sqrt(result.assessments[0].study.periods_per_year) if result.assessments else 1.0
    for a in result.assessments:
        v = a.verdict
        failed = [c.name for c in v.criteria if not c.passed]
        mark = "[green]PASS[/]" if v.passed else f"[red]FAIL[/] ({', '.join(failed)})"
        wf = a.walk_forward.oos_sharpe * ann if a.walk_forward is not None else math.nan
        table.add_row(
            a.strategy,
            format_number(a.moments.sr * ann, ".2f"),
            format_number(a.criterion("dsr")),
            f"{a.deflation.strategy_trials}/{a.deflation.n_trials}",
            format_number(a.criterion("pbo"), ".2f"),
            f"{a.bets.n_bets:,} ({a.moments.n_obs:,})",
            format_number(a.threshold("track_record"), ",.0f"),
            format_number(wf, ".2f"),
            mark,
        )
    for name, v in result.not_evaluated.items():
        table.add_row(name, *["n/a"] * 7, f"[red]FAIL[/] ({v.criteria[0].detail})")
    return table
