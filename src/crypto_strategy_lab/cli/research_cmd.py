"""``csl lab``, ``csl backtest``, ``csl validate`` and ``csl study``: the research commands.

Data for every command: ``--data`` in the one data grammar (a CSV/Parquet path,
``SOURCE:SYMBOL:TIMEFRAME`` from the store, ``bundled:crypto|stocks``; the bundled crypto
sample by default), with ``--timeframe`` (causal resampling), ``--market``, ``--ts-unit`` and
``--col`` (:mod:`crypto_strategy_lab.cli.data_options`). The first output line says the market
and where it came from. Bad input (unknown strategy, missing file, bad parameter, implausible
data) is one red line and exit status 1.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from crypto_strategy_lab.cli import data_options
from crypto_strategy_lab.cli.errors import guarded
from crypto_strategy_lab.cli.params import PARAM, parse_params
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.research.display import format_number

# Piped output (make lab | tee, CI logs) gets a table wide enough for every column.
console = Console(width=None if sys.stdout.isatty() else 130)


JOURNAL = typer.Option(None, "--journal", help="Journal DB URL (default: CSL_JOURNAL_URL).")
EXECUTOR = typer.Option("local", "--executor", help="Where trials run: local or ray.")
ADDRESS = typer.Option(None, "--address", help="Ray cluster address (with --executor ray).")
WORKERS = typer.Option(None, "--workers", help="Worker processes (default: CPUs available).")
STRATEGY = typer.Option(..., "--strategy", help="Strategy name (csl lab lists all 12).")
CACHE = typer.Option(None, "--cache-dir", help="Study returns cache (default: user cache).")
INSTRUMENT = typer.Option(
    None,
    "--instrument",
    help="Traded symbol the bars are of (e.g. BTCUSDT; default: the stored series' symbol). "
    "A verdict unlocks `csl live` only for its instrument.",
)


def _data(data: str | None, symbol: str | None, timeframe: str | None, source: str,
          market: str | None, ts_unit: str | None, col: list[str], data_dir: Path | None,
          bundled: str | None):  # type: ignore[no-untyped-def]  # fmt: skip
    """The command's bars through the one data parser; prints the market line first."""
    from crypto_strategy_lab.research.inputs import lab_data

    loaded = data_options.load_input(
        console, data=data, symbol=symbol, source=source, timeframe=timeframe, market=market,
        ts_unit=ts_unit, col=col, data_dir=data_dir, bundled=bundled,
    )  # fmt: skip
    return lab_data(loaded)


def _with_instrument(dataset: Any, instrument: str | None) -> Any:
    from crypto_strategy_lab.research.inputs import venue_symbol

    if instrument is None:
        return dataset
    if not instrument.strip():
        raise ConfigError("--instrument must not be empty")
    return dataclasses.replace(dataset, instrument=venue_symbol(instrument.strip()))


def _slippage(name: str) -> str:
    from crypto_strategy_lab.core.costs import SlippageModel

    known = [m.value for m in SlippageModel]
    if name not in known:
        raise ConfigError(f"--slippage must be one of {', '.join(known)}, got {name!r}")
    return name


def _executor(name: str, address: str | None, workers: int | None):  # type: ignore[no-untyped-def]
    from crypto_strategy_lab.research.executors import make_executor

    return make_executor(name, workers=workers, address=address)


def _criteria_table(verdict: Any, title: str) -> Table:
    table = Table(title=title)
    for col in ("criterion", "value", "", "threshold", "result", "detail"):
        table.add_column(col)
    for c in verdict.criteria:
        table.add_row(
            c.name,
            format_number(c.value, ".4g"),
            c.comparison,
            format_number(c.threshold, ".4g"),
            "[green]pass[/]" if c.passed else "[red]FAIL[/]",
            c.detail,
        )
    return table


