"""The research lab: every strategy through study, costs, gate, orthogonality and calibration.

Every strategy goes through a small study, the backtest with costs, the gate, orthogonality
and the gate's own calibration, into one verdict table and one HTML report.

Steps of :func:`run_lab`:

1. the evaluation plan (:func:`lab_plan`): each strategy on each dataset of an asset class it
   declares, at each of its recommended timeframes the data supports, the bars resampled
   causally from the source (:func:`~crypto_strategy_lab.data.cleaning.resample_bars`:
   left-closed, left-labelled, partial edge bins dropped, so a bar is used only after it
   closed); what cannot be evaluated is listed with the reason;
2. a study per (strategy, dataset, timeframe) (:func:`~crypto_strategy_lab.research.spaces.
   lab_configs`: the strategy's parameters in time and the cost-aware rules), configurations
   whose warm-up exceeds half the bars dropped; every trial logged (named
   ``<dataset>@<timeframe>``, counted in the data's family);
3. the backtest of each configuration with the stated costs of the dataset's market
   (:func:`~crypto_strategy_lab.research.inputs.default_settings`);
4. selection, DSR, MinTRL, PBO and walk-forward, then the gate
   (:mod:`crypto_strategy_lab.research.assessment`); with several assets, also each
   strategy and timeframe pooled across them (:mod:`crypto_strategy_lab.research.pooled`:
   the equal-weight mean of the assets' returns, the same gate, the family's N);
5. orthogonality of the selected configurations' returns, with what a plain correlation of
   mostly-flat strategies hides: time in market, correlation and sign agreement when both are
   active, beta to the asset and the effective number of independent bets; on the largest
   group of cells (first dataset, the timeframe with most strategies: one bar grid);
6. the gate's calibration on noise shaped like this search (:func:`search_shape`: the
   strategies selected among, their configurations, the grids' measured return correlation,
   the data's length, time in market and bars per bet) and built from this data (its returns
   block-bootstrapped, random signals with the grids' turnover): the family-wise false-pass
   rate and the power at annual Sharpe ratios 1, 2 and 3, with Clopper–Pearson 95 %
   intervals (:mod:`crypto_strategy_lab.validation.calibration`). It is run on the largest
   group of cells (first dataset, the timeframe with most strategies), whose search it
   describes. Results are cached by their inputs, so an identical run does not recompute them;
7. the verdicts stored in the journal (:mod:`crypto_strategy_lab.research.verdicts`), a rich
   table on the console and ``reports/lab/<run-id>/index.html`` with a tear sheet per row
   (:mod:`crypto_strategy_lab.research.report`, :mod:`crypto_strategy_lab.research.tearsheet`)
   and ``results.json`` and per-row CSVs beside it (:mod:`crypto_strategy_lab.research.results`).

A strategy that fails is reported as failing, with the criteria that failed it; a cell the
data cannot evaluate (a timeframe finer than the source bars, too few bars for the warm-up)
fails with that reason. Rows are labelled ``<strategy> <timeframe> <asset class> <symbol>``
(:attr:`LabCell.label`).

Resamplings of one source are one data family (:mod:`crypto_strategy_lab.research.identity`),
so the gate deflates every cell by the trials of all timeframes and strategies on that data:
choosing the best timeframe is counted as selection.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from scipy.stats import binomtest

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.data.cleaning import resample_bars
from crypto_strategy_lab.data.timeframes import infer_timeframe, parse_timeframe, timeframe_delta
from crypto_strategy_lab.journal.db import JournalLocation
from crypto_strategy_lab.research.assessment import StrategyAssessment, assess_study
from crypto_strategy_lab.research.book import BOOK, BookAssessment, validate_book
from crypto_strategy_lab.research.display import format_number
from crypto_strategy_lab.research.executors import LocalExecutor, TrialExecutor
from crypto_strategy_lab.research.identity import bars_fingerprint, strategy_code_version
from crypto_strategy_lab.research.inputs import LabData, default_settings
from crypto_strategy_lab.research.pooled import PooledAssessment, pool_assets
from crypto_strategy_lab.research.spaces import lab_configs
from crypto_strategy_lab.research.study import StudySpec, default_cache_dir, run_studies
from crypto_strategy_lab.research.trial import BacktestSettings
from crypto_strategy_lab.research.verdicts import VerdictStore
from crypto_strategy_lab.strategies import get_strategy, list_strategies, strategy_class
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

#: Fewest bars a cell must keep after its warm-up (the track record the gate judges).
LAB_MIN_OBS = 200


class LabError(CSLError):
    """The lab cannot run (no strategy could be evaluated, unknown strategy name...)."""


@dataclass(frozen=True)
class CalibrationSettings:
    """Size of the lab's gate calibration.

    Its shape is measured from the run (:func:`search_shape`).

    Attributes
    ----------
    n_families : int
        Simulated searches per arm (the noise arm and each planted edge).
    edges_annual : tuple of float
        The annual Sharpe ratios planted to measure power.
    noise : {"bootstrap", "t"}
        The noise: the bootstrap of the data's returns traded by random signals, or
        Student-t factor noise.
    seed : int
        The simulations' seed.
    """

    n_families: int = 100
    edges_annual: tuple[float, ...] = (1.0, 2.0, 3.0)
    noise: str = "bootstrap"
    seed: int = 0


@dataclass(frozen=True)
class CalibrationSummary:
    """Family-wise pass rates with Clopper–Pearson 95 % intervals, and what they were run on.

    Attributes
    ----------
    settings : CalibrationSettings
        The calibration's size.
    shape : SearchShape
        The search the noise was shaped like.
    false_pass : float
        Share of noise searches in which at least one strategy passed.
    false_pass_ci : tuple of (float, float)
        Its 95 % interval.
    strategy_false_pass : float
        Share of all simulated noise strategies that passed.
    power : dict of float to float
        Per planted annual SR, the share of searches the gate passed.
    power_ci : dict of float to tuple of (float, float)
        Their 95 % intervals.
    false_pass_by_criterion : dict of str to float
        On noise, each criterion's pass rate.
    power_by_criterion : dict of float to dict of str to float
        Per planted annual SR, each criterion's pass rate.
    seconds : float
        Wall time of the calibration (cache read included).
    from_cache : bool
        Whether the results were read from the cache.
    """

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
class LabCell:
    """One evaluation: a strategy on a dataset resampled to a timeframe.

    Attributes
    ----------
    strategy : str
        The registered strategy.
    data : LabData
        The dataset, at its source bar size.
    timeframe : str
        The bar size it is resampled to.
    asset_class : str
        ``"crypto"`` or ``"equity"`` (:func:`asset_class_of`).
    """

    strategy: str
    data: LabData
    timeframe: str
    asset_class: str

    @property
    def label(self) -> str:
        """``<strategy> <timeframe> <asset class> <symbol>``.

        The symbol keeps two datasets of one asset class (BTC and ETH bars) apart.
        """
        return f"{self.strategy} {self.timeframe} {self.asset_class} {self.data.symbol}"

    @property
    def symbol(self) -> str:
        """The dataset at this bar size: scopes the trial log's counts."""
        return f"{self.data.name}@{self.timeframe}"


