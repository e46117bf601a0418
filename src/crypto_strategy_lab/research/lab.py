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
4. orthogonality of the selected configurations' returns, with what a plain correlation of
   mostly-flat strategies hides: time in market, correlation and sign agreement when both are
   active, beta to the asset and the effective number of independent bets;
5. the gate's calibration on noise shaped like this search (:func:`search_shape`: the
   strategies selected among, their configurations, the grids' measured return correlation,
   the data's length, time in market and bars per bet) and built from this data (its returns
   block-bootstrapped, random signals with the grids' turnover): the family-wise false-pass
   rate and the power at annual Sharpe ratios 1, 2 and 3, with Clopper–Pearson 95 %
   intervals (:mod:`crypto_strategy_lab.validation.calibration`). Results are cached by
   their inputs, so an identical run does not recompute them;
6. the verdicts stored in the journal (:mod:`crypto_strategy_lab.research.verdicts`), a rich
   table on the console and ``reports/lab/<run-id>/index.html``.

A strategy that fails is reported as failing, with the criteria that failed it; a strategy the
data cannot evaluate (warm-up longer than the data) fails with that reason.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
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
from crypto_strategy_lab.research.identity import bars_fingerprint, strategy_code_version
from crypto_strategy_lab.research.inputs import LabData, default_settings
from crypto_strategy_lab.research.spaces import grid_configs, lab_space
from crypto_strategy_lab.research.study import StudySpec, default_cache_dir, run_studies
from crypto_strategy_lab.research.trial import BacktestSettings
from crypto_strategy_lab.research.verdicts import VerdictStore
from crypto_strategy_lab.strategies import get_strategy, list_strategies
from crypto_strategy_lab.validation.bets import bets_of
from crypto_strategy_lab.validation.calibration import (
    CalibrationResult,
    SearchShape,
    cached_calibration,
    calibrate_gate,
    calibration_key,
)
from crypto_strategy_lab.validation.gate import Criterion, GateConfig, GateVerdict
from crypto_strategy_lab.validation.orthogonality import (
    CoActivityReport,
    OrthogonalityReport,
    co_activity_report,
    orthogonality_report,
)
from crypto_strategy_lab.validation.trial_log import TrialLog


class LabError(CSLError):
    """The lab cannot run (no strategy could be evaluated, unknown strategy name...)."""


@dataclass(frozen=True)
class CalibrationSettings:
    """Size of the lab's gate calibration; its shape is measured from the run
    (:func:`search_shape`)."""

    n_families: int = 100
    edges_annual: tuple[float, ...] = (1.0, 2.0, 3.0)
    noise: str = "bootstrap"
    seed: int = 0


@dataclass(frozen=True)
class CalibrationSummary:
    """Family-wise pass rates with Clopper–Pearson 95 % intervals, and what they were run on."""

    settings: CalibrationSettings
    shape: SearchShape
    false_pass: float
    false_pass_ci: tuple[float, float]
    strategy_false_pass: float
    power: dict[float, float]
    power_ci: dict[float, tuple[float, float]]
    false_pass_by_criterion: dict[str, float]
    power_by_criterion: dict[float, dict[str, float]]
    seconds: float
    from_cache: bool = False


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
    co_activity: CoActivityReport | None = None

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


def search_shape(assessments: Sequence[StrategyAssessment]) -> SearchShape:
    """The search the gate judged: strategies, configurations, mean pairwise correlation of
    each grid's returns, bars, time in market and mean bars per bet (medians/means over the
    strategies)."""
    rhos, active, per_bet = [], [], []
    for a in assessments:
        m = a.study.returns
        if m.shape[1] > 1:
            c = m.corr().to_numpy()
            rhos.append(float(np.nanmean(c[np.triu_indices_from(c, 1)])))
        pos = a.study.positions
        active.append(float((pos != 0).to_numpy().mean()))
        for col in pos.columns:
            bets = bets_of(m[col].to_numpy(), pos[col].to_numpy())
            if bets.n_bets:
                per_bet.append(bets.bars_per_bet)
    first = assessments[0].study
    return SearchShape(
        n_strategies=len(assessments),
        n_configs=int(np.median([a.study.returns.shape[1] for a in assessments])),
        n_obs=int(np.median([len(a.study.returns) for a in assessments])),
        rho=float(np.clip(np.mean(rhos), 0.0, 0.99)) if rhos else 0.0,
        periods_per_year=float(first.periods_per_year),
        time_in_market=float(np.clip(np.mean(active), 0.01, 1.0)),
        bars_per_bet=float(np.mean(per_bet)) if per_bet else 1.0,
    )