@guarded
def lab(
    data: list[str] = data_options.DATA_MANY,
    symbol: str | None = data_options.SYMBOL,
    timeframe: str | None = data_options.TIMEFRAME,
    source: str = data_options.SOURCE,
    market: str | None = data_options.MARKET,
    ts_unit: str | None = data_options.TS_UNIT,
    col: list[str] = data_options.COL,
    data_dir: Path | None = data_options.DATA_DIR,
    bundled: str | None = data_options.BUNDLED,
    quick: bool = typer.Option(False, "--quick", help="Fewer configurations and families."),
    strategies: str | None = typer.Option(None, "--strategies", help="Comma list (default all)."),
    out: Path = typer.Option(Path("reports/lab"), "--out", help="Report root directory."),
    journal: str | None = JOURNAL,
    executor: str = EXECUTOR,
    address: str | None = ADDRESS,
    workers: int | None = WORKERS,
    cache_dir: Path | None = CACHE,
    families: int | None = typer.Option(
        None,
        "--calibration-families",
        help="Simulated searches per calibration arm (default 100; 20 with --quick).",
    ),
    instrument: str | None = INSTRUMENT,
    slippage: str = typer.Option(
        "fixed",
        "--slippage",
        help="Slippage model: fixed (2 bps), range (a share of the bar's range) or volume "
        "(2 bps + impact x participation |q|/V, capped).",
    ),
) -> None:
    """Run every strategy through a study, the gate and orthogonality; write the report.
    \f

    Parameters
    ----------
    data, symbol, timeframe, source, market, ts_unit, col, data_dir, bundled
        The data options: ``--data`` (repeatable: several assets searched as one), or the
        older ``--symbol``/``--source``/``--bundled``; ``--timeframe`` resamples,
        ``--market`` fixes the market (else inferred), ``--ts-unit``/``--col`` read a file,
        ``--data-dir`` is the store (:mod:`crypto_strategy_lab.cli.data_options`).
    quick : bool
        ``--quick``: Fewer configurations and families.
    strategies : str or None
        ``--strategies``: Comma list (default all).
    out : Path
        ``--out``: the report root directory, default ``reports/lab``.
    journal : str or None
        ``--journal``: Journal DB URL (default: CSL_JOURNAL_URL).
    executor : str
        ``--executor``: Where trials run: local or ray. Default 'local'.
    address : str or None
        ``--address``: Ray cluster address (with --executor ray).
    workers : int or None
        ``--workers``: Worker processes (default: CPUs available).
    cache_dir : Path or None
        ``--cache-dir``: Study returns cache (default: user cache).
    families : int or None
        ``--calibration-families``: Simulated searches per calibration arm (default 100; 20
        with --quick).
    instrument : str or None
        ``--instrument``: Traded symbol the bars are of (e.g. BTCUSDT; default: the stored
        series' symbol). A verdict unlocks `csl live` only for its instrument.
    slippage : str
        ``--slippage``: Slippage model: fixed (2 bps), range (a share of the bar's range) or
        volume (2 bps + impact x participation |q|/V, capped). Default 'fixed'.
    """  # noqa: D205, D400
    from crypto_strategy_lab.cli.display import progress_console, progress_status
    from crypto_strategy_lab.research.inputs import bundled_data
    from crypto_strategy_lab.research.lab import (
        CalibrationSettings,
        run_lab,
        store_verdicts,
        verdict_table,
    )
    from crypto_strategy_lab.research.report import write_report
    from crypto_strategy_lab.strategies import strategy_class

    names = [s.strip() for s in strategies.split(",") if s.strip()] if strategies else None
    for name in names or []:
        strategy_class(name)  # unknown names fail before the data is loaded
    if len(data) > 1 and (symbol is not None or bundled is not None or instrument is not None):
        raise ConfigError(
            "several --data take no --symbol, --bundled or --instrument: name each dataset "
            "with its own --data"
        )
    with progress_status("loading and validating the data"):
        if not data and symbol is None and bundled is None:
            # both halves of the brief: crypto bars, and S&P 500 daily for "All" strategies
            datasets = [
                _with_instrument(bundled_data(kind), instrument) for kind in ("crypto", "stocks")
            ]
        else:
            # several assets are one search: every asset's trials deflate every verdict
            datasets = [
                _with_instrument(
                    _data(d, symbol, timeframe, source, market, ts_unit, col, data_dir, bundled),
                    instrument,
                )
                for d in data or [None]
            ]
            given = [d.name for d in datasets]
            if len(set(given)) != len(given):
                raise ConfigError(f"the same dataset is given twice: {', '.join(given)}")
    calibration = None
    if families is not None:
        if families < 1:
            raise ConfigError(f"--calibration-families must be >= 1, got {families}")
        calibration = CalibrationSettings(n_families=families)
    for dataset in datasets:
        console.print(f"[bold]lab[/] on {dataset.name}: {len(dataset.bars):,} bars")
    trials_on = _executor(executor, address, workers)
    try:
        result = run_lab(
            datasets,
            strategies=names,
            quick=quick,
            calibration=calibration,
            journal=journal,
            executor=trials_on,
            cache_dir=cache_dir,
            console=progress_console(),
            slippage=_slippage(slippage),
        )
    finally:
        trials_on.close()
    with progress_status("writing the report"):
        path = write_report(result, out)
    result = dataclasses.replace(result, report_path=path)
    store_verdicts(result, journal)
    console.print(verdict_table(result))
    console.print(f"report: {path}")
    console.print(f"results (gate table, returns and trades per row): {path.parent}")
    console.print(f"verdicts stored in the journal under run {result.run_id}")