@dataclass(frozen=True)
class LabResult:
    """Everything one lab run produced.

    Attributes
    ----------
    run_id : str
        The run's id (:func:`new_run_id` unless given).
    data : LabData
        The first dataset.
    settings : BacktestSettings
        The settings given, else the first dataset's market's defaults.
    gate : GateConfig
        The gate the rows were judged by.
    assessments : list of StrategyAssessment
        One per evaluated cell, labelled by :attr:`LabCell.label`.
    not_evaluated : dict of str to GateVerdict
        The failing verdict of each cell the data could not evaluate, by label.
    orthogonality : OrthogonalityReport or None
        Of the selected returns of the largest group of cells; ``None`` with fewer than two.
    calibration : CalibrationSummary
        The gate's calibration on noise shaped like that group's search.
    quick : bool
        Whether the small ``--quick`` spaces were used.
    seconds : float
        Wall time of the run.
    report_path : pathlib.Path or None
        The HTML report, once written.
    timings : dict of str to float
        Wall seconds of the ``studies``, ``validation`` and ``calibration`` steps.
    co_activity : CoActivityReport or None
        How the group's strategies trade together; ``None`` without an orthogonality report.
    datasets : tuple of LabData
        Every dataset of the run.
    cells : dict of str to LabCell
        Every row, evaluated or not, by label.
    books : list of BookAssessment
        One per bar grid with two or more members.
    bars : dict of str to pandas.DataFrame
        The resampled bars, by :attr:`LabCell.symbol`.
    pooled : list of PooledAssessment
        The rows pooled across assets (two or more assets).
    """

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
    datasets: tuple[LabData, ...] = ()
    cells: dict[str, LabCell] = field(default_factory=dict)  # every row, evaluated or not
    books: list[BookAssessment] = field(default_factory=list)  # one per bar grid, >= 2 members
    bars: dict[str, pd.DataFrame] = field(default_factory=dict)  # by LabCell.symbol
    pooled: list[PooledAssessment] = field(default_factory=list)  # across assets, >= 2 assets

    def cell_bars(self, label: str) -> pd.DataFrame:
        """The (resampled) bars row ``label`` was studied on.

        Parameters
        ----------
        label : str
            A row label (:attr:`LabCell.label`) of a cell the lab evaluated.

        Returns
        -------
        pandas.DataFrame
            The bars of the cell's dataset at the cell's timeframe (shared by every cell of
            that bar grid).

        Raises
        ------
        KeyError
            If `label` is no cell of the run, or a cell that was not evaluated (its bars
            were never made).
        """
        return self.bars[self.cells[label].symbol]

    @property
    def verdicts(self) -> dict[str, GateVerdict]:
        """Verdict per row label (:attr:`LabCell.label`)."""
        out = {a.strategy: a.verdict for a in self.assessments}
        return out | self.not_evaluated

    @property
    def n_passed(self) -> int:
        """How many rows the gate passed."""
        return sum(v.passed for v in self.verdicts.values())


