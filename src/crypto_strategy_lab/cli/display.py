"""How the ``csl`` commands show their results: rich tables with units, one place.

Every number printed by ``csl backtest``, ``csl paper``/``deploy``/``live`` and ``csl status``
is formatted here, with its unit: returns and drawdowns in %, Sharpe ratios annualised with the
bar size and the market's calendar (``sharpe_ratio(r, periods_per_year)``), money in the quote
currency, bar sizes as their timeframe names (``15m``, not ``0 days 00:15:00``). The commands
compute nothing here beyond what a summary needs from results they already hold.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.data.timeframes import duration_label, infer_timeframe
from crypto_strategy_lab.performance.metrics import (
    infer_periods_per_year,
    max_drawdown,
    sharpe_ratio,
)
from crypto_strategy_lab.research.display import format_number


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def pct(value: Any, digits: int = 2) -> str:
    """A fraction as a percentage (``0.0123 -> "1.23 %"``); ``n/a`` for NaN/None.

    Parameters
    ----------
    value : Any
        A fraction, or anything ``float()`` accepts; None or a non-number reads as NaN.
    digits : int, default 2
        Decimals shown.

    Returns
    -------
    str
        ``"<100 x value> %"`` with thousands separators, or ``"n/a"``.
    """
    x = _float(value)
    return "n/a" if math.isnan(x) else f"{x * 100:,.{digits}f} %"


def money(value: Any) -> str:
    """An amount in the quote currency, thousands separated, two decimals.

    Parameters
    ----------
    value : Any
        The amount, or anything ``float()`` accepts; None or a non-number reads as NaN.

    Returns
    -------
    str
        E.g. ``"10,000.00"``; ``"n/a"`` for NaN, ``"∞"``/``"−∞"`` for infinities.
    """
    return format_number(_float(value), ",.2f")


def ratio(value: Any, digits: int = 2) -> str:
    """A number with ``digits`` decimals; ``n/a`` for NaN/None, ``∞`` for infinities.

    Parameters
    ----------
    value : Any
        The number, or anything ``float()`` accepts.
    digits : int, default 2
        Decimals shown.

    Returns
    -------
    str
        The formatted number.
    """
    return format_number(_float(value), f".{digits}f")


# -- csl backtest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    """Buy-and-hold over the same bars, the yardstick a strategy's net numbers are read against.

    Long one unit of capital from the first bar's open to the last close, no costs.

    Attributes
    ----------
    total_return : float
        Last equity over the first open, minus one.
    sharpe : float
        Annualised Sharpe ratio of the per-bar returns (the first bar's is close over open).
    max_drawdown : float
        Maximum drawdown of the buy-and-hold equity curve.
    """

    total_return: float
    sharpe: float
    max_drawdown: float

    @classmethod
    def buy_and_hold(cls, bars: pd.DataFrame, periods_per_year: float) -> Benchmark:
        """Buy-and-hold of ``bars`` (``open`` and ``close`` columns).

        The Sharpe ratio is annualised by ``periods_per_year``.

        Parameters
        ----------
        bars : pandas.DataFrame
            The backtest's bars, at least one.
        periods_per_year : float
            Bars per year.

        Returns
        -------
        Benchmark
            Returns ``r_0 = C_0 / O_0 - 1`` and ``r_t = C_t / C_{t-1} - 1``, equity
            ``prod (1 + r_t)``.
        """
        close = bars["close"].astype(float)
        returns = close.pct_change()
        returns.iloc[0] = close.iloc[0] / float(bars["open"].iloc[0]) - 1.0
        equity = (1.0 + returns).cumprod()
        return cls(
            total_return=float(equity.iloc[-1] - 1.0),
            sharpe=sharpe_ratio(returns.to_numpy(), periods_per_year),
            max_drawdown=max_drawdown(equity.to_numpy()),
        )


def bar_size(index: pd.DatetimeIndex) -> str:
    """The bars' timeframe name (their most common spacing), e.g. ``15m``.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        The bars' open times.

    Returns
    -------
    str
        The inferred timeframe; failing that, the most common spacing as a duration label,
        or ``"n/a"`` for fewer than two bars.
    """
    try:
        return infer_timeframe(index)
    except DataValidationError:
        return duration_label(pd.Series(index).diff().mode().iloc[0]) if len(index) > 1 else "n/a"


def parameters_text(params: Any) -> str:
    """``name=value`` of every strategy parameter; a time span also shows its bar count.

    Parameters
    ----------
    params : pydantic.BaseModel
        A strategy's parameters (``StrategyParams``; any model, without span fields).

    Returns
    -------
    str
        The parameters joined by ``", "``, ``timeframe`` left out (the period line shows
        the bar size), spans as ``"7d (168 bars)"``; ``"none"`` when there are none.
    """
    dumped = params.model_dump(mode="json")
    spans = params.span_fields() if hasattr(params, "span_fields") else {}
    shown = []
    for name, value in dumped.items():
        if name == "timeframe":
            continue
        if name in spans and value is not None:
            value = f"{value} ({params.bars(name)} bars)"
        shown.append(f"{name}={value}")
    return ", ".join(shown) or "none"


def backtest_table(
    stats: Mapping[str, Any],
    benchmark: Benchmark,
    *,
    title: str,
    excess_sharpe: tuple[float, float] | None = None,
) -> Table:
    """The statistics of one backtest, grouped, with units, beside buy-and-hold.

    ``excess_sharpe`` is ``(annual risk-free rate, annualised Sharpe ratio in excess of
    it)``, shown under the raw Sharpe ratio.

    Parameters
    ----------
    stats : Mapping of str to Any
        ``BacktestResult.stats`` (:func:`~crypto_strategy_lab.backtest.stats.summary_stats`).
    benchmark : Benchmark
        Buy-and-hold over the same bars.
    title : str
        The table's title.
    excess_sharpe : tuple of (float, float) or None, default None
        As above; None leaves the row out.

    Returns
    -------
    rich.table.Table
        Rows of returns, risk ratios, equity, costs (also as % of initial capital) and
        trade statistics; buy-and-hold values where they are defined.
    """
    s = stats
    capital = _float(s.get("initial_capital"))
    table = Table(title=title, title_justify="left")
    table.add_column("", style="bold")
    table.add_column("strategy", justify="right")
    table.add_column("buy & hold", justify="right")
    rows: list[tuple[str, str, str]] = [
        ("total return", pct(s.get("total_return")), pct(benchmark.total_return)),
        ("CAGR", pct(s.get("cagr")), ""),
        ("volatility (ann.)", pct(s.get("volatility")), ""),
        ("Sharpe (ann.)", ratio(s.get("sharpe")), ratio(benchmark.sharpe)),
        *(
            [(f"Sharpe over rf {pct(excess_sharpe[0])} (ann.)", ratio(excess_sharpe[1]), "")]
            if excess_sharpe is not None
            else []
        ),
        ("Sortino (ann.)", ratio(s.get("sortino")), ""),
        ("max drawdown", pct(s.get("max_drawdown")), pct(benchmark.max_drawdown)),
        ("Calmar", ratio(s.get("calmar")), ""),
        (
            "final equity",
            money(s.get("final_equity")),
            money(capital * (1 + benchmark.total_return)),
        ),
        (
            "fees",
            f"{money(s.get('total_fees'))} ({pct(_float(s.get('total_fees')) / capital)})",
            "0",
        ),
        (
            "funding paid",
            f"{money(s.get('total_funding'))} ({pct(_float(s.get('total_funding')) / capital)})",
            "0",
        ),
        ("trades", format_number(_float(s.get("n_trades")), ",.0f"), "1"),
        ("win rate", pct(s.get("win_rate"), 1), ""),
        ("profit factor", ratio(s.get("profit_factor")), ""),
        ("avg trade return", pct(s.get("avg_trade_return"), 3), ""),
        ("time in market", pct(s.get("exposure"), 1), "100.0 %"),
        ("turnover", f"{ratio(s.get('turnover'), 1)} x equity", ""),
    ]
    for row in rows:
        table.add_row(*row)
    return table


def print_backtest(
    console: Console,
    result: Any,
    *,
    strategy: Any,
    title: str,
    bars: pd.DataFrame,
    costs: str,
) -> None:
    """``csl backtest``'s output: period, parameters, the statistics table, the costs line.

    The table shows the Sharpe ratio in excess of ``RISK_FREE_RATE`` under the raw one (the
    gate's).

    Parameters
    ----------
    console : rich.console.Console
        Where to print.
    result : BacktestResult
        The backtest.
    strategy : Strategy
        The strategy backtested (its parameters are printed).
    title : str
        The statistics table's title.
    bars : pandas.DataFrame
        The bars it ran on (period, bar size, buy-and-hold).
    costs : str
        A description of the cost model, printed last.
    """
    from crypto_strategy_lab.config.settings import get_settings

    stats = result.stats
    periods = _float(stats.get("periods_per_year"))
    rf = get_settings().RISK_FREE_RATE
    returns = result.returns
    excess = (
        sharpe_ratio(returns, periods, risk_free_rate=rf)
        if len(returns) >= 2 and periods > 0
        else math.nan
    )
    benchmark = Benchmark.buy_and_hold(bars, periods)
    bar = bar_size(bars.index)
    console.print(
        f"period: {bars.index[0]:%Y-%m-%d %H:%M} → {bars.index[-1]:%Y-%m-%d %H:%M} UTC, "
        f"{len(bars):,} bars of {bar} ({periods:,.0f} a year); initial capital "
        f"{money(stats.get('initial_capital'))}",
        highlight=False,
    )
    console.print(f"parameters: {parameters_text(strategy.params)}", highlight=False)
    console.print(backtest_table(stats, benchmark, title=title, excess_sharpe=(rf, excess)))
    console.print(
        "Sharpe and Sortino annualised with the bar size; Sharpe over rf: in excess of "
        "RISK_FREE_RATE (annual, compounded per bar); returns net of fees, slippage and "
        "funding; buy & hold: long from the first open to the last close, no costs.",
        highlight=False,
    )
    console.print(f"costs: {costs}", highlight=False)


# -- csl paper / deploy / live ---------------------------------------------------------------


@dataclass(frozen=True)
class RunReport:
    """What a finished engine run did, from the journal (the command's own record of it)."""

    run_id: str
    status: str
    bars: int
    orders_sent: int
    initial_equity: float
    final_equity: float
    total_return: float
    sharpe: float
    max_drawdown: float
    fees: float
    funding: float
    fills: int
    halts: dict[str, int]  # risk rule -> orders it halted (decision "halt")

    @property
    def blocked_by_kill_switch(self) -> bool:
        """The kill-switch rule halted at least one order of the run."""
        return self.halts.get("kill_switch", 0) > 0


def run_report(journal: Any, summary: Any, *, capital: float, market: str) -> RunReport:
    """Summarise a run from its journal records and the engine's ``RunSummary``.

    The return is the summary's final equity over ``capital``; Sharpe and max drawdown come
    from the journaled equity curve, starting at ``capital``; the Sharpe ratio is annualised
    with the snapshots' spacing and ``market``'s calendar (``"stock"`` or 24/7,
    :func:`infer_periods_per_year`); fees from the fills; halts from the risk decisions.
    Funding has no journal record of its own: it is the part of the equity change the fills
    do not explain, ``capital + sum(-side q p) - fees + sum(q mark) - final``, exact for the
    simulated venue's cash accounting (0 on spot and stock markets).

    Parameters
    ----------
    journal : Journal
        The journal the run wrote.
    summary : RunSummary
        The engine's summary (run id, status, bars, orders sent, final equity).
    capital : float
        The run's initial equity, in quote currency.
    market : str
        The market (``"stock"`` selects the stock calendar for annualising).

    Returns
    -------
    RunReport
        The run's numbers; the Sharpe ratio is NaN with fewer than three equity points or
        timestamps that do not increase, and funding below ``1e-8 x capital`` is 0
        (Decimal/float rounding).
    """
    run_id = summary.run_id
    eq = journal.equity_frame(run_id)["equity"]
    equity = pd.concat([pd.Series([capital]), eq.reset_index(drop=True)], ignore_index=True)
    returns = equity.pct_change().dropna().to_numpy()
    sharpe = math.nan
    if len(eq) > 2 and eq.index.is_monotonic_increasing and eq.index[-1] > eq.index[0]:
        sharpe = sharpe_ratio(returns, infer_periods_per_year(eq.index, market))
    final = float(summary.final_equity)
    fills = journal.fills(run_id)
    fees = sum(float(f.fee) for f in fills)
    cash_flow = sum(
        (-1.0 if f.side.upper() == "BUY" else 1.0) * float(f.quantity) * float(f.price)
        for f in fills
    )
    marked = sum(
        float(p.quantity) * float(p.mark_price or p.average_price)
        for p in journal.latest_positions(run_id)
    )
    funding = (capital + cash_flow - fees + marked) - final if fills else 0.0
    halts: dict[str, int] = {}
    for event in journal.risk_events(run_id):
        if event.decision == "halt":
            halts[event.rule or "halt"] = halts.get(event.rule or "halt", 0) + 1
    return RunReport(
        run_id=run_id,
        status=summary.status,
        bars=summary.bars,
        orders_sent=summary.orders_sent,
        initial_equity=capital,
        final_equity=final,
        total_return=final / capital - 1.0,
        sharpe=sharpe,
        max_drawdown=max_drawdown(equity.to_numpy()),
        fees=fees,
        # below a cent per million of capital is the Decimal/float round trip, not funding
        funding=funding if abs(funding) > 1e-8 * capital else 0.0,
        fills=len(fills),
        halts=halts,
    )


def print_run_report(console: Console, report: RunReport, *, kill_switch_engaged: bool) -> None:
    """Print the end-of-run summary of ``csl paper``/``deploy``/``live``.

    ``kill_switch_engaged``: the kill switch was engaged when the run started or when it ended.

    Parameters
    ----------
    console : rich.console.Console
        Where to print.
    report : RunReport
        The run's numbers (:func:`run_report`).
    kill_switch_engaged : bool
        As above; with it, or with a halt by the kill-switch rule, a red line says the run
        was blocked and how to re-arm.
    """
    console.print(f"[bold]run {report.run_id} {report.status}[/]", highlight=False)
    table = Table()
    table.add_column("", style="bold")
    table.add_column("value", justify="right")
    halts = ", ".join(f"{rule} ({n} orders)" for rule, n in report.halts.items())
    for name, value in (
        ("bars", f"{report.bars:,}"),
        ("orders sent", f"{report.orders_sent:,}"),
        ("fills", f"{report.fills:,}"),
        ("return", pct(report.total_return, 3)),
        ("equity", f"{money(report.initial_equity)} → {money(report.final_equity)}"),
        ("Sharpe (ann.)", ratio(report.sharpe)),
        ("max drawdown", pct(report.max_drawdown, 3)),
        ("fees", money(report.fees)),
        ("funding paid", money(report.funding)),
        ("halts", halts or "none"),
    ):
        table.add_row(name, value)
    console.print(table)
    if report.blocked_by_kill_switch or kill_switch_engaged:
        console.print(
            "[bold red]blocked by the kill switch[/]: no new risk reached the venue while it "
            "was engaged; re-arm it with `csl kill --rearm --by NAME`",
            highlight=False,
        )


def progress_console() -> Console | None:
    """The console every ``csl`` progress bar and spinner draws on: stderr, on a terminal.

    Results go to stdout and progress to stderr, so ``csl lab > out.txt`` keeps a clean file.
    When stderr is not a terminal (piped, a CI log, CliRunner or pytest capturing) there is no
    bar at all (``None``): rich would otherwise print a finished bar's last frame and a blank
    line into the captured text.

    Returns
    -------
    rich.console.Console or None
        A stderr console when stderr is a terminal, else None.
    """
    console = Console(stderr=True)
    return console if console.is_terminal else None


@contextmanager
def progress_status(text: str) -> Iterator[None]:
    """A spinner saying what is running, on :func:`progress_console` (none off a terminal).

    Parameters
    ----------
    text : str
        What is running, shown beside the spinner.

    Yields
    ------
    None
        While the block runs; the spinner stops when it exits.
    """
    console = progress_console()
    if console is None:
        yield
        return
    with console.status(text):
        yield


@contextmanager
def step_progress(console: Console | None, label: str, total: int) -> Iterator[Callable[..., None]]:
    """A progress bar of ``total`` steps on ``console``.

    Yields the callback that advances it by one (whatever it is called with); with
    ``console=None`` the callback is a no-op.

    Parameters
    ----------
    console : rich.console.Console or None
        Where to draw (:func:`progress_console`); None draws nothing.
    label : str
        The bar's label.
    total : int
        Steps to completion.

    Yields
    ------
    callable
        The advance callback; the bar disappears when the block exits.
    """
    if console is None:
        yield lambda *_: None
        return
    columns = [TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda *_: progress.advance(task)


class ProgressFeed:
    """A feed that advances a rich progress bar by one for every bar the engine takes."""

    def __init__(self, feed: Any, progress: Progress, task: TaskID) -> None:
        self.feed, self.progress, self.task = feed, progress, task

    def __getattr__(self, name: str) -> Any:
        """Everything but iteration is the wrapped feed's."""
        return getattr(self.feed, name)

    async def __aiter__(self) -> AsyncIterator[Any]:
        """The wrapped feed's bars, advancing the progress bar after each."""
        async for bar in self.feed:
            yield bar
            self.progress.advance(self.task)


@contextmanager
def bar_progress(console: Console | None, feed: Any) -> Iterator[Any]:
    """Show progress over ``feed``'s bars on ``console``.

    A bar when the feed's length is known, else a count; with ``console=None`` the context
    yields the feed itself, untouched.

    Parameters
    ----------
    console : rich.console.Console or None
        Where to draw; None draws nothing.
    feed : Any
        The engine's bar feed (an async iterable; ``len()`` when it knows its length).

    Yields
    ------
    Any
        A :class:`ProgressFeed` around ``feed``, or ``feed`` itself without a console.
    """
    if console is None:
        yield feed
        return
    total = len(feed) if hasattr(feed, "__len__") else None
    columns = [TextColumn("[bold]bars"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if total is not None:
        columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        yield ProgressFeed(feed, progress, progress.add_task("bars", total=total))


# -- csl status ------------------------------------------------------------------------------


EXPOSURE_NOTE = "exposure: notional in the quote currency; gross = sum |q p|, net = sum q p"
_RUNS_TABLE_WIDTH = 126  # full run id and every column without wrapping


def print_runs(console: Console, rows: list[tuple[Any, pd.Series | None]]) -> None:
    """Print the latest runs with full run ids and labelled exposures.

    Full run ids are what ``csl drift`` and ``--run-id`` take. A table on a wide console, two
    lines per run on a narrow one.

    Parameters
    ----------
    console : rich.console.Console
        Where to print; at least 126 columns gets the table.
    rows : list of (run, pandas.Series or None)
        As :func:`runs_table` takes them.
    """
    if console.width >= _RUNS_TABLE_WIDTH:
        console.print(runs_table(rows))
        return
    for run, last in rows:
        numbers = (
            " · ".join(
                f"{label} {money(last[c])}"
                for label, c in (
                    ("equity", "equity"),
                    ("gross exposure", "gross_exposure"),
                    ("net exposure", "net_exposure"),
                )
            )
            if last is not None
            else "no equity recorded"
        )
        console.print(
            f"[bold]{run.run_id}[/] {run.name}, {run.mode}, {run.status}, started "
            f"{run.started_at:%Y-%m-%d %H:%M} UTC\n  {numbers}",
            highlight=False,
        )
    console.print(EXPOSURE_NOTE, highlight=False)


def runs_table(rows: Iterable[tuple[Any, pd.Series | None]]) -> Table:
    """The latest runs as a table: full run ids, exposures labelled.

    Parameters
    ----------
    rows : iterable of (run, pandas.Series or None)
        Each run (``run_id``, ``name``, ``mode``, ``status``, ``started_at``) and its latest
        equity row (``equity``, ``gross_exposure``, ``net_exposure``; None when it has none).

    Returns
    -------
    rich.table.Table
        One row per run, money in the quote currency, ``-`` without an equity row.
    """
    table = Table(caption=EXPOSURE_NOTE, caption_justify="left")
    table.add_column("run id", no_wrap=True, min_width=32)
    for name in ("name", "mode", "status", "started (UTC)"):
        table.add_column(name, no_wrap=True)
    for name in ("equity", "gross exposure", "net exposure"):
        table.add_column(name, justify="right", no_wrap=True)
    for run, last in rows:
        table.add_row(
            run.run_id,
            run.name,
            run.mode,
            run.status,
            f"{run.started_at:%Y-%m-%d %H:%M}",
            *(
                money(last[c]) if last is not None else "-"
                for c in ("equity", "gross_exposure", "net_exposure")
            ),
        )
    return table


#: ``csl drift`` columns: header and how a value reads (``-``: not defined for the row, e.g.
#: a strategy's own return when the run keeps one account for all of them).
_DRIFT_COLUMNS: dict[str, tuple[str, str]] = {
    "signal_changes_run": ("signal changes run", "int"),
    "signal_changes_backtest": ("signal changes backtest", "int"),
    "max_signal_gap": ("max signal gap", "num"),
    "fills_run": ("fills run", "int"),
    "round_trips_backtest": ("round trips backtest", "int"),
    "return_run": ("return run", "pct"),
    "return_backtest": ("return backtest", "pct"),
    "max_equity_gap": ("max equity gap", "money"),
    "return_correlation": ("return corr.", "num"),
    "fills_backtest": ("fills backtest", "int"),
    "slippage_bps_run": ("slippage run (bps)", "num"),
    "slippage_bps_backtest": ("slippage backtest (bps)", "num"),
    "paid_run": ("paid run", "money"),
    "paid_backtest": ("paid backtest", "money"),
}


def _drift_cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "pct":
        return f"{value:+.3%}"
    if kind == "money":
        return f"{value:.1e}" if 0 < abs(value) < 0.01 else f"{value:,.2f}"
    return f"{value:.4g}"


def drift_tables(report: Any) -> list[Table]:
    """``csl drift``'s report as readable tables.

    Per strategy and portfolio, then costs by fill kind, of a
    :class:`~crypto_strategy_lab.research.drift.DriftReport`.

    Parameters
    ----------
    report : DriftReport
        The comparison of a run with its backtest.

    Returns
    -------
    list of rich.table.Table
        Up to two tables (an empty frame gives none); undefined cells show ``-``.
    """
    tables = []
    for frame, title in ((report.table, "run vs backtest"), (report.costs, "costs by fill kind")):
        if frame is None or not len(frame):
            continue
        table = Table(title=title, caption="-: not defined for this row", caption_justify="left")
        levels = list(frame.index.names) if frame.index.nlevels > 1 else ["strategy"]
        for level in levels:
            table.add_column(str(level or "strategy"), no_wrap=True)
        for col in frame.columns:
            table.add_column(_DRIFT_COLUMNS.get(col, (col, "num"))[0], justify="right")
        for key, row in frame.iterrows():
            keys = key if isinstance(key, tuple) else (key,)
            cells = [_drift_cell(row[c], _DRIFT_COLUMNS.get(c, (c, "num"))[1]) for c in frame]
            table.add_row(*map(str, keys), *cells)
        tables.append(table)
    return tables