@guarded
def backtest(
    strategy: str = STRATEGY,
    param: list[str] = PARAM,
    data: str | None = data_options.DATA,
    symbol: str | None = data_options.SYMBOL,
    timeframe: str | None = data_options.TIMEFRAME,
    source: str = data_options.SOURCE,
    market: str | None = data_options.MARKET,
    ts_unit: str | None = data_options.TS_UNIT,
    col: list[str] = data_options.COL,
    data_dir: Path | None = data_options.DATA_DIR,
    bundled: str | None = data_options.BUNDLED,
    trades_csv: Path | None = typer.Option(None, "--trades-csv", help="Write the trade list."),
) -> None:
    """Backtest one strategy configuration with the default costs; print its statistics.
    \f

    Parameters
    ----------
    strategy : str
        ``--strategy``: Strategy name (csl lab lists all 12).
    param : list of str
        ``--param``: name=value override (repeatable).
    data, symbol, timeframe, source, market, ts_unit, col, data_dir, bundled
        The data options: ``--data``, or the older ``--symbol``/``--source``/
        ``--bundled``; ``--timeframe`` resamples, ``--market`` fixes the market (else
        inferred), ``--ts-unit``/``--col`` read a file, ``--data-dir`` is the store
        (:mod:`crypto_strategy_lab.cli.data_options`).
    trades_csv : Path or None
        ``--trades-csv``: Write the trade list.
    """  # noqa: D205, D400
    from crypto_strategy_lab.backtest import run_backtest
    from crypto_strategy_lab.cli.display import print_backtest
    from crypto_strategy_lab.data.timeframes import infer_timeframe
    from crypto_strategy_lab.research.study import StudyError, make_strategy

    dataset = _data(data, symbol, timeframe, source, market, ts_unit, col, data_dir, bundled)
    settings = _settings(dataset)
    # spans convert at the data's bar size unless --param timeframe=... says otherwise
    bar = {"timeframe": infer_timeframe(dataset.bars.index)}
    strat = make_strategy(strategy, bar | parse_params(param, multi=False))
    if len(dataset.bars) <= strat.warmup:
        raise StudyError(f"{strategy} needs more than {strat.warmup} bars, got {len(dataset.bars)}")
    result = run_backtest(strat, dataset.bars, **settings.backtest_kwargs())
    print_backtest(
        console,
        result,
        strategy=strat,
        title=f"{strategy} on {dataset.name}",
        bars=dataset.bars,
        costs=settings.describe(),
    )
    if trades_csv is not None:
        result.trades.to_csv(trades_csv, index=False)
        console.print(f"{len(result.trades)} trades written to {trades_csv}")