def new_run_id() -> str:
    """A new lab run id, sortable by time and unique across concurrent runs.

    Returns
    -------
    str
        ``YYYYmmddTHHMMSSZ-xxxxxx``: the UTC time to the second and 6 random hex digits
        (:func:`secrets.token_hex`).
    """
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
    """The shape of the search the gate judged.

    Parameters
    ----------
    assessments : Sequence[StrategyAssessment]
        The assessed studies of one bar grid, at least one.

    Returns
    -------
    SearchShape
        ``n_strategies``: how many; ``n_configs`` and ``n_obs``: the medians of the studies'
        configuration counts and bars; ``rho``: the mean over the studies with two or more
        configurations of the mean pairwise correlation of their returns, clipped to
        [0, 0.99] (0 with none); ``periods_per_year``: the first study's;
        ``time_in_market``: the mean share of (bar, configuration) cells with a position,
        clipped to [0.01, 1]; ``bars_per_bet``: the mean bars per bet over every
        configuration with a bet (1 with none).

    Raises
    ------
    IndexError
        If `assessments` is empty.
    """
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
    console: Console | None = None,
) -> CalibrationSummary:
    """The gate's family-wise false-pass rate and power on noise of ``shape``.

    Parameters
    ----------
    settings : CalibrationSettings
        How many simulated searches per arm, the planted annual Sharpe ratios, the noise
        model and the seed.
    gate : GateConfig
        The gate being calibrated.
    shape : SearchShape
        The search the noise is shaped like (:func:`search_shape`).
    bars : pandas.DataFrame
        The bars whose simple close-to-close returns ``c_t / c_{t-1} - 1`` the
        ``bootstrap`` noise resamples (module docstring, step 6).
    cache_dir : pathlib.Path or None, optional
        Where results are cached by their inputs (settings, shape, gate and, for
        ``bootstrap`` noise, the bars' fingerprint); ``None`` (default): always compute.
    console : rich.console.Console or None, optional
        Shows a progress bar over the simulated searches; ``None`` (default): silent.

    Returns
    -------
    CalibrationSummary
        The family-wise false-pass rate and the power at each planted edge, each with its
        Clopper–Pearson (exact binomial) 95 % interval over ``settings.n_families``
        searches, the per-strategy false-pass rate, the pass rates per criterion, the wall
        time in seconds and whether the results came from the cache.

    Notes
    -----
    The interval is :meth:`scipy.stats.binomtest(k, n).proportion_ci
    <scipy.stats._result_classes.BinomTestResult.proportion_ci>` with ``method="exact"``,
    ``k`` the number of passing searches (the rate times ``n``, rounded); Clopper and
    Pearson (1934), "The use of confidence or fiducial limits illustrated in the case of the
    binomial", Biometrika 26(4).
    """
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
        progress = Progress(
            TextColumn("[bold]gate calibration searches"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=console is None,
            transient=True,
        )
        # a noise arm and an arm per planted edge, n_families searches each
        arms = 1 + len(settings.edges_annual)
        with progress:
            task = progress.add_task("calibration", total=settings.n_families * arms)
            return calibrate_gate(
                n_families=settings.n_families,
                shape=shape,
                noise=settings.noise,
                returns=returns,
                edges_annual=settings.edges_annual,
                seed=settings.seed,
                config=gate,
                on_family=functools.partial(progress.advance, task),
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


def asset_class_of(data: LabData) -> str:
    """The asset class of a dataset, in the risk layer's names.

    Parameters
    ----------
    data : LabData
        The dataset.

    Returns
    -------
    str
        ``"equity"`` for ``stock`` bars, ``"crypto"`` for every other market.
    """
    return "equity" if data.market == "stock" else "crypto"


def timeframe_support(source: str, timeframe: str) -> str | None:
    """Why ``source`` bars cannot make ``timeframe`` bars, or ``None`` when they can.

    The target must be the source bar size or a whole multiple of it (bars are only ever
    aggregated, never split).

    Parameters
    ----------
    source : str
        The source bars' timeframe (``"15m"``).
    timeframe : str
        The timeframe wanted (``"1h"``).

    Returns
    -------
    str or None
        ``"not evaluated: ..."`` naming why (finer than the source, or not a whole number
        of source bars); ``None`` when the source can make `timeframe` bars.

    Raises
    ------
    ValueError
        If either timeframe cannot be parsed (from
        :func:`~crypto_strategy_lab.data.timeframes.timeframe_delta`).
    """
    step, target = timeframe_delta(source), timeframe_delta(timeframe)
    if target < step:
        return f"not evaluated: {timeframe} is finer than the {source} source bars"
    if target % step:
        return f"not evaluated: {timeframe} is not a whole number of {source} bars"
    return None


@dataclass(frozen=True)
class LabPlan:
    """The studies to run, grouped by the bars they share, and what cannot be evaluated.

    Attributes
    ----------
    groups : list of tuple of (pandas.DataFrame, list of StudySpec)
        Per bar grid (dataset, timeframe), the resampled bars and the studies on them.
    cells : dict of str to LabCell
        The cells to evaluate, by label.
    skipped : dict of str to tuple of (LabCell, str)
        The cells not evaluated, by label, with the reason.
    """

    groups: list[tuple[pd.DataFrame, list[StudySpec]]]
    cells: dict[str, LabCell]
    skipped: dict[str, tuple[LabCell, str]]


def lab_plan(
    datasets: Sequence[LabData],
    strategies: Sequence[str],
    quick: bool,
    settings: BacktestSettings | None = None,
    timeframes: Sequence[str] | None = None,
    slippage: str = "fixed",
) -> LabPlan:
    """Every (strategy, dataset, timeframe) cell the data supports, as studies.

    A strategy runs on a dataset only if it declares the dataset's asset class, at each of
    its ``recommended_timeframes`` (or the given ``timeframes``) that the source bars can
    make. Configurations whose warm-up exceeds half the resampled bars, or leaves fewer than
    :data:`LAB_MIN_OBS` bars to trade, are dropped; a cell left with none is skipped with the
    reason.

    Parameters
    ----------
    datasets : Sequence[LabData]
        The datasets, each at its source bar size (inferred from its index).
    strategies : Sequence[str]
        Registered strategy names.
    quick : bool
        Use the small configuration spaces of ``--quick`` (:func:`~.spaces.lab_configs`).
    settings : BacktestSettings or None, optional
        The backtest settings of every study; ``None`` (default): each dataset's market's
        stated defaults (:func:`~.inputs.default_settings` with `slippage`).
    timeframes : Sequence[str] or None, optional
        The timeframes tried for every strategy; ``None`` (default): each strategy's
        ``recommended_timeframes``.
    slippage : str, default "fixed"
        The slippage model of the default settings; unused when `settings` is given.

    Returns
    -------
    LabPlan
        ``groups``: per (dataset, timeframe) with at least one study, the resampled bars and
        the studies on them (named ``lab:<strategy>:<timeframe>``, scoped to
        ``<dataset>@<timeframe>``); ``cells``: the evaluated cells by label; ``skipped``:
        the cells not evaluated, by label, with the reason.

    Raises
    ------
    UnknownStrategyError
        If a name of `strategies` is not registered.
    """
    groups: dict[tuple[str, str], tuple[pd.DataFrame, list[StudySpec]]] = {}
    cells: dict[str, LabCell] = {}
    skipped: dict[str, tuple[LabCell, str]] = {}
    for data in datasets:
        source = infer_timeframe(data.bars.index)
        kind = asset_class_of(data)
        cost = settings or default_settings(data.market, slippage)
        for name in strategies:
            cls = strategy_class(name)
            if kind not in cls.asset_classes:
                continue  # not this strategy's market (the brief's "Crypto" strategies)
            for tf in timeframes or cls.recommended_timeframes:
                tf = parse_timeframe(tf)
                cell = LabCell(name, data, tf, kind)
                reason = timeframe_support(source, tf)
                if reason is None:
                    key = (data.name, tf)
                    if key not in groups:
                        bars, _ = resample_bars(data.bars, source, tf)
                        groups[key] = (bars, [])
                    bars = groups[key][0]
                    limit = min(len(bars) // 2, len(bars) - LAB_MIN_OBS)
                    configs = lab_configs(name, tf, quick)
                    warmups = [get_strategy(name, _params(c)).warmup for c in configs]
                    fitting = [c for c, w in zip(configs, warmups, strict=True) if w <= limit]
                    if fitting:
                        spec = StudySpec(
                            f"lab:{name}:{tf}", name, tuple(fitting), cost, cell.symbol
                        )
                        groups[key][1].append(spec)
                        cells[cell.label] = cell
                        continue
                    reason = (
                        f"not evaluated: {len(bars)} {tf} bars; the shortest lab warm-up is "
                        f"{min(warmups)} bars and the warm-up may take at most half the bars, "
                        f"leaving at least {LAB_MIN_OBS} to trade"
                    )
                skipped[cell.label] = (cell, reason)
    return LabPlan([g for g in groups.values() if g[1]], cells, skipped)


def _params(config: dict[str, Any]) -> dict[str, Any]:
    """A configuration's strategy parameters (its ``stop`` key is a backtest setting)."""
    return {k: v for k, v in config.items() if k != "stop"}


def run_lab(
    data: LabData | Sequence[LabData],
    *,
    strategies: Sequence[str] | None = None,
    quick: bool = False,
    settings: BacktestSettings | None = None,
    gate: GateConfig | None = None,
    calibration: CalibrationSettings | None = None,
    journal: JournalLocation = None,
    executor: TrialExecutor | None = None,
    cache_dir: str | Path | None = None,
    console: Console | None = None,
    run_id: str | None = None,
    timeframes: Sequence[str] | None = None,
    slippage: str = "fixed",
) -> LabResult:
    """Run the lab on one or several datasets (see the module docstring).

    Parameters
    ----------
    data : LabData or Sequence[LabData]
        The dataset(s); several are one search (every asset's family deflates every verdict).
    strategies : Sequence[str], optional
        The strategies to evaluate (default: every registered one); an unknown name fails
        before anything runs.
    quick : bool, default False
        The first two values of each parameter axis, and 20 calibration families instead
        of 100 (unless ``calibration`` is given).
    settings : BacktestSettings, optional
        Overrides every dataset's default costs.
    gate : GateConfig, optional
        The gate (default ``GateConfig()``).
    calibration : CalibrationSettings, optional
        Size of the gate's calibration on noise.
    journal : Engine, str or None
        Where trials and verdicts go (default: the journal database).
    executor : TrialExecutor, optional
        Where trials run (default: one local pool for the whole run, closed at the end).
    cache_dir : str or Path, optional
        Trial returns and calibration cache (default :func:`default_cache_dir`).
    console : rich.console.Console, optional
        Progress bars on this console; ``None`` runs silently.
    run_id : str, optional
        The run's id (default :func:`new_run_id`).
    timeframes : Sequence[str], optional
        Replaces each strategy's recommended timeframes.
    slippage : str, default "fixed"
        The slippage model of the default costs (``volume``: volume-participation slippage,
        so a strategy's edge is judged at a cost that grows with its size).

    Returns
    -------
    LabResult
        Every row's assessment and verdict, the pooled rows and books, orthogonality,
        co-activity and the calibration.

    Raises
    ------
    LabError
        Without a dataset, or when no strategy can be evaluated on the data.
    """
    start = time.perf_counter()
    datasets = (data,) if isinstance(data, LabData) else tuple(data)
    if not datasets:
        raise LabError("the lab needs at least one dataset")
    names = list(strategies) if strategies else list_strategies()
    for name in names:
        get_strategy(name)  # unknown names fail now, with the list of known ones
    gate = gate or GateConfig()
    calibration = calibration or CalibrationSettings(n_families=20 if quick else 100)
    trial_log = TrialLog(journal)
    timings: dict[str, float] = {}

    plan = lab_plan(datasets, names, quick, settings, timeframes, slippage)
    if not plan.groups:
        raise LabError(
            "no strategy can be evaluated on "
            + ", ".join(f"{len(d.bars)} bars of {d.name}" for d in datasets)
        )
    t0 = time.perf_counter()
    studies = []
    # one pool of workers for every group (a spawned worker's start-up is seconds)
    own = executor is None
    executor = executor or LocalExecutor()
    try:
        for bars, specs in plan.groups:
            studies += run_studies(
                specs,
                bars,
                trial_log=trial_log,
                executor=executor,
                cache_dir=cache_dir,
                console=console,
                min_obs=LAB_MIN_OBS,
                description=f"{specs[0].symbol} ({len(specs)} strategies)",
            )
    finally:
        if own:
            executor.close()
    timings["studies"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    by_symbol = {cell.symbol + cell.strategy: label for label, cell in plan.cells.items()}
    # a multi-asset run is one search: every asset's family deflates every verdict
    families = tuple(dict.fromkeys(s.data.family for s in studies))
    assessments = [
        dataclasses.replace(
            assess_study(s, trial_log, gate, families=families),
            strategy=by_symbol[s.spec.symbol + s.spec.strategy],
        )
        for s in studies
    ]
    # a strategy at a timeframe on every asset at once (research/pooled.py)
    by_asset: dict[tuple[str, str, str], dict[str, StrategyAssessment]] = {}
    for a in assessments:
        cell = plan.cells[a.strategy]
        key = (cell.strategy, cell.timeframe, cell.asset_class)
        by_asset.setdefault(key, {})[cell.data.name] = a
    pooled = pool_assets(by_asset, trial_log, gate, families=families)
    # orthogonality, co-activity and the calibration describe one search on one bar grid:
    # the largest group of cells of the first dataset
    bars0, specs0 = max(
        (g for g in plan.groups if g[1][0].symbol.startswith(f"{datasets[0].name}@")),
        key=lambda g: len(g[1]),
        default=plan.groups[0],
    )
    group = [a for a in assessments if a.study.spec in specs0]
    selected = pd.DataFrame({a.strategy: a.returns for a in group}).dropna()
    ortho = orthogonality_report(selected) if selected.shape[1] >= 2 else None
    co_activity = None
    if ortho is not None:
        positions = pd.DataFrame(
            {a.strategy: a.study.positions[a.selected] for a in group}
        ).reindex(selected.index)
        asset = bars0["close"].pct_change().reindex(selected.index)
        co_activity = co_activity_report(selected, positions, asset, ortho.threshold)
    # the book of each bar grid: its member selection and weighting are trials too
    books = []
    for _, specs in plan.groups:
        members = [a for a in assessments if a.study.spec in specs]
        if len(members) >= 2:
            first = members[0]
            label = BOOK + first.strategy[len(first.study.spec.strategy) :]
            book = validate_book(label, members, trial_log, gate, families=families)
            books.append(
                dataclasses.replace(
                    book, assessment=dataclasses.replace(book.assessment, strategy=label)
                )
            )
    timings["validation"] = time.perf_counter() - t0

    shape = search_shape(group)
    cal_cache = Path(cache_dir or default_cache_dir()) / "calibration"
    cal = run_calibration(calibration, gate, shape, bars0, cal_cache, console)
    timings["calibration"] = cal.seconds

    not_evaluated = {
        label: _not_evaluated(cell.strategy, reason, gate)
        for label, (cell, reason) in plan.skipped.items()
    }
    cells = plan.cells | {label: cell for label, (cell, _) in plan.skipped.items()}
    return LabResult(
        run_id=run_id or new_run_id(),
        data=datasets[0],
        settings=settings or default_settings(datasets[0].market, slippage),
        gate=gate,
        assessments=assessments,
        not_evaluated=not_evaluated,
        orthogonality=ortho,
        co_activity=co_activity,
        calibration=cal,
        quick=quick,
        seconds=time.perf_counter() - start,
        timings=timings,
        datasets=datasets,
        cells=cells,
        books=books,
        bars={specs[0].symbol: bars for bars, specs in plan.groups},
        pooled=pooled,
    )


def store_verdicts(result: LabResult, journal: JournalLocation = None) -> None:
    """Append the run's verdicts to the journal (``gate_verdicts``).

    One row per assessed cell (with its selected parameters and stop policy, instrument,
    data identity and strategy code version), per cell not evaluated (empty parameters, no
    data identity: it unlocks nothing) and per book.

    Parameters
    ----------
    result : LabResult
        The lab run; its ``report_path`` is stored with every row (``""`` when unset).
    journal : JournalLocation, optional
        An engine, a URL, or ``None`` (default): the default journal, migrated first.
    """
    store = VerdictStore(journal)
    path = str(result.report_path or "")
    for a in result.assessments:
        store.save(
            result.run_id, a.verdict, symbol=a.study.spec.symbol, params=a.verdict_params,
            report_path=path, instrument=result.cells[a.strategy].data.instrument,
            data=a.study.data, code_version=strategy_code_version(a.study.spec.strategy),
        )  # fmt: skip
    for label, verdict in result.not_evaluated.items():
        cell = result.cells[label]
        store.save(
            result.run_id, verdict, symbol=cell.symbol, params={}, report_path=path,
            instrument=cell.data.instrument,
        )  # fmt: skip
    for book in result.books:
        first = next(iter(book.members.values()))
        store.save(
            result.run_id, book.verdict, symbol=book.label, params=book.params,
            report_path=path, instrument=result.cells[first.strategy].data.instrument,
            data=book.assessment.study.data, code_version=book.code_version,
        )  # fmt: skip


def _power_text(cal: CalibrationSummary) -> str:
    return ", ".join(f"{e:g}: {p:.0%}" for e, p in cal.power.items())


def verdict_table(result: LabResult) -> Table:
    """The rich verdict table: one row per strategy, every gate number, PASS/FAIL.

    Parameters
    ----------
    result : LabResult
        The lab run.

    Returns
    -------
    rich.table.Table
        One row per assessed cell, book and pooled row (annualised SR, DSR, trial counts,
        PBO, bets, MinTRL, walk-forward out-of-sample SR, verdict with the failed criteria),
        then one ``n/a`` row per (strategy, asset class, symbol, reason) the data could not
        evaluate, its timeframes joined by ``/``; the caption gives the pass count and the
        calibration's false-pass rate and power.
    """
    cal = result.calibration
    table = Table(
        title="Gate verdicts — "
        + ", ".join(f"{d.name} ({len(d.bars):,} bars)" for d in result.datasets or (result.data,)),
        caption=(
            f"{result.n_passed} of {len(result.verdicts)} pass. SR annualised; DSR on per-bar "
            "SR deflated by every trial on this data family; MinTRL in independent bets. "
            f"Gate family-wise false-pass rate on this search's noise {cal.false_pass:.1%}; "
            f"power at annual SR {_power_text(cal)} ({cal.settings.n_families} searches each)."
            + (
                " Pooled rows: the equal-weight mean of the assets' net returns, through the "
                "same gate with the family's N."
                if result.pooled
                else ""
            )
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
    judged = [*result.assessments, *(b.assessment for b in result.books)]
    for a in judged + [p.assessment for p in result.pooled]:
        ann = math.sqrt(a.study.periods_per_year)
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
    # cells the data cannot evaluate, one row per strategy and reason (a daily source makes
    # every intraday timeframe of a strategy one reason, not five rows of n/a)
    groups: dict[tuple[str, str, str, str], list[str]] = {}
    for name, v in result.not_evaluated.items():
        cell = result.cells.get(name)
        if cell is None:
            groups.setdefault((name, "", "", v.criteria[0].detail), [])
            continue
        reason = v.criteria[0].detail.replace(f"{cell.timeframe} ", "{tf} ", 1)
        key = (cell.strategy, cell.asset_class, cell.data.symbol, reason)
        groups.setdefault(key, []).append(cell.timeframe)
    for (strategy, kind, symbol, reason), tfs in groups.items():
        label = " ".join(x for x in (strategy, "/".join(tfs), kind, symbol) if x)
        detail = reason.replace("{tf}", "/".join(tfs))
        table.add_row(label, *["n/a"] * 7, f"[red]FAIL[/] ({detail})")
    return table
