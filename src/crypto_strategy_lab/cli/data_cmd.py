"""``csl data``: download, import, list, show and check market data.

Every command turns bad input into one red line and exit status 1 (``--debug`` for the
traceback) and writes nothing to the store unless the whole input is valid.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from crypto_strategy_lab.cli import data_options
from crypto_strategy_lab.cli.errors import guarded
from crypto_strategy_lab.data.spec import DEFAULT_SOURCE

if TYPE_CHECKING:  # the store (DuckDB) and the data checks (pandas) load in the commands
    from crypto_strategy_lab.data.quality import QualityReport
    from crypto_strategy_lab.data.store import DataStore

app = typer.Typer(help="Market data: download, import, list, show and check.", no_args_is_help=True)
console = Console()

DATA_DIR = typer.Option(None, "--data-dir", help="Store root (default: CSL_DATA_DIR or user dir).")


@app.command()
@guarded
def download(
    symbol: str = typer.Option(..., "--symbol", help="Unified symbol, e.g. BTC/USDT or AAPL."),
    timeframe: str = typer.Option("1h", "--timeframe", help="Bar size (1m, 15m, 1h, 1d, ...)."),
    since: str = typer.Option(..., "--since", help="First bar, e.g. 2024-01-01 (UTC)."),
    until: str | None = typer.Option(None, "--until", help="End (exclusive, UTC); default now."),
    exchange: str = typer.Option("bybit", "--exchange", help="Any ccxt exchange id, or alpaca."),
    base_url: str | None = typer.Option(None, "--base-url", help="Override the REST base URL."),
    limit: int = typer.Option(1000, "--limit", min=1, max=1000, help="Bars per request."),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Progress bar on stderr (only on a terminal)."
    ),
    data_dir: Path | None = DATA_DIR,
) -> None:
    """Download bars into the store (resumes from the last stored bar).
    \f

    Parameters
    ----------
    symbol : str
        ``--symbol``: the venue's unified symbol (``BTC/USDT``, ``AAPL``).
    timeframe : str
        ``--timeframe``: bar size, default ``1h``.
    since : str
        ``--since``: the first bar's time (UTC), e.g. ``2024-01-01``.
    until : str or None
        ``--until``: the end, exclusive (UTC); None: now.
    exchange : str
        ``--exchange``: a ccxt exchange id or ``alpaca``; default ``bybit``.
    base_url : str or None
        ``--base-url``: a REST base URL replacing the venue's; None keeps it.
    limit : int
        ``--limit``: bars per request, 1..1000 (default 1000).
    progress : bool
        ``--progress/--no-progress``: a progress bar on stderr, drawn only on a terminal.
    data_dir : Path or None
        ``--data-dir``: the store's root; None uses ``CSL_DATA_DIR`` or the user data dir.
    """  # noqa: D205, D400
    from crypto_strategy_lab.data.store import DataStore
    from crypto_strategy_lab.data.timeframes import parse_timeframe

    store = DataStore(data_dir)
    tf = parse_timeframe(timeframe)
    if exchange == "alpaca":
        from crypto_strategy_lab.cli.display import progress_status
        from crypto_strategy_lab.data.sources.alpaca_source import download_stock_bars

        # alpaca-py pages inside one call: a spinner, not a bar
        with progress_status(f"downloading alpaca {symbol} {tf}") if progress else nullcontext():
            written = download_stock_bars(
                store, symbol, tf, since, end=until, url_override=base_url
            )
        console.print(f"alpaca {symbol} {tf}: +{written.added} bars, {written.total} stored")
        return
    from crypto_strategy_lab.cli.display import progress_console
    from crypto_strategy_lab.data.sources.ccxt_source import download_ohlcv

    result = asyncio.run(
        download_ohlcv(
            store, exchange, symbol, tf, since, until, base_url=base_url, limit=limit,
            console=progress_console() if progress else None,
        )
    )  # fmt: skip
    console.print(
        f"{exchange} {symbol} {tf}: {result.requests} requests ({result.retries} retries), "
        f"{result.fetched} bars fetched, +{result.added} new, {result.total_stored} stored"
        f"{' (resumed)' if result.resumed else ''}"
    )


@app.command("import")
@guarded
def import_(
    file: Path = typer.Argument(..., help="CSV or Parquet file of OHLCV bars."),
    symbol: str = typer.Option(..., "--symbol"),
    timeframe: str | None = typer.Option(
        None, "--timeframe", help="Bar size to store (default: the file's); coarser resamples."
    ),
    source: str = typer.Option(DEFAULT_SOURCE, "--source", help="Store source name."),
    col: list[str] = data_options.COL,
    ts_unit: str | None = data_options.TS_UNIT,
    market: str | None = data_options.MARKET,
    tz: str = typer.Option("UTC", "--tz", help="Time zone of naive timestamps."),
    convert_tz: bool = typer.Option(False, "--convert-tz", help="Convert non-UTC stamps to UTC."),
    data_dir: Path | None = DATA_DIR,
) -> None:
    """Import a CSV/Parquet file into the store (checked first; nothing is repaired).
    \f

    Parameters
    ----------
    file : Path
        ``FILE`` (argument): the CSV or Parquet file of OHLCV bars.
    symbol : str
        ``--symbol`` (required): the symbol to store the bars under.
    timeframe : str or None
        ``--timeframe``: the bar size to store; None keeps the file's, a coarser one
        resamples.
    source : str
        ``--source``: the store source name, default ``file``.
    col : list of str
        ``--col``: ``ours=theirs`` column mappings (repeatable).
    ts_unit : str or None
        ``--ts-unit``: the epoch unit of numeric timestamps (``s``, ``ms``, ``us``, ``ns``).
    market : str or None
        ``--market``: ``perp``, ``spot`` or ``stock``; None takes it from metadata, else
        infers it.
    tz : str
        ``--tz``: the time zone of naive timestamps, default ``UTC``.
    convert_tz : bool
        ``--convert-tz``: convert timestamps in another zone to UTC instead of refusing
        them.
    data_dir : Path or None
        ``--data-dir``: the store's root; None uses ``CSL_DATA_DIR`` or the user data dir.
    """  # noqa: D205, D400
    from crypto_strategy_lab.data.loader import open_data
    from crypto_strategy_lab.data.spec import parse_data_spec
    from crypto_strategy_lab.data.store import DataStore

    loaded = open_data(
        parse_data_spec(file),
        timeframe=timeframe,
        market=market,
        ts_unit=ts_unit,
        columns=data_options.parse_mapping(col),
        timezone=tz,
        convert_timezone=convert_tz,
        require_market=False,
    )
    console.print(loaded.market.notice, highlight=False, soft_wrap=True)
    # Only an explicit market is recorded: an inference stays an inference on every read.
    recorded = None if loaded.market.inferred else loaded.market.market
    result = DataStore(data_dir).write(
        loaded.bars, source, symbol, loaded.timeframe, market=recorded
    )
    resampled = (
        f" (resampled from {loaded.native_timeframe})"
        if loaded.timeframe != loaded.native_timeframe
        else ""
    )
    console.print(
        f"imported {file.name} as {source}:{symbol}:{loaded.timeframe}{resampled}: "
        f"{len(loaded.bars)} bars, +{result.added} new, "
        f"{result.already_stored} already stored ({result.conflicting} differing, kept), "
        f"{result.total} stored",
        highlight=False,
    )


@app.command("list")
@guarded
def list_(as_json: bool = typer.Option(False, "--json"), data_dir: Path | None = DATA_DIR) -> None:
    """List stored series (a file that cannot be used is listed with its problem).
    \f

    Parameters
    ----------
    as_json : bool
        ``--json``: print a JSON list (source, symbol, timeframe, rows, start, end, market,
        problem) instead of a table.
    data_dir : Path or None
        ``--data-dir``: the store's root; None uses ``CSL_DATA_DIR`` or the user data dir.
    """  # noqa: D205, D400
    from crypto_strategy_lab.data.store import DataStore

    store = DataStore(data_dir)
    series = store.list()
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "source": s.source,
                        "symbol": s.symbol,
                        "timeframe": s.timeframe,
                        "rows": s.rows,
                        "start": str(s.start),
                        "end": str(s.end),
                        "market": s.market,
                        "problem": s.problem,
                    }
                    for s in series
                ]
            )
        )
        return
    table = Table(title=f"Stored market data under {store.root}")
    for name in ("data", "rows", "start (UTC)", "end (UTC)", "market", "problem"):
        table.add_column(name)
    for s in series:
        table.add_row(
            f"{s.source}:{s.symbol}:{s.timeframe}",
            f"{s.rows:,}",
            str(s.start or "-"),
            str(s.end or "-"),
            s.market or "-",
            f"[red]{s.problem}[/]" if s.problem else "",
        )
    console.print(table if series else f"no stored data under {store.root}")


def _stored_series(
    store: DataStore,
    data: str | None,
    symbol: str | None,
    source: str,
    timeframe: str | None,
) -> tuple[str, str, str]:
    """``(source, symbol, timeframe)`` of the stored series the options name.

    The series is named by ``--data`` or the older ``--symbol/--source/--timeframe`` (listing
    what is stored when it is not).
    """
    from crypto_strategy_lab.data.loader import stored_timeframe
    from crypto_strategy_lab.data.schema import DataValidationError
    from crypto_strategy_lab.data.spec import store_spec
    from crypto_strategy_lab.data.timeframes import parse_timeframe

    spec = data_options.resolve_spec(data, symbol, source, default=None)
    if spec.kind != "store":
        raise DataValidationError(
            f"{spec} is not a stored series; name one as SOURCE:SYMBOL[:TIMEFRAME] "
            "(csl data list shows them)"
        )
    if timeframe is not None and spec.timeframe not in (None, parse_timeframe(timeframe)):
        raise DataValidationError(f"--data {spec} and --timeframe {timeframe} disagree")
    spec = store_spec(str(spec.source), str(spec.symbol), spec.timeframe or timeframe)
    return str(spec.source), str(spec.symbol), stored_timeframe(store, spec)


@app.command()
@guarded
def show(
    data: str | None = typer.Option(None, "--data", help="A stored series SOURCE:SYMBOL[:TF]."),
    symbol: str | None = typer.Option(None, "--symbol"),
    timeframe: str | None = typer.Option(None, "--timeframe"),
    source: str = typer.Option(DEFAULT_SOURCE, "--source"),
    start: str | None = typer.Option(None, "--start"),
    end: str | None = typer.Option(None, "--end"),
    resample: str | None = typer.Option(None, "--resample", help="Aggregate to this bar size."),
    rows: int = typer.Option(10, "--rows", min=1, help="Rows to show from each end."),
    data_dir: Path | None = DATA_DIR,
) -> None:
    """Show stored bars (optionally a range and/or resampled with DuckDB).
    \f

    Parameters
    ----------
    data : str or None
        ``--data``: the stored series, ``SOURCE:SYMBOL[:TF]``.
    symbol, source, timeframe : str or None
        The older spelling of ``--data``: ``--symbol`` of ``--source`` (default ``file``)
        at ``--timeframe`` (which must agree with a timeframe in ``--data``).
    start, end : str or None
        ``--start``/``--end``: the range of bar times (UTC); None: from the first, to the
        last.
    resample : str or None
        ``--resample``: aggregate to this bar size with DuckDB; None shows the stored bars.
    rows : int
        ``--rows``: rows shown from each end (>= 1, default 10).
    data_dir : Path or None
        ``--data-dir``: the store's root; None uses ``CSL_DATA_DIR`` or the user data dir.
    """  # noqa: D205, D400
    from crypto_strategy_lab.data.schema import DataValidationError
    from crypto_strategy_lab.data.store import DataStore
    from crypto_strategy_lab.data.timeframes import parse_timeframe

    store = DataStore(data_dir)
    source, symbol, timeframe = _stored_series(store, data, symbol, source, timeframe)
    if resample:
        bars = store.resample(source, symbol, timeframe, resample, start, end)
    else:
        bars = store.read(source, symbol, timeframe, start, end)
    if bars.empty:
        raise DataValidationError(f"no bars for {symbol} {timeframe} in the requested range")
    shown = bars if len(bars) <= 2 * rows else bars.iloc[list(range(rows)) + list(range(-rows, 0))]
    table = Table(
        title=f"{source}:{symbol}:{parse_timeframe(resample or timeframe)}: {len(bars):,} bars"
    )
    table.add_column("timestamp (UTC)")
    for column in bars.columns:
        table.add_column(column, justify="right")
    for ts, row in shown.iterrows():
        table.add_row(str(ts), *(f"{v:,.6g}" for v in row))
    console.print(table)


def _quality_table(title: str, report: QualityReport) -> Table:
    table = Table(title=title)
    table.add_column("check")
    table.add_column("value", justify="right")
    for name, value in report.rows_for_table():
        table.add_row(name, value)
    return table


@app.command()
@guarded
def check(
    data: str | None = typer.Option(None, "--data", help="A stored series SOURCE:SYMBOL[:TF]."),
    symbol: str | None = typer.Option(None, "--symbol", help="Stored series (default: bundled)."),
    timeframe: str | None = typer.Option(None, "--timeframe"),
    source: str = typer.Option(DEFAULT_SOURCE, "--source"),
    dataset: str = typer.Option("all", "--dataset", help="Bundled: crypto, stocks or all."),
    outlier_z: float = typer.Option(10.0, "--outlier-z", min=1.0),
    as_json: bool = typer.Option(False, "--json"),
    data_dir: Path | None = DATA_DIR,
) -> None:
    """Data-quality report: gaps, duplicates, outliers, zero-volume bars (default: bundled data).
    \f

    Parameters
    ----------
    data : str or None
        ``--data``: a stored series ``SOURCE:SYMBOL[:TF]``, or ``bundled:<kind>``; None
        (with no ``--symbol``) checks the bundled data.
    symbol, source, timeframe : str or None
        The older spelling of ``--data``: ``--symbol`` of ``--source`` (default ``file``)
        at ``--timeframe``.
    dataset : str
        ``--dataset``: which bundled data, ``crypto``, ``stocks`` or ``all`` (default).
    outlier_z : float
        ``--outlier-z``: the robust z-score beyond which a return is an outlier (>= 1,
        default 10).
    as_json : bool
        ``--json``: print the reports as JSON instead of tables.
    data_dir : Path or None
        ``--data-dir``: the store's root; None uses ``CSL_DATA_DIR`` or the user data dir.
    """  # noqa: D205, D400
    from crypto_strategy_lab.data.bundled import BUNDLED_KINDS, load_default_bars
    from crypto_strategy_lab.data.quality import check_ohlcv_quality
    from crypto_strategy_lab.data.store import DataStore
    from crypto_strategy_lab.data.timeframes import parse_timeframe, timeframe_delta

    reports: list[dict[str, Any]] = []
    if data is not None and data.startswith("bundled:"):
        data, dataset = None, data.split(":", 1)[1]
    if data is not None or symbol is not None:
        store = DataStore(data_dir)
        source, symbol, timeframe = _stored_series(store, data, symbol, source, timeframe)
        bars = store.read(source, symbol, timeframe)
        quality = check_ohlcv_quality(bars, timeframe_delta(timeframe), outlier_z)
        reports.append({"name": f"{source} {symbol} {parse_timeframe(timeframe)}",
                        "description": f"stored series {source}/{symbol}/{timeframe}",
                        "quality": quality})  # fmt: skip
    else:
        kinds = BUNDLED_KINDS if dataset == "all" else (dataset,)
        for kind in kinds:
            ds = load_default_bars(kind)
            calendar = "weekdays" if kind == "stocks" else "24/7"
            quality = check_ohlcv_quality(ds.bars, ds.timeframe, outlier_z, calendar=calendar)
            reports.append({"name": ds.name, "description": ds.description,
                            "raw_quality": ds.raw_quality, "cleaning": ds.cleaning_report,
                            "quality": quality})  # fmt: skip
    if as_json:
        typer.echo(json.dumps([_jsonable(r) for r in reports], indent=2))
        return
    for r in reports:
        console.rule(r["name"])
        console.print(f"[bold]Data:[/] {r['description']}", highlight=False)
        if "cleaning" in r:
            console.print(_quality_table("Raw file, before cleaning", r["raw_quality"]))
            console.print("[bold]Cleaning report:[/]")
            for line in r["cleaning"].lines():
                console.print(f"  • {line}", highlight=False)
        console.print(_quality_table("Data quality", r["quality"]))


def _jsonable(report: dict[str, Any]) -> dict[str, Any]:
    out = {"name": report["name"], "description": report["description"]}
    out["quality"] = report["quality"].to_dict()
    if "cleaning" in report:
        out["raw_quality"] = report["raw_quality"].to_dict()
        out["cleaning_report"] = report["cleaning"].to_dict()
    return out