@guarded
def validate(
    strategy: str = STRATEGY,
    param: list[str] = typer.Option(
        [], "--param", help="name=v1,v2 grid axis (repeatable; default: the lab's grid)."
    ),
    data: str | None = data_options.DATA,
    symbol: str | None = data_options.SYMBOL,
    timeframe: str | None = data_options.TIMEFRAME,
    source: str = data_options.SOURCE,
    market: str | None = data_options.MARKET,
    ts_unit: str | None = data_options.TS_UNIT,
    col: list[str] = data_options.COL,
    data_dir: Path | None = data_options.DATA_DIR,
    bundled: str | None = data_options.BUNDLED,
    quick: bool = typer.Option(
        False, "--quick", help="The lab's quick configurations (7 instead of 9)."
    ),
    journal: str | None = JOURNAL,
    executor: str = EXECUTOR,
    address: str | None = ADDRESS,
    workers: int | None = WORKERS,
    cache_dir: Path | None = CACHE,
    families: int = typer.Option(
        50, "--calibration-families", help="Simulated searches per calibration arm (cached)."
    ),
    fail_on_reject: bool = typer.Option(
        False, "--fail-on-reject", help="Exit with status 2 when the gate rejects the strategy."
    ),
    instrument: str | None = INSTRUMENT,
) -> None:
    """Study one strategy, apply the gate and store the verdict.
    \f

    Parameters
    ----------
    strategy : str
        ``--strategy``: Strategy name (csl lab lists all 12).
    param : list of str
        ``--param``: name=v1,v2 grid axis (repeatable; default: the lab's grid).
    data, symbol, timeframe, source, market, ts_unit, col, data_dir, bundled
        The data options: ``--data``, or the older ``--symbol``/``--source``/
        ``--bundled``; ``--timeframe`` resamples, ``--market`` fixes the market (else
        inferred), ``--ts-unit``/``--col`` read a file, ``--data-dir`` is the store
        (:mod:`crypto_strategy_lab.cli.data_options`).
    quick : bool
        ``--quick``: The lab's quick configurations (7 instead of 9).
    journal : str or None
        ``--journal``: Journal DB URL (default: CSL_JOURNAL_URL).
    executor : str
        ``--executor``: Where trials run: local or ray. Default 'local'.
    address : str or None
        ``--address``: Ray cluster address (with --executor ray).
    workers : int or None
        ``--workers``: Worker processes (default: CPUs available).
    cache_dir : Path or None
        ``--cache-dir``: Study returns cache (default: user cache).
    families : int
        ``--calibration-families``: Simulated searches per calibration arm (cached). Default 50.
    fail_on_reject : bool
        ``--fail-on-reject``: Exit with status 2 when the gate rejects the strategy.
    instrument : str or None
        ``--instrument``: Traded symbol the bars are of (e.g. BTCUSDT; default: the stored
        series' symbol). A verdict unlocks `csl live` only for its instrument.
    """  # noqa: D205, D400
    from crypto_strategy_lab.data.timeframes import infer_timeframe
    from crypto_strategy_lab.research.identity import strategy_code_version
    from crypto_strategy_lab.research.lab import new_run_id
    from crypto_strategy_lab.research.spaces import lab_configs
    from crypto_strategy_lab.research.study import StudySpec
    from crypto_strategy_lab.research.verdicts import VerdictStore
    from crypto_strategy_lab.strategies import strategy_class

    strategy_class(strategy)  # an unknown name fails first, listing the known ones
    dataset = _with_instrument(
        _data(data, symbol, timeframe, source, market, ts_unit, col, data_dir, bundled), instrument
    )
    bar = infer_timeframe(dataset.bars.index)
    space = parse_params(param, multi=True)
    if space:
        spec = StudySpec.from_space(
            f"lab:{strategy}", strategy, {"timeframe": [bar], **space},
            settings=_settings(dataset), symbol=dataset.name,
        )  # fmt: skip
    else:
        spec = StudySpec(f"lab:{strategy}", strategy, tuple(lab_configs(strategy, bar, quick)),
                         _settings(dataset), dataset.name)  # fmt: skip
    a, log = _run_and_assess(
        spec, dataset, journal, _executor(executor, address, workers), cache_dir
    )
    VerdictStore(log.engine).save(
        new_run_id(),
        a.verdict,
        symbol=dataset.name,
        params=a.verdict_params,
        instrument=dataset.instrument,
        data=a.study.data,
        code_version=strategy_code_version(strategy),
    )
    mark = "[green]PASS[/]" if a.verdict.passed else "[red]FAIL[/]"
    console.print(_criteria_table(a.verdict, f"gate: {strategy} on {dataset.name} — {mark}"))
    _print_calibration(a, dataset, families, cache_dir)
    if fail_on_reject and not a.verdict.passed:
        raise typer.Exit(2)