def _ci(rate: float, n: int) -> tuple[float, float]:
    interval = binomtest(round(rate * n), n).proportion_ci(0.95, method="exact")
    return float(interval.low), float(interval.high)


def run_calibration(
    settings: CalibrationSettings,
    gate: GateConfig,
    shape: SearchShape,
    bars: pd.DataFrame,
    cache_dir: Path | None = None,
) -> CalibrationSummary:
    """The gate's family-wise false-pass rate and power on noise of ``shape`` built from
    ``bars``' own returns (module docstring), cached in ``cache_dir`` by its inputs."""
    start = time.perf_counter()
    close = bars["close"].to_numpy(dtype=float)
    returns = np.diff(close) / close[:-1]
    key = calibration_key(
        settings=dataclasses.asdict(settings),
        shape=dataclasses.asdict(shape),
        gate=gate.model_dump(mode="json"),
        data=bars_fingerprint(bars) if settings.noise == "bootstrap" else "",
    )

    def compute() -> dict[str, CalibrationResult]:
        return calibrate_gate(
            n_families=settings.n_families,
            shape=shape,
            noise=settings.noise,
            returns=returns,
            edges_annual=settings.edges_annual,
            seed=settings.seed,
            config=gate,
        )

    results, hit = cached_calibration(cache_dir, key, compute)
    noise = results["false_pass"]
    power = {e: results[f"power@{e:g}"] for e in settings.edges_annual}
    n = settings.n_families
    return CalibrationSummary(
        settings,
        shape,
        noise.pass_rate,
        _ci(noise.pass_rate, n),
        noise.strategy_pass_rate,
        {e: r.pass_rate for e, r in power.items()},
        {e: _ci(r.pass_rate, n) for e, r in power.items()},
        noise.criterion_pass_rates,
        {e: r.criterion_pass_rates for e, r in power.items()},
        time.perf_counter() - start,
        hit,
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
    calibration = calibration or CalibrationSettings(n_families=20 if quick else 100)
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
    co_activity = None
    if ortho is not None:
        positions = pd.DataFrame(
            {a.strategy: a.study.positions[a.selected] for a in assessments}
        ).reindex(selected.index)
        asset = data.bars["close"].pct_change().reindex(selected.index)
        co_activity = co_activity_report(selected, positions, asset, ortho.threshold)
    timings["validation"] = time.perf_counter() - t0

    shape = search_shape(assessments)
    cal_cache = Path(cache_dir or default_cache_dir()) / "calibration"
    if console is not None:
        with console.status(
            f"gate calibration: {calibration.n_families} noise searches of {shape.n_strategies} "
            f"strategies + {len(calibration.edges_annual)} planted-edge arms"
        ):
            cal = run_calibration(calibration, gate, shape, data.bars, cal_cache)
    else:
        cal = run_calibration(calibration, gate, shape, data.bars, cal_cache)
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
        co_activity=co_activity,
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


def _power_text(cal: CalibrationSummary) -> str:
    return ", ".join(f"{e:g}: {p:.0%}" for e, p in cal.power.items())


def verdict_table(result: LabResult) -> Table:
    """The rich verdict table: one row per strategy, every gate number, PASS/FAIL."""
    cal = result.calibration
    table = Table(
        title=f"Gate verdicts — {result.data.name} ({len(result.data.bars):,} bars)",
        caption=(
            f"{result.n_passed} of {len(result.verdicts)} pass. SR annualised; DSR on per-bar "
            "SR deflated by every trial on this data family; MinTRL in independent bets. "
            f"Gate family-wise false-pass rate on this search's noise {cal.false_pass:.1%}; "
            f"power at annual SR {_power_text(cal)} ({cal.settings.n_families} searches each)."
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
