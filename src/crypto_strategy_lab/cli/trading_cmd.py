"""Trading commands: ``csl paper``, ``live``, ``deploy``, ``kill``, ``status``, ``drift``.

All of them go through the one engine loop (``crypto_strategy_lab.engine``); the journal
(``--journal`` or ``CSL_JOURNAL_URL``, default the SQLite file in the data directory) is where
every order, fill, decision and halt is recorded.
"""

from __future__ import annotations

import asyncio
import gc
import getpass
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from crypto_strategy_lab.cli import data_options
from crypto_strategy_lab.cli.params import PARAM, parse_params
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.core.errors import ConfigError

# Piped output (logs, CI) gets a table wide enough for full run ids, as research_cmd's does.
console = Console(width=None if sys.stdout.isatty() else 130)
JOURNAL = typer.Option(None, "--journal", help="Journal SQLAlchemy URL (default: CSL_JOURNAL_URL).")
STOP_UNIT = typer.Option(
    None, "--stop-unit", help="Protective exits in 'fraction' of the entry or 'atr' units."
)
STOP_LOSS = typer.Option(
    None, "--stop-loss", help="Stop-loss distance in --stop-unit (omitted with --stop-unit: none)."
)
TAKE_PROFIT = typer.Option(
    None, "--take-profit", help="Take-profit distance in --stop-unit (omitted: none)."
)
ATR_PERIOD = typer.Option(None, "--atr-period", help="Wilder's ATR period in bars (atr).")