def _settings(dataset: Any) -> Any:
    from crypto_strategy_lab.research.inputs import default_settings

    return default_settings(dataset.market)


def _print_calibration(
    assessment: Any, dataset: Any, families: int, cache_dir: Path | None
) -> None:
    """The gate's calibration for this search (the strategies tried on the data's family)."""
    from crypto_strategy_lab.cli.display import progress_console
    from crypto_strategy_lab.research.lab import CalibrationSettings, run_calibration, search_shape
    from crypto_strategy_lab.research.study import default_cache_dir
    from crypto_strategy_lab.validation.gate import GateConfig

    if families < 1:
        raise ConfigError(f"--calibration-families must be >= 1, got {families}")
    shape = dataclasses.replace(
        search_shape([assessment]), n_strategies=assessment.deflation.n_strategies
    )
    cal = run_calibration(
        CalibrationSettings(n_families=families),
        GateConfig(),
        shape,
        dataset.bars,
        Path(cache_dir or default_cache_dir()) / "calibration",
        progress_console(),
    )
    power = ", ".join(f"{p:.0%} at {e:g}" for e, p in cal.power.items())
    console.print(
        f"gate calibration ({families} searches each{', cached' if cal.from_cache else ''}): "
        f"{shape.n_strategies} strategies × {shape.n_configs} configurations, ρ {shape.rho:.2f}, "
        f"{shape.n_obs:,} bars, {shape.time_in_market:.0%} in market, "
        f"{shape.bars_per_bet:.1f} bars per bet, noise from this data's returns; "
        f"family-wise false-pass rate {cal.false_pass:.1%} "
        f"(95 % {cal.false_pass_ci[0]:.1%}–{cal.false_pass_ci[1]:.1%}); "
        f"power at annual SR {power}",
        highlight=False,
    )


def _run_and_assess(
    spec: Any, dataset: Any, journal: str | None, executor: Any, cache_dir: Path | None
) -> tuple[Any, Any]:
    """Run (or resume) the study, print its trials and return ``(assessment, trial log)``."""
    from crypto_strategy_lab.cli.display import progress_console
    from crypto_strategy_lab.research.assessment import assess_study
    from crypto_strategy_lab.research.study import run_study
    from crypto_strategy_lab.validation.trial_log import TrialLog

    log = TrialLog(journal)
    study = run_study(
        spec,
        dataset.bars,
        trial_log=log,
        executor=executor,
        cache_dir=cache_dir,
        console=progress_console(),
    )
    assessment = assess_study(study, log)
    _print_study(study, assessment)
    return assessment, log


def _print_study(study: Any, assessment: Any) -> None:
    table = Table(title=f"study {study.spec.name}: {len(study.trials)} configurations")
    for col in ("config", "parameters", "SR (ann.)", "trades", "total return", "status"):
        table.add_column(col)
    for label, t in study.trials.iterrows():
        ran = isinstance(t.get("sr"), float) and not math.isnan(t["sr"])
        star = " ★" if label == assessment.selected else ""
        params = ", ".join(f"{k}={v}" for k, v in t["params"].items() if k != "timeframe")
        table.add_row(
            f"{label}{star}",
            params,
            format_number(t["sr_annual"], ".2f") if ran else "n/a",
            str(int(t["n_trades"])) if ran else "n/a",
            format_number(t["total_return"], ".2%") if ran else "n/a",
            str(t["status"]),
        )
    console.print(table)
    wf = assessment.walk_forward
    pbo = assessment.pbo.pbo if assessment.pbo else None
    oos_sr = wf.oos_sharpe * math.sqrt(study.periods_per_year) if wf else None
    d = assessment.deflation
    bets = assessment.bets
    console.print(
        f"selected {assessment.selected} (best full-sample SR); PBO {format_number(pbo, '.2f')}; "
        f"walk-forward OOS SR (ann.) {format_number(oos_sr, '.2f')}; "
        f"new trials {study.new_trials}, resumed {study.resumed_trials}",
        highlight=False,
    )
    console.print(
        f"trials: {d.strategy_trials} of {assessment.strategy} (per-strategy N), "
        f"{d.n_trials} on this data family (family N, the DSR's deflation): {d.describe()}",
        highlight=False,
    )
    console.print(
        f"track record: {bets.n_bets:,} independent bets ({bets.bars_per_bet:.1f} bars each) "
        f"beside {assessment.moments.n_obs:,} bars; "
        f"MinTRL {format_number(assessment.threshold('track_record'), ',.1f')} bets",
        highlight=False,
    )


