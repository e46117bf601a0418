"""Parameter studies: grid or random search over a strategy's parameters, every trial logged.

A study evaluates each configuration of a :class:`StudySpec` on the same bars with the same
:class:`~crypto_strategy_lab.research.trial.BacktestSettings`, records every evaluated
configuration in the trial log (:class:`~crypto_strategy_lab.validation.trial_log.TrialLog`)
and returns the ``(T, N)`` matrix of the configurations' per-bar net returns, which the
walk-forward selection and PBO consume (:mod:`crypto_strategy_lab.research.assessment`).

Decisions
---------
* **One trial, one identity.** A trial is identified by
  :func:`~crypto_strategy_lab.validation.trial_log.trial_identity`: the bars' content
  fingerprint and timeframe, the strategy, its full validated parameters, the backtest
  settings and the strategy's code version (:mod:`crypto_strategy_lab.research.identity`).
  A configuration the log already holds — from this study, another study name or a copy of
  the data under another file name — is not logged again; its returns come from the returns
  cache ``<cache_dir>/<identity>.npz`` (keyed by the full identity, so ETH bars on BTC's
  timestamps never reuse BTC's returns), or are recomputed when the cache was deleted.
* **Cost-aware rules are parameters.** The no-trade ``band`` and ``min_hold`` period are
  strategy parameters (every strategy has them, :mod:`crypto_strategy_lab.strategies.
  trading_rules`), and a configuration's ``stop`` key picks the stop policy of its backtest;
  both are logged with the trial like any other parameter, so DSR deflates for them.
  Configurations whose spans come to the same bar counts are one trial.
* **Warm-up trimmed.** Rows before the largest warm-up among the study's configurations are
  dropped from every configuration's returns, so the matrix holds only bars where every
  configuration could trade and a trial's ``n_obs`` is its real track record. The cache keeps
  the untrimmed returns (the trim depends on the study's grid, the trial does not).
* **Honest trial counts.** The gate deflates by every trial of the data's *family* (all
  studies, strategies, timeframes, copies and resamplings:
  :meth:`~crypto_strategy_lab.validation.trial_log.TrialLog.deflation`).
* Trials run on a pluggable executor (:mod:`crypto_strategy_lab.research.executors`); the
  trial log is written only by the calling process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from platformdirs import user_cache_dir
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.performance.metrics import infer_periods_per_year, return_moments
from crypto_strategy_lab.research.executors import LocalExecutor, TrialExecutor
from crypto_strategy_lab.research.identity import identify_data, strategy_code_version
from crypto_strategy_lab.research.spaces import ParameterSpace, grid_configs, random_configs
from crypto_strategy_lab.research.trial import (
    BacktestSettings,
    TrialOutcome,
    TrialTask,
    with_stop_policy,
)
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.base import Strategy
from crypto_strategy_lab.validation.trial_log import DataIdentity, TrialLog, trial_identity


class StudyError(CSLError):
    """A study that cannot run (too few bars for its warm-up, every trial failed...)."""


@dataclass(frozen=True)
class StudySpec:
    """What a study tries.

    ``configs`` are parameter overrides of ``strategy``'s defaults, each with an optional
    ``stop`` policy (:data:`~crypto_strategy_lab.research.trial.STOP_POLICIES`) applied to
    ``settings`` for that configuration.

    ``symbol`` names the dataset (logged with every trial; trials are counted by the data's
    content family, not by this name).

    Attributes
    ----------
    name : str
        The study's name, unique within one :func:`run_studies` batch.
    strategy : str
        The registered strategy.
    configs : tuple of dict
        Parameter overrides, one per configuration (optionally with a ``stop`` key).
    settings : BacktestSettings
        How every trial is backtested.
    symbol : str
        The dataset's name.
    """

    name: str
    strategy: str
    configs: tuple[dict[str, Any], ...]
    settings: BacktestSettings
    symbol: str

    @classmethod
    def from_space(
        cls,
        name: str,
        strategy: str,
        space: ParameterSpace,
        *,
        settings: BacktestSettings | None = None,
        symbol: str = "",
        method: str = "grid",
        n_random: int = 10,
        seed: int = 0,
    ) -> StudySpec:
        """A grid (``method="grid"``) or seeded random (``"random"``) search over ``space``.

        Parameters
        ----------
        name : str
            The study's name.
        strategy : str
            The registered strategy.
        space : ParameterSpace
            Per parameter, the values to try.
        settings : BacktestSettings or None, optional
            How every trial is backtested; ``None`` (default): :class:`BacktestSettings`'
            defaults.
        symbol : str, default ""
            The dataset's name.
        method : {"grid", "random"}, default "grid"
            Every configuration of the grid (:func:`~.spaces.grid_configs`), or `n_random`
            distinct ones drawn uniformly from it (:func:`~.spaces.random_configs`).
        n_random : int, default 10
            How many configurations a random search draws.
        seed : int, default 0
            The random search's seed.

        Returns
        -------
        StudySpec
            The study, its configurations in the order generated.

        Raises
        ------
        StudyError
            For another `method`.
        StudySpaceError
            For an empty or invalid `space`, or a random search of ``n_random < 1`` or more
            configurations than the grid holds.
        """
        if method == "grid":
            configs = grid_configs(space)
        elif method == "random":
            configs = random_configs(space, n_random, seed)
        else:
            raise StudyError(f"unknown search method {method!r}; use 'grid' or 'random'")
        return cls(name, strategy, tuple(configs), settings or BacktestSettings(), symbol)


@dataclass(frozen=True)
class StudyResult:
    """The outcome of one study.

    Attributes
    ----------
    spec:
        The study that ran.
    trials:
        One row per configuration (index = column label ``c00``, ``c01``, ...): ``params``
        (full, validated), ``stop`` (the stop policy, ``fixed``, ``off`` or ``atr``),
        ``config_hash`` (the trial identity), ``status`` (``new``, ``resumed`` — already in
        the trial log, from any study — or the error), ``sr`` (per period), ``sr_annual``,
        ``n_trades``, ``total_return``.
    returns:
        ``(T, N)`` per-bar net returns of the configurations that ran (warm-up trimmed).
    periods_per_year:
        Annualisation factor of the bars (market calendar).
    positions:
        ``(T, N)`` sign of each configuration's position at each bar's close (-1, 0, +1).
    data:
        The bars' identity (content fingerprint, family, timeframe).
    """

    spec: StudySpec
    trials: pd.DataFrame
    returns: pd.DataFrame
    periods_per_year: float
    positions: pd.DataFrame
    data: DataIdentity

    def trial_settings(self, label: str) -> BacktestSettings:
        """The backtest settings configuration ``label`` ran with.

        The study's settings under its stop policy.

        Parameters
        ----------
        label : str
            A configuration's column label (``"c00"``, ...), an index of :attr:`trials`.

        Returns
        -------
        BacktestSettings
            :func:`~.trial.with_stop_policy` of the study's settings and the
            configuration's ``stop``.
        """
        return with_stop_policy(self.spec.settings, self.trials.loc[label, "stop"])

    @property
    def new_trials(self) -> int:
        """Trials this run logged (status ``new``: not in the trial log before)."""
        return int((self.trials["status"] == "new").sum())

    @property
    def resumed_trials(self) -> int:
        """Trials already in the trial log, from any study (status ``resumed``)."""
        return int((self.trials["status"] == "resumed").sum())


def default_cache_dir() -> Path:
    """Where studies keep their trials' returns (user cache directory).

    Returns
    -------
    pathlib.Path
        ``<user cache dir of crypto-strategy-lab>/studies`` (not created here).
    """
    return Path(user_cache_dir("crypto-strategy-lab")) / "studies"


def make_strategy(name: str, overrides: Mapping[str, Any]) -> Strategy:
    """``get_strategy(name, overrides)``, invalid parameters as one :class:`StudyError`.

    Parameters
    ----------
    name : str
        The registered strategy.
    overrides : Mapping[str, Any]
        Parameters replacing its defaults.

    Returns
    -------
    Strategy
        The instance, its parameters validated.

    Raises
    ------
    StudyError
        If a parameter is invalid: one line naming each bad field and its problem.
    UnknownStrategyError
        If `name` is not registered.
    """
    try:
        return get_strategy(name, dict(overrides))
    except ValidationError as exc:
        problem = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors()
        )
        raise StudyError(f"{name} parameters {dict(overrides)}: {problem}") from None


@dataclass
class _Prepared:
    spec: StudySpec
    trim: int
    labels: list[str]
    params: list[dict[str, Any]]
    settings: list[BacktestSettings]
    hashes: list[str]
    status: dict[str, str]
    returns: dict[str, np.ndarray]
    positions: dict[str, np.ndarray]
    n_trades: dict[str, int]


def _prepare(
    spec: StudySpec,
    bars: pd.DataFrame,
    log: TrialLog,
    cache: Path,
    min_obs: int,
    data: DataIdentity,
) -> tuple[_Prepared, list[TrialTask]]:
    # full validated parameters (bad overrides fail here, before anything runs)
    # a configuration's ``stop`` key is a backtest setting (the stop policy), not a parameter
    full: list[tuple[dict[str, Any], BacktestSettings]] = []
    seen: list[tuple[dict[str, Any], BacktestSettings]] = []
    warmups = []
    for overrides in spec.configs:
        rest = dict(overrides)
        policy = rest.pop("stop", None)
        try:
            settings = spec.settings if policy is None else with_stop_policy(spec.settings, policy)
        except CSLError as exc:
            raise StudyError(f"{spec.strategy}: {exc}") from None
        strategy = make_strategy(spec.strategy, rest)
        # spans that come to the same bar counts (e.g. every window raised to the minimum
        # number of observations on daily bars) are one computation, so one trial
        key = (strategy.params.in_bars(), settings)
        if key not in seen:
            seen.append(key)
            full.append((strategy.params.model_dump(mode="json"), settings))
            warmups.append(strategy.warmup)
    if not full:
        raise StudyError(f"study {spec.name!r} has no configurations")
    trim = max(warmups)
    if len(bars) - trim < min_obs:
        raise StudyError(
            f"{spec.strategy}: {len(bars)} bars leave {len(bars) - trim} after the largest "
            f"warm-up ({trim} bars); the study needs at least {min_obs}"
        )
    code = strategy_code_version(spec.strategy)
    prep = _Prepared(spec, trim, [], [], [], [], {}, {}, {}, {})
    tasks = []
    for k, (params, settings) in enumerate(full):
        label = f"c{k:02d}"
        digest = trial_identity(spec.strategy, params, settings.identity(), data, code)
        prep.labels.append(label)
        prep.params.append(params)
        prep.settings.append(settings)
        prep.hashes.append(digest)
        logged = log.has_trial(digest)
        cached = cache / f"{digest}.npz"
        if logged and cached.is_file():
            with np.load(cached) as npz:
                if npz["returns"].shape == (len(bars),) and "position_sign" in npz:
                    prep.returns[label] = npz["returns"][trim:]
                    prep.positions[label] = npz["position_sign"][trim:]
                    prep.n_trades[label] = int(npz["n_trades"])
                    prep.status[label] = "resumed"
                    continue
        tasks.append(
            TrialTask(k, spec.name, spec.strategy, params, settings, digest, log=not logged)
        )
    return prep, tasks


def run_studies(
    specs: Sequence[StudySpec],
    bars: pd.DataFrame,
    *,
    trial_log: TrialLog,
    executor: TrialExecutor | None = None,
    cache_dir: str | Path | None = None,
    console: Console | None = None,
    min_obs: int = 200,
    description: str = "trials",
) -> list[StudyResult]:
    """Run several studies on the same bars in one batch (one pool, one progress bar).

    Parameters
    ----------
    specs : Sequence[StudySpec]
        The studies; their names must be unique.
    bars : pandas.DataFrame
        OHLCV frame shared by every study.
    trial_log : TrialLog
        Where every newly evaluated configuration is recorded.
    executor : TrialExecutor, optional
        Where trials run (default
        :class:`~crypto_strategy_lab.research.executors.LocalExecutor`).
    cache_dir : str or Path, optional
        Returns cache for resumed studies (default :func:`default_cache_dir`).
    console : rich.console.Console, optional
        Shows a progress bar on this console; ``None`` runs silently.
    min_obs : int, default 200
        Fewest bars a study must keep after its warm-up.
    description : str, default "trials"
        The progress bar's label.

    Returns
    -------
    list of StudyResult
        One per spec, in their order.

    Raises
    ------
    StudyError
        If two specs share a name, or a study cannot run.
    """
    if len({s.name for s in specs}) != len(specs):
        raise StudyError("study names must be unique within one batch")
    executor = executor or LocalExecutor()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    market = "stock" if specs and specs[0].settings.market == "stock" else "crypto"
    data = identify_data(bars, specs[0].symbol if specs else "", trial_log, market)
    code = {s.strategy: strategy_code_version(s.strategy) for s in specs}
    prepared: dict[str, _Prepared] = {}
    tasks: list[TrialTask] = []
    for spec in specs:
        prep, todo = _prepare(spec, bars, trial_log, cache, min_obs, data)
        prepared[spec.name] = prep
        tasks.extend(todo)

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=console is None,
    )
    bar = progress.add_task(description, total=len(tasks))

    def on_result(task: TrialTask, outcome: TrialOutcome) -> None:
        progress.advance(bar)
        prep = prepared[task.study]
        label = prep.labels[task.key]
        if outcome.returns is None:
            prep.status[label] = outcome.error
            return
        returns = outcome.returns[prep.trim :]
        signs = (
            np.zeros(len(bars), np.int8) if outcome.position_sign is None else outcome.position_sign
        )
        if task.log:
            series = pd.Series(returns, index=bars.index[prep.trim :])
            row = trial_log.record(
                study=task.study,
                strategy=task.strategy,
                params=task.params,
                returns=series,
                symbol=prep.spec.symbol,
                settings=task.settings.identity(),
                data=data,
                code_version=code[task.strategy],
            )
            if row.config_hash != task.config_hash:
                raise StudyError(f"trial hash mismatch for {task.strategy} {task.params}")
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(
            cache / f"{task.config_hash}.npz",
            returns=outcome.returns,
            position_sign=signs,
            n_trades=outcome.n_trades,
        )
        prep.returns[label] = returns
        prep.positions[label] = signs[prep.trim :]
        prep.n_trades[label] = outcome.n_trades
        prep.status[label] = "new" if task.log else "resumed"

    with progress:
        executor.run(tasks, bars, on_result)
    return [_result(prepared[s.name], bars, data) for s in specs]


def run_study(spec: StudySpec, bars: pd.DataFrame, **kwargs: Any) -> StudyResult:
    """Run one study.

    Parameters
    ----------
    spec : StudySpec
        The study.
    bars : pandas.DataFrame
        OHLCV frame it runs on.
    **kwargs
        As in :func:`run_studies` (``trial_log`` is required).

    Returns
    -------
    StudyResult
        The study's trials, per-bar returns and positions.
    """
    return run_studies([spec], bars, **kwargs)[0]


def _result(prep: _Prepared, bars: pd.DataFrame, data: DataIdentity) -> StudyResult:
    market = "stock" if prep.spec.settings.market == "stock" else "crypto"
    ppy = infer_periods_per_year(bars.index, market)
    index = bars.index[prep.trim :]
    ok = [lab for lab in prep.labels if lab in prep.returns]
    if not ok:
        errors = {prep.status.get(lab, "not run") for lab in prep.labels}
        raise StudyError(f"every trial of {prep.spec.name!r} failed: {'; '.join(errors)}")
    returns = pd.DataFrame({lab: prep.returns[lab] for lab in ok}, index=index)
    positions = pd.DataFrame({lab: prep.positions[lab] for lab in ok}, index=index)
    rows = []
    for label, params, settings, digest in zip(
        prep.labels, prep.params, prep.settings, prep.hashes, strict=True
    ):
        row: Mapping[str, Any] = {
            "params": params,
            "stop": settings.stop_policy(),
            "config_hash": digest,
            "status": prep.status.get(label, "not run"),
        }
        if label in prep.returns:
            r = prep.returns[label]
            sr = return_moments(r).sr
            row = {
                **row,
                "sr": sr,
                "sr_annual": sr * np.sqrt(ppy),
                "n_trades": prep.n_trades[label],
                "total_return": float(np.prod(1.0 + r) - 1.0),
            }
        rows.append(row)
    trials = pd.DataFrame(rows, index=pd.Index(prep.labels, name="config"))
    return StudyResult(prep.spec, trials, returns, ppy, positions, data)