def protective_stops(
    stop_unit: str | None,
    stop_loss: float | None,
    take_profit: float | None,
    atr_period: int | None,
) -> Any:
    """The ``--stop-*`` options as :class:`~crypto_strategy_lab.risk.ProtectiveStops`.

    Parameters
    ----------
    stop_unit : str or None
        ``--stop-unit``: ``"fraction"`` or ``"atr"``; None: not given.
    stop_loss, take_profit : float or None
        ``--stop-loss``/``--take-profit`` in that unit; None: not given (an omitted level
        is no such order once any option is given).
    atr_period : int or None
        ``--atr-period`` for ATR stops; None: not given.

    Returns
    -------
    ProtectiveStops or None
        ``None`` when no option is given (the risk limits' 2 % / 4 %).

    Raises
    ------
    ConfigError
        One line naming the option of a bad value.
    """
    from pydantic import ValidationError

    from crypto_strategy_lab.risk.stops import ProtectiveStops

    given = {
        "stop_unit": stop_unit,
        "stop_loss": stop_loss,
        "take_profit": take_profit,
        "atr_period": atr_period,
    }
    if all(v is None for v in given.values()):
        return None
    fields = {k: v for k, v in given.items() if v is not None or k in ("stop_loss", "take_profit")}
    try:
        return ProtectiveStops(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        option = (
            f"--{where.replace('_', '-')}" if where else "--stop-unit/--stop-loss/--take-profit"
        )
        raise ConfigError(f"{option}: {first['msg'].removeprefix('Value error, ')}") from None


def _journal(url: str | None, *, create: bool = True, replay: bool = False):
    """The journal at ``url``; ``create=False`` refuses one that does not exist.

    A replay of historical bars commits with ``synchronous=NORMAL``, venue modes with ``FULL``
    (``journal/README.md``).
    """
    from crypto_strategy_lab.journal import Journal

    return Journal.open(url, create=create, synchronous="NORMAL" if replay else "FULL")


@contextmanager
def _reading(jr):
    """Journal reads whose failure on a damaged journal is one line naming the damage."""
    from crypto_strategy_lab.journal.integrity import reading

    with reading(jr.engine):
        yield


def _run(engine, feed) -> None:
    """Drive an engine built outside any event loop (the replay: no venue connections)."""

    async def built():
        return engine, feed

    _run_built(built)


def _run_built(build) -> None:
    """Build the run with ``await build()`` and drive it, all in ONE event loop.

    A venue client's HTTP session belongs to the loop that opened it: building in one
    ``asyncio.run`` and trading in another made the first reconcile fail with "Event loop is
    closed". The venue clients are closed in the same loop when the run ends. A progress bar
    follows the bars; the run's summary is printed from the journal at the end.
    """
    from crypto_strategy_lab.cli.display import (
        bar_progress,
        print_run_report,
        progress_console,
        run_report,
    )
    from crypto_strategy_lab.engine.shutdown import install_stop_handlers

    async def main():
        engine, feed = await build()
        halted_at_start = engine.journal.is_halted()
        # What is built by now (modules, bars, prepared signals, venue clients) lives for the
        # whole run: frozen, the cyclic collector's full passes skip it (each cost ~130 ms
        # at 30k replayed bars, ~0.7 ms per order spread over a run's orders).
        gc.freeze()
        try:
            install_stop_handlers(engine.request_stop)
            with bar_progress(progress_console(), feed) as tracked:
                return engine, halted_at_start, await engine.run(tracked)
        finally:
            gc.unfreeze()
            for exchange in {id(s.exchange): s.exchange for s in engine.sleeves}.values():
                await exchange.close()

    engine, halted_at_start, summary = asyncio.run(main())
    journal = engine.journal
    stock = any(s.market is MarketType.STOCK for s in engine.sleeves)
    report = run_report(
        journal, summary, capital=float(engine.capital), market="stock" if stock else "crypto"
    )
    print_run_report(console, report, kill_switch_engaged=halted_at_start or journal.is_halted())
    if summary.status == "stopped":
        console.print("stopped by signal; the run is closed in the journal", highlight=False)


def paper(
    strategy: str = typer.Option(..., "--strategy", help="Strategy name or 'all'."),
    days: float = typer.Option(7.0, "--days", help="Days to trade (replayed in simulated mode)."),
    capital: float = typer.Option(10_000.0, "--capital", help="Starting capital (quote ccy)."),
    mode: TradingMode = typer.Option(
        TradingMode.SIMULATED, "--mode", help="simulated | testnet (Bybit) | paper (Alpaca)."
    ),
    speedup: float = typer.Option(
        0.0, "--speedup", help="Replay speed: k x real time (0: as fast as possible)."
    ),
    data: str = typer.Option(
        "bundled:crypto", "--data", help="Replay data: bundled:crypto, SOURCE:SYMBOL:TF or a file."
    ),
    ts_unit: str | None = data_options.TS_UNIT,
    col: list[str] = data_options.COL,
    symbol: str = typer.Option("BTCUSDT", "--symbol", help="Venue symbol (testnet/paper)."),
    timeframe: str = typer.Option("1h", "--timeframe", help="Bar size (testnet/paper)."),
    run_id: str | None = typer.Option(None, "--run-id", help="Resume this run after a crash."),
    param: list[str] = PARAM,
    stop_unit: str | None = STOP_UNIT,
    stop_loss: float | None = STOP_LOSS,
    take_profit: float | None = TAKE_PROFIT,
    atr_period: int | None = ATR_PERIOD,
    journal: str | None = JOURNAL,
) -> None:
    """Paper trading: a replay of historical bars, or a venue's sandbox.

    Simulated (default, no keys): REPLAYS the last DAYS of historical bars through the engine
    and the simulated venue. testnet/paper: the venue's sandbox, live.
    \f

    Parameters
    ----------
    strategy : str
        ``--strategy``: Strategy name or 'all'.
    days : float
        ``--days``: Days to trade (replayed in simulated mode). Default 7.0.
    capital : float
        ``--capital``: Starting capital (quote ccy). Default 10000.0.
    mode : TradingMode
        ``--mode``: ``simulated`` (a replay, the default), ``testnet`` (Bybit) or ``paper``
        (Alpaca).
    speedup : float
        ``--speedup``: Replay speed: k x real time (0: as fast as possible).
    data : str
        ``--data``: Replay data: bundled:crypto, SOURCE:SYMBOL:TF or a file. Default
        'bundled:crypto'.
    ts_unit : str or None
        ``--ts-unit``: Epoch unit of a file: s, ms, us or ns.
    col : list of str
        ``--col``: File column mapping ours=theirs (repeatable).
    symbol : str
        ``--symbol``: Venue symbol (testnet/paper). Default 'BTCUSDT'.
    timeframe : str
        ``--timeframe``: Bar size (testnet/paper). Default '1h'.
    run_id : str or None
        ``--run-id``: Resume this run after a crash.
    param : list of str
        ``--param``: name=value override (repeatable).
    stop_unit : str or None
        ``--stop-unit``: Protective exits in 'fraction' of the entry or 'atr' units.
    stop_loss : float or None
        ``--stop-loss``: Stop-loss distance in --stop-unit (omitted with --stop-unit: none).
    take_profit : float or None
        ``--take-profit``: Take-profit distance in --stop-unit (omitted: none).
    atr_period : int or None
        ``--atr-period``: Wilder's ATR period in bars (atr).
    journal : str or None
        ``--journal``: Journal SQLAlchemy URL (default: CSL_JOURNAL_URL).
    """
    from crypto_strategy_lab.cli.display import progress_console, step_progress
    from crypto_strategy_lab.engine.paper import build_simulated_run, resolve_strategies

    if capital <= 0:
        raise ConfigError(f"--capital must be positive, got {capital}")
    names = resolve_strategies(strategy)
    overrides = parse_params(param)
    if overrides and len(names) != 1:
        raise ConfigError("--param applies to one strategy; name it with --strategy")
    params = {names[0]: overrides} if overrides else None
    stops = protective_stops(stop_unit, stop_loss, take_profit, atr_period)
    jr = _journal(journal, replay=mode is TradingMode.SIMULATED)
    if mode is TradingMode.SIMULATED:
        with step_progress(progress_console(), "preparing strategies", len(names)) as prepared:
            engine, feed = build_simulated_run(
                jr,
                names,
                days=days,
                capital=capital,
                source=data,
                speedup=speedup or None,
                run_id=run_id,
                read=data_options.read_options(ts_unit, col),
                on_prepared=prepared,
                params=params,
                stops={n: stops for n in names} if stops else None,
            )
        console.print(feed.describe(), highlight=False)
        console.print(
            f"journal: {jr.engine.url.render_as_string(hide_password=True)}", highlight=False
        )
        _run(engine, feed)
        return
    if mode is TradingMode.LIVE:
        raise ConfigError("use `csl live` for real money")
    if len(names) != 1:
        raise ConfigError(f"--mode {mode.value} runs one strategy per venue account; pick one")
    from crypto_strategy_lab.engine.venue_run import build_venue_run

    venue, market = (
        ("bybit", MarketType.LINEAR)
        if mode is TradingMode.TESTNET
        else ("alpaca", MarketType.STOCK)
    )
    console.print(
        f"{mode.value} trading on {venue} {symbol} {timeframe} for {days:g} days", highlight=False
    )
    _run_built(
        lambda: build_venue_run(
            jr,
            names[0],
            venue=venue,
            mode=mode,
            capital=capital,
            symbol=symbol,
            timeframe=timeframe,
            market=market,
            days=days,
            run_id=run_id,
            params=overrides or None,
            stops=stops,
        )
    )


def live_refusals(
    strategy: str,
    venue: str,
    confirm: bool,
    journal: str | None = None,
    *,
    symbol: str = "BTCUSDT",
    timeframe: str = "1h",
    params: dict[str, Any] | None = None,
    stops: Any = None,
) -> list[str]:
    """Every reason ``csl live`` must refuse (empty: all three conditions hold).

    The gate verdict must be a chained, passing verdict for this strategy with the parameters
    it will trade (``params`` over its defaults), the stop policy of its protective exits
    (``stops``, a :class:`~crypto_strategy_lab.risk.ProtectiveStops`; default the risk
    limits' 2 % / 4 %) and the strategy's current code version, on ``symbol`` bars of
    ``timeframe``
    (:func:`crypto_strategy_lab.research.verdicts.live_refusal`).

    Parameters
    ----------
    strategy : str
        The registered strategy to trade.
    venue : str
        ``bybit`` or ``alpaca``: whose live API keys must be configured (environment or
        vault).
    confirm : bool
        Whether ``--confirm`` was given.
    journal : str or None, default None
        The journal holding the verdicts; None uses the default journal.
    symbol : str, default "BTCUSDT"
        The instrument the verdict must be for.
    timeframe : str, default "1h"
        The bar size traded (the parameters' spans are converted for it).
    params : dict or None, default None
        Parameter overrides; None trades the defaults.
    stops : ProtectiveStops or None, default None
        The protective exits traded; None: the risk limits' defaults.

    Returns
    -------
    list of str
        One sentence per unmet condition (missing live keys, no passing verdict for exactly
        this configuration, no ``--confirm``), in that order; empty when live trading may
        start.

    Raises
    ------
    CSLError
        If the strategy or its parameters are invalid for ``timeframe``
        (:func:`~crypto_strategy_lab.strategies.registry.strategy_for_bars`).
    """
    from crypto_strategy_lab.config.settings import Settings
    from crypto_strategy_lab.exchanges.credentials import ENV_NAMES, resolve_credentials
    from crypto_strategy_lab.research import identity
    from crypto_strategy_lab.research.verdicts import live_refusal
    from crypto_strategy_lab.risk import ProtectiveStops, RiskLimits
    from crypto_strategy_lab.strategies.registry import strategy_for_bars

    reasons = []
    if resolve_credentials(venue, TradingMode.LIVE, None, Settings()) is None:
        key, secret = ENV_NAMES[(venue, TradingMode.LIVE)]
        reasons.append(f"no live API keys for {venue}: set {key} and {secret} (or `csl keys add`)")
    traded = strategy_for_bars(strategy, params, timeframe).params.model_dump(mode="json")
    stops = stops or ProtectiveStops.from_limits(RiskLimits())
    refusal = live_refusal(
        strategy, traded, symbol, timeframe, journal, stops=stops.identity(),
        code_version=identity.strategy_code_version(strategy),
    )  # fmt: skip
    if refusal is not None:
        reasons.append(refusal)
    if not confirm:
        reasons.append("real money needs the explicit --confirm flag")
    return reasons


def live(
    strategy: str = typer.Option(..., "--strategy", help="The strategy to trade."),
    capital: float = typer.Option(..., "--capital", help="Capital to allocate (quote ccy)."),
    confirm: bool = typer.Option(False, "--confirm", help="I mean it: trade real money."),
    venue: str = typer.Option("bybit", "--venue", help="bybit | alpaca."),
    symbol: str = typer.Option("BTCUSDT", "--symbol"),
    timeframe: str = typer.Option("1h", "--timeframe"),
    days: float = typer.Option(30.0, "--days", help="Stop after this many days."),
    check_only: bool = typer.Option(False, "--check-only", help="Check the conditions, exit."),
    stop_unit: str | None = STOP_UNIT,
    stop_loss: float | None = STOP_LOSS,
    take_profit: float | None = TAKE_PROFIT,
    atr_period: int | None = ATR_PERIOD,
    journal: str | None = JOURNAL,
) -> None:
    """LIVE trading with real money.

    Refuses unless live keys are present, the strategy's latest gate verdict passed, and
    --confirm is given.
    \f

    Parameters
    ----------
    strategy : str
        ``--strategy``: The strategy to trade.
    capital : float
        ``--capital``: Capital to allocate (quote ccy).
    confirm : bool
        ``--confirm``: I mean it: trade real money.
    venue : str
        ``--venue``: bybit | alpaca. Default 'bybit'.
    symbol : str
        ``--symbol``: the venue symbol to trade, default ``BTCUSDT``.
    timeframe : str
        ``--timeframe``: the bar size traded, default ``1h``; the strategy's spans are
        converted for it.
    days : float
        ``--days``: Stop after this many days. Default 30.0.
    check_only : bool
        ``--check-only``: Check the conditions, exit.
    stop_unit : str or None
        ``--stop-unit``: Protective exits in 'fraction' of the entry or 'atr' units.
    stop_loss : float or None
        ``--stop-loss``: Stop-loss distance in --stop-unit (omitted with --stop-unit: none).
    take_profit : float or None
        ``--take-profit``: Take-profit distance in --stop-unit (omitted: none).
    atr_period : int or None
        ``--atr-period``: Wilder's ATR period in bars (atr).
    journal : str or None
        ``--journal``: Journal SQLAlchemy URL (default: CSL_JOURNAL_URL).
    """
    from crypto_strategy_lab.engine.venue_run import build_venue_run
    from crypto_strategy_lab.strategies import get_strategy

    get_strategy(strategy)
    stops = protective_stops(stop_unit, stop_loss, take_profit, atr_period)
    reasons = live_refusals(
        strategy, venue, confirm, journal, symbol=symbol, timeframe=timeframe, stops=stops
    )
    if reasons:
        raise ConfigError("live trading refused: " + "; ".join(reasons))
    console.print(
        f"[bold red]LIVE[/]: {strategy} on {venue} {symbol}: all three conditions hold",
        highlight=False,
    )
    if check_only:
        return
    market = MarketType.STOCK if venue == "alpaca" else MarketType.LINEAR
    jr = _journal(journal)
    _run_built(
        lambda: build_venue_run(
            jr,
            strategy,
            venue=venue,
            mode=TradingMode.LIVE,
            capital=capital,
            symbol=symbol,
            timeframe=timeframe,
            market=market,
            days=days,
            stops=stops,
        )
    )


def deploy(
    config: Path = typer.Option(..., "--config", help="Deployment YAML (kind: deployment)."),
    days: float = typer.Option(30.0, "--days", help="Days to run (replayed when simulated)."),
    confirm: bool = typer.Option(False, "--confirm", help="Required for mode: live."),
    journal: str | None = JOURNAL,
) -> None:
    """Deploy a portfolio of strategies from one validated YAML file.
    \f

    Parameters
    ----------
    config : Path
        ``--config``: Deployment YAML (kind: deployment).
    days : float
        ``--days``: Days to run (replayed when simulated). Default 30.0.
    confirm : bool
        ``--confirm``: Required for mode: live.
    journal : str or None
        ``--journal``: Journal SQLAlchemy URL (default: CSL_JOURNAL_URL).
    """  # noqa: D205, D400
    from crypto_strategy_lab.backtest.engine import unit_returns
    from crypto_strategy_lab.cli.display import progress_console, step_progress
    from crypto_strategy_lab.config.loader import load_yaml_config
    from crypto_strategy_lab.engine.deploy import build_deployment
    from crypto_strategy_lab.engine.deployment import DeploymentConfig
    from crypto_strategy_lab.monitoring.run_monitor import RunMonitor

    cfg = load_yaml_config(config, DeploymentConfig)
    book = book_refusal(cfg, journal or cfg.journal_url) if len(cfg.strategies) > 1 else None
    if cfg.mode is TradingMode.LIVE:
        reasons = [
            r
            for a in cfg.strategies
            for r in live_refusals(
                a.name,
                a.venue,
                confirm,
                journal,
                symbol=a.symbol,
                timeframe=a.timeframe,
                params=a.params,
                stops=cfg.stops_for(a),
            )
        ]
        if book is not None:
            reasons.append(book)
        if reasons:
            raise ConfigError("live deployment refused: " + "; ".join(dict.fromkeys(reasons)))
    jr = _journal(journal or cfg.journal_url)
    monitor = RunMonitor(cfg.monitoring, cfg.risk_limits(), jr) if cfg.monitoring.enabled else None
    with step_progress(progress_console(), "preparing strategies", len(cfg.strategies)) as prepared:
        engine, feed, text = build_deployment(
            jr, cfg, days=days, on_prepared=prepared, monitor=monitor, unit_returns=unit_returns
        )
    console.print(text, highlight=False)
    if len(cfg.strategies) > 1:
        console.print(
            "book verdict: PASS (this weighting, these members and caps passed the gate)"
            if book is None
            else f"book verdict: none that holds — {book}; a simulated replay only, "
            "`mode: live` refuses this book",
            highlight=False,
        )
    _run(engine, feed)


def book_refusal(cfg: Any, journal: str | None = None) -> str | None:
    """Why the stored verdicts do not validate ``cfg``'s strategies as one book.

    ``None``: a chained, passing ``book`` verdict for this weighting, these members with these
    parameters, these caps, on one instrument and timeframe
    (:mod:`crypto_strategy_lab.research.book`).

    Parameters
    ----------
    cfg : DeploymentConfig
        The deployment: its strategies (names, parameters, symbols, timeframes), weighting
        and risk limits (the book's caps: position fraction, gross exposure, Kelly fraction).
    journal : str or None, default None
        The journal holding the verdicts; None uses the default journal.

    Returns
    -------
    str or None
        Why the book may not trade live (several instruments or timeframes, or no matching
        verdict); None when a verdict covers it.
    """
    from crypto_strategy_lab.research.book import BOOK, BookCaps, book_params
    from crypto_strategy_lab.research.verdicts import live_refusal
    from crypto_strategy_lab.strategies.registry import strategy_for_bars

    grids = {(a.symbol, a.timeframe) for a in cfg.strategies}
    if len(grids) != 1:
        return (
            "a book verdict covers one instrument and timeframe; this deployment trades "
            + ", ".join(f"{s} {tf}" for s, tf in sorted(grids))
        )
    ((symbol, timeframe),) = grids
    limits = cfg.risk_limits()
    caps = BookCaps(limits.max_position_fraction, limits.max_gross_exposure, limits.kelly_fraction)
    members = {
        a.name: strategy_for_bars(a.name, a.params, a.timeframe).params.model_dump(mode="json")
        for a in cfg.strategies
    }
    return live_refusal(BOOK, book_params(cfg.weighting, members, caps), symbol, timeframe, journal)


def kill(
    reason: str = typer.Option("manual emergency stop", "--reason"),
    rearm: bool = typer.Option(False, "--rearm", help="Re-arm the kill switch (by hand)."),
    by: str = typer.Option(None, "--by", help="Who re-arms (default: the OS user)."),
    no_flatten: bool = typer.Option(
        False, "--no-flatten", help="Only record the halt; leave dead runs' positions open."
    ),
    journal: str | None = JOURNAL,
) -> None:
    """Emergency stop: halt all trading until `csl kill --rearm`.

    Running engines cancel and flatten; the positions of runs no engine drives any more (a
    crashed process) are flattened here. The halt persists until re-armed by hand.
    \f

    Parameters
    ----------
    reason : str
        ``--reason``: why the kill switch is engaged (journaled), default ``manual emergency
        stop``.
    rearm : bool
        ``--rearm``: Re-arm the kill switch (by hand).
    by : str
        ``--by``: Who re-arms (default: the OS user).
    no_flatten : bool
        ``--no-flatten``: Only record the halt; leave dead runs' positions open.
    journal : str or None
        ``--journal``: Journal SQLAlchemy URL (default: CSL_JOURNAL_URL).
    """
    jr = _journal(journal, create=False)
    actor = by or getpass.getuser()
    if rearm:
        with _reading(jr):
            halted = jr.is_halted()
        if not halted:
            console.print("the kill switch is not engaged", highlight=False)
            return
        jr.rearm(reason if reason != "manual emergency stop" else "re-armed by hand", actor=actor)
        console.print(f"[green]kill switch re-armed[/] by {actor}", highlight=False)
        return
    with _reading(jr):
        jr.halt(reason, actor=actor)
        jr.audit("kill.requested", {"reason": reason, "actor": actor})
    console.print(
        f"[bold red]KILL SWITCH ENGAGED[/]: {reason}. Running engines cancel all orders, flatten "
        "and halt; new runs stay halted until `csl kill --rearm`.",
        highlight=False,
    )
    if not no_flatten:
        _flatten_orphans(jr, reason)


def _flatten_orphans(jr, reason: str) -> None:  # type: ignore[no-untyped-def]
    """Flatten the runs no engine drives, one line per run.

    Exit code 1 if a venue could not be reached; the halt is already recorded.
    """
    from datetime import UTC, datetime

    from crypto_strategy_lab.engine.orphans import flatten_orphans

    outcomes = asyncio.run(flatten_orphans(jr, reason, datetime.now(UTC)))
    style = {"closed": "green", "left": "yellow", "skipped": "dim", "error": "bold red"}
    for o in outcomes:
        console.print(
            f"[{style[o.action]}]{o.action}[/] run {o.run_id} ({o.venue}): {o.detail}",
            highlight=False,
        )
    if any(o.action == "error" for o in outcomes):
        raise typer.Exit(1)


def status(journal: str | None = JOURNAL) -> None:
    """Runs, positions, exposure, limits in use and halts.
    \f

    Parameters
    ----------
    journal : str or None
        ``--journal``: Journal SQLAlchemy URL (default: CSL_JOURNAL_URL).
    """  # noqa: D205, D400
    jr = _journal(journal, create=False)
    with _reading(jr):
        _show_status(jr)


def _show_status(jr) -> None:  # type: ignore[no-untyped-def]
    from crypto_strategy_lab.cli.display import print_runs

    state = jr.halt_state()
    halted = state is not None and state.action == "halt"
    console.print(
        f"kill switch: {'[bold red]ENGAGED[/] (' + state.reason + ')' if halted else 'armed'}",
        highlight=False,
    )
    runs = jr.runs()[-5:]
    if not runs:
        console.print("no runs in the journal", highlight=False)
        return
    rows = []
    for run in runs:
        eq = jr.equity_frame(run.run_id)
        rows.append((run, eq.iloc[-1] if len(eq) else None))
    print_runs(console, rows)
    latest = runs[-1]
    positions = [p for p in jr.latest_positions(latest.run_id) if p.quantity != 0]
    ptable = Table("strategy", "venue", "symbol", "quantity", "avg price", "mark")
    for p in positions:
        ptable.add_row(
            p.strategy or "-",
            p.venue,
            p.symbol,
            str(p.quantity),
            f"{float(p.average_price):,.2f}",
            f"{float(p.mark_price):,.2f}" if p.mark_price else "-",
        )
    console.print(f"positions of run {latest.run_id}:", highlight=False)
    console.print(ptable if positions else "  flat")
    limits = latest.config.get("limits") or {}
    shown = ", ".join(
        f"{k}={limits[k]}"
        for k in (
            "max_position_fraction",
            "max_gross_exposure",
            "stop_loss_pct",
            "take_profit_pct",
            "daily_loss_limit",
        )
        if k in limits
    )
    console.print(f"limits: {shown or 'defaults'}", highlight=False)
    stops = latest.config.get("stops") or {}
    if stops:
        from crypto_strategy_lab.core.stop_policy import describe_stop_policy, stop_policy_identity

        text = ", ".join(
            f"{name} {describe_stop_policy(stop_policy_identity(**s))}" for name, s in stops.items()
        )
        console.print(f"protective exits: {text}", highlight=False)
    alerts = [a for a, ack in jr.alerts(unacknowledged_only=True)][-5:]
    for a in alerts:
        console.print(
            f"[yellow]alert[/] {a.ts:%Y-%m-%d %H:%M} {a.severity} {a.source}: {a.message[:160]}",
            highlight=False,
        )


def drift(
    run_id: str = typer.Argument(..., help="Run id (prefix allowed)."),
    journal: str | None = JOURNAL,
) -> None:
    """Compare a paper/live run with the backtest over the same period.
    \f

    Parameters
    ----------
    run_id : str
        ``RUN_ID`` (argument): Run id (prefix allowed).
    journal : str or None
        ``--journal``: Journal SQLAlchemy URL (default: CSL_JOURNAL_URL).
    """  # noqa: D205, D400
    from crypto_strategy_lab.cli.display import drift_tables
    from crypto_strategy_lab.research.drift import DriftError, drift_report

    jr = _journal(journal, create=False)
    with _reading(jr):
        matches = [r.run_id for r in jr.runs() if r.run_id.startswith(run_id)]
        if len(matches) != 1:
            raise DriftError(f"run id {run_id!r} matches {len(matches)} runs")
        report = drift_report(jr, matches[0])
    console.print(f"drift report for run {report.run_id}", highlight=False)
    for table in drift_tables(report):
        console.print(table)
    if report.verdict:
        console.print(f"verdict: {report.verdict}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the trading commands to the ``csl`` app.

    Parameters
    ----------
    app : typer.Typer
        The ``csl`` app; ``paper``, ``live``, ``deploy``, ``kill``, ``status`` and ``drift``
        are registered under their functions' names, in that order.
    """
    for command in (paper, live, deploy, kill, status, drift):
        app.command(command.__name__)(command)