@guarded
def study(
    strategy: str = STRATEGY,
    param: list[str] = typer.Option(
        [], "--param", help="name=v1,v2,... grid axis (repeatable; default: the lab's grid)."
    ),
    random: int | None = typer.Option(None, "--random", help="Draw N configs at random."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random draws."),
    name: str | None = typer.Option(None, "--name", help="Study name (default study:<name>)."),
    data: str | None = data_options.DATA,
    symbol: str | None = data_options.SYMBOL,
    timeframe: str | None = data_options.TIMEFRAME,
    source: str = data_options.SOURCE,
    market: str | None = data_options.MARKET,
    ts_unit: str | None = data_options.TS_UNIT,
    col: list[str] = data_options.COL,
    data_dir: Path | None = data_options.DATA_DIR,
    bundled: str | None = data_options.BUNDLED,
    journal: str | None = JOURNAL,
    executor: str = EXECUTOR,
    address: str | None = ADDRESS,
    workers: int | None = WORKERS,
    cache_dir: Path | None = CACHE,
) -> None:
    """Grid or random search with walk-forward evaluation; every trial logged, resumable.
    \f

    Parameters
    ----------
    strategy : str
        ``--strategy``: Strategy name (csl lab lists all 12).
    param : list of str
        ``--param``: name=v1,v2,... grid axis (repeatable; default: the lab's grid).
    random : int or None
        ``--random``: Draw N configs at random.
    seed : int
        ``--seed``: Seed of the random draws.
    name : str or None
        ``--name``: Study name (default study:<name>).
    data, symbol, timeframe, source, market, ts_unit, col, data_dir, bundled
        The data options: ``--data``, or the older ``--symbol``/``--source``/
        ``--bundled``; ``--timeframe`` resamples, ``--market`` fixes the market (else
        inferred), ``--ts-unit``/``--col`` read a file, ``--data-dir`` is the store
        (:mod:`crypto_strategy_lab.cli.data_options`).
    journal : str or None
        ``--journal``: Journal DB URL (default: CSL_JOURNAL_URL).
    executor : str
        ``--executor``: Where trials run: local or ray. Default 'local'.
    address : str or None
        ``--address``: Ray cluster address (with --executor ray).
    workers : int or None
        ``--workers``: Worker processes (default: CPUs available).
    cache_dir : Path or None
        ``--cache-dir``: Study returns cache (default: user cache).
    """  # noqa: D205, D400
    from crypto_strategy_lab.data.timeframes import infer_timeframe
    from crypto_strategy_lab.research.spaces import lab_space_at
    from crypto_strategy_lab.research.study import StudySpec
    from crypto_strategy_lab.strategies import strategy_class

    strategy_class(strategy)
    dataset = _data(data, symbol, timeframe, source, market, ts_unit, col, data_dir, bundled)
    bar = infer_timeframe(dataset.bars.index)
    # spans convert at the data's bar size unless the study sets the timeframe itself; the
    # default space leaves out the values that do not fit that bar size
    space = parse_params(param, multi=True)
    space = {"timeframe": [bar], **space} if space else lab_space_at(strategy, bar)
    spec = StudySpec.from_space(
        name or f"study:{strategy}",
        strategy,
        space,
        settings=_settings(dataset),
        symbol=dataset.name,
        method="random" if random is not None else "grid",
        n_random=random or 0,
        seed=seed,
    )
    a, _ = _run_and_assess(spec, dataset, journal, _executor(executor, address, workers), cache_dir)
    console.print(_criteria_table(a.verdict, f"gate on the selected configuration ({a.selected})"))


def register(root: typer.Typer) -> None:
    """Add ``lab``, ``backtest``, ``validate`` and ``study`` to the ``csl`` app.

    Parameters
    ----------
    root : typer.Typer
        The ``csl`` app; each command is registered under its function's name, in that
        order (the order ``csl --help`` lists them).
    """
    for command in (lab, backtest, validate, study):
        root.command(command.__name__)(command)
