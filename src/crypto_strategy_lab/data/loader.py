"""Load a user's bars the one way: every command that reads bars and the Python API use this.

:func:`load_bars` turns a raw CSV/Parquet file or DataFrame (or any name of the data grammar,
:mod:`crypto_strategy_lab.data.spec`) into the validated OHLCV frame; :func:`open_data` does
the same for the CLI and also decides the market (:mod:`crypto_strategy_lab.data.markets`).
Both run, in order:

1. read and map the columns (:mod:`crypto_strategy_lab.data.sources.files`), detecting the
   epoch unit from the numbers' magnitude (an explicit unit must agree);
2. validate the OHLCV schema (:func:`~crypto_strategy_lab.data.schema.validate_ohlcv`);
3. check plausibility (:func:`~crypto_strategy_lab.data.plausibility.check_plausible`): no bar
   in the future, spacing a whole number of bars of one supported bar size, no crypto bar
   before 2009;
4. resample causally to the requested timeframe, if any (:func:`cleaning.resample_bars`).

Anything implausible is refused with one :class:`DataValidationError` line naming the fix.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from crypto_strategy_lab.data.cleaning import resample_bars
from crypto_strategy_lab.data.markets import MarketChoice, choose_market, normalise_market
from crypto_strategy_lab.data.plausibility import check_market_history, check_plausible
from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.data.spec import DataSpec, parse_data_spec
from crypto_strategy_lab.data.store import DataStore, StoredSeries
from crypto_strategy_lab.data.timeframes import TIMEFRAMES, parse_timeframe

_SHOW_STORED = 8


@dataclass(frozen=True)
class LoadedBars:
    """Bars plus what a command must say about them.

    Attributes
    ----------
    bars
        The validated OHLCV frame, at :attr:`timeframe`.
    name
        Identifies the dataset in the trial log and in output (``file:bars.csv``,
        ``file:BTCUSDT:1h``, a bundled dataset's name); ``@<tf>`` marks a resampled file.
    description, cleaning
        One paragraph on origin and span; what was done to the bars.
    timeframe, native_timeframe
        Bar size of :attr:`bars` and of the data as read.
    market
        The market and where it came from (``market.notice`` is the line to print).
    spec
        The parsed data name.
    """

    bars: pd.DataFrame
    name: str
    description: str
    cleaning: str
    timeframe: str
    native_timeframe: str
    market: MarketChoice
    spec: DataSpec


@dataclass(frozen=True)
class _Read:
    bars: pd.DataFrame
    native: str
    name: str
    what: str
    cleaning: str
    recorded_market: str | None = None


def _span(bars: pd.DataFrame) -> str:
    return (
        f"{len(bars):,} bars, {bars.index[0]:%Y-%m-%d %H:%M} → {bars.index[-1]:%Y-%m-%d %H:%M} UTC"
    )


def _norm_symbol(symbol: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", symbol.upper())


def _not_stored(store: DataStore, listed: list[StoredSeries], wanted: str, symbol: str) -> str:
    names = [f"{s.source}:{s.symbol}:{s.timeframe}" for s in listed]
    head = f"no stored bars for {wanted} under {store.root}"
    if not names:
        return (
            f"{head}; the store is empty (fill it with csl data import FILE --symbol SYMBOL "
            "--timeframe TF, or csl data download)"
        )
    same = [
        n
        for n, s in zip(names, listed, strict=True)
        if _norm_symbol(s.symbol) == _norm_symbol(symbol)
    ]
    close = same or difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
    shown = ", ".join(names[:_SHOW_STORED]) + (
        f" and {len(names) - _SHOW_STORED} more" if len(names) > _SHOW_STORED else ""
    )
    guess = f"; did you mean --data {' or '.join(close[:3])}?" if close else ""
    return f"{head}; stored: {shown}{guess}"


def stored_timeframe(store: DataStore, spec: DataSpec, target: str | None = None) -> str:
    """The stored bar size to read for ``spec`` (a store spec) to serve ``target`` bars.

    The spec's own timeframe if it names one; else ``target`` if stored, else the coarsest
    stored bar size that divides ``target``; with no target, the only stored bar size.

    Parameters
    ----------
    store : DataStore
        The store.
    spec : DataSpec
        A ``store`` spec.
    target : str, optional
        The bar size the caller wants.

    Returns
    -------
    str
        The stored timeframe to read.

    Raises
    ------
    DataValidationError
        Listing what is stored, with a "did you mean" when a similar series exists.
    """
    assert spec.kind == "store" and spec.source and spec.symbol
    listed = store.list()
    series = {
        s.timeframe: s
        for s in listed
        if (s.source, s.symbol) == (spec.source, spec.symbol) and s.timeframe in TIMEFRAMES
    }
    chosen = _choose_timeframe(
        store, listed, spec, sorted(series, key=TIMEFRAMES.__getitem__), target
    )
    if series[chosen].problem:
        raise DataValidationError(
            f"{spec.source}:{spec.symbol}:{chosen} cannot be read: {series[chosen].problem} "
            f"({series[chosen].path})"
        )
    return chosen


def _choose_timeframe(
    store: DataStore,
    listed: list[StoredSeries],
    spec: DataSpec,
    mine: list[str],
    target: str | None,
) -> str:
    if spec.timeframe is not None:
        if spec.timeframe in mine:
            return spec.timeframe
        raise DataValidationError(_not_stored(store, listed, str(spec), spec.symbol))
    if not mine:
        raise DataValidationError(_not_stored(store, listed, str(spec), spec.symbol))
    if target is not None:
        target = parse_timeframe(target)
        fits = [tf for tf in mine if TIMEFRAMES[target] % TIMEFRAMES[tf] == pd.Timedelta(0)]
        if fits:
            return fits[-1]
        raise DataValidationError(
            f"{spec} is stored as {', '.join(mine)} bars, none of which makes {target} bars"
        )
    if len(mine) == 1:
        return mine[0]
    raise DataValidationError(
        f"{spec} is stored as {', '.join(mine)} bars: name one (e.g. --data {spec}:{mine[0]}) "
        "or pass --timeframe"
    )


def _read(
    spec: DataSpec,
    *,
    ts_unit: str | None,
    columns: dict[str, str] | None,
    target: str | None,
    timezone: str,
    convert_timezone: bool,
    data_dir: str | Path | None,
    now: pd.Timestamp | None,
) -> _Read:
    if spec.kind != "file" and (ts_unit is not None or columns):
        raise DataValidationError(
            f"--ts-unit and --col apply to files; {spec} is already validated bars"
        )
    if spec.kind == "file":
        from crypto_strategy_lab.data.sources.files import import_file

        assert spec.path is not None
        if not spec.path.is_file():
            raise DataValidationError(f"data file not found: {spec.path}")
        bars = import_file(spec.path, columns, ts_unit, timezone, convert_timezone)
        native = check_plausible(bars, now=now)
        return _Read(
            bars,
            native,
            f"file:{spec.path.name}",
            f"OHLCV bars from the file {spec.path.name}",
            "No cleaning: the file passed the OHLCV schema and the plausibility checks as read "
            "(nothing sorted, de-duplicated or filled).",
        )
    if spec.kind == "bundled":
        from crypto_strategy_lab.data.bundled import load_default_bars

        ds = load_default_bars(str(spec.symbol))
        native = check_plausible(ds.bars, timeframe=parse_timeframe(ds.timeframe), now=now)
        return _Read(ds.bars, native, ds.name, ds.description, str(ds.cleaning_report))
    store = DataStore(data_dir)
    stored = stored_timeframe(store, spec, target)
    bars = store.read(str(spec.source), str(spec.symbol), stored)
    if bars.empty:
        raise DataValidationError(
            f"the stored series {spec.source}:{spec.symbol}:{stored} is empty"
        )
    native = check_plausible(bars, timeframe=stored, now=now)
    return _Read(
        bars,
        native,
        f"{spec.source}:{spec.symbol}:{stored}",
        f"{spec.symbol} {stored} bars from {spec.source}, read from the local store",
        "Stored bars were validated on write; gaps are not filled.",
        store.market_of(store.path_for(str(spec.source), str(spec.symbol), stored)),
    )


def _as_spec(data: str | Path | DataSpec) -> DataSpec:
    return data if isinstance(data, DataSpec) else parse_data_spec(data)


def _resampled(read: _Read, target: str | None) -> tuple[pd.DataFrame, str, str, str]:
    """``(bars, timeframe, name, description suffix)`` after resampling to ``target``."""
    if target is None or parse_timeframe(target) == read.native:
        return read.bars, read.native, read.name, ""
    tf = parse_timeframe(target)
    bars, step = resample_bars(read.bars, read.native, tf)
    if bars.empty:
        raise DataValidationError(
            f"{read.name} holds no complete {tf} bar ({len(read.bars)} {read.native} bars)"
        )
    name = f"{read.name}@{tf}"
    note = (
        f"; resampled causally from {read.native} to {tf} bars (left-closed, left-labelled; "
        f"{step.detail.get('partial_edges', 0)} incomplete edge bar(s) dropped)"
    )
    return bars, tf, name, note


def open_data(
    data: str | Path | DataSpec,
    *,
    timeframe: str | None = None,
    market: str | None = None,
    ts_unit: str | None = None,
    columns: dict[str, str] | None = None,
    timezone: str = "UTC",
    convert_timezone: bool = False,
    data_dir: str | Path | None = None,
    now: pd.Timestamp | None = None,
    require_market: bool = True,
) -> LoadedBars:
    """Read, check, resample and place bars in a market (module docstring).

    Parameters
    ----------
    data
        A ``--data`` value (path, ``SOURCE:SYMBOL[:TIMEFRAME]``, ``bundled:KIND``) or a
        parsed :class:`DataSpec`.
    timeframe
        Bar size wanted; coarser than the data's is resampled causally, finer is refused.
    market
        ``perp``/``spot``/``stock``; ``None`` decides by :func:`choose_market`.
    ts_unit, columns, timezone, convert_timezone
        How to read a file (as ``csl data import``).
    data_dir
        Store root for stored series.
    now
        The present, for the no-future-bar check (default: the clock).
    require_market
        ``False`` lets a market that cannot be decided stay ``None`` (``csl data import``
        stores such bars without a market; every read decides it).

    Returns
    -------
    LoadedBars
        The validated bars at the requested bar size, their dataset name, description,
        cleaning notes and timeframes, and the market with where it came from.

    Raises
    ------
    DataValidationError
        On anything unreadable or implausible, in one line naming the fix.
    """
    spec = _as_spec(data)
    read = _read(
        spec,
        ts_unit=ts_unit,
        columns=columns,
        target=timeframe,
        timezone=timezone,
        convert_timezone=convert_timezone,
        data_dir=data_dir,
        now=now,
    )
    try:
        choice = choose_market(
            read.bars,
            market=market,
            source=spec.source if spec.kind != "file" else None,
            symbol=spec.symbol,
            recorded=read.recorded_market,
        )
    except DataValidationError as exc:
        if require_market:
            raise
        choice = MarketChoice(None, str(exc), inferred=True)
    if choice.market is not None:
        check_market_history(read.bars, choice.market)
    bars, tf, name, note = _resampled(read, timeframe)
    description = f"{read.what}; {_span(bars)} ({tf} bars){note}."
    return LoadedBars(bars, name, description, read.cleaning, tf, read.native, choice, spec)


def load_bars(
    data: str | Path | pd.DataFrame,
    *,
    ts_unit: str | None = None,
    columns: dict[str, str] | None = None,
    timeframe: str | None = None,
    market: str | None = None,
    timezone: str = "UTC",
    convert_timezone: bool = False,
    data_dir: str | Path | None = None,
    now: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """A raw CSV/Parquet file, DataFrame or data name -> the validated OHLCV frame.

    Parameters
    ----------
    data
        A path, a DataFrame (timestamps in a column or a ``DatetimeIndex``; epoch numbers,
        datetimes or text), or a data name (``file:BTCUSDT:1h``, ``bundled:crypto``).
    ts_unit
        Epoch unit ``s``/``ms``/``us``/``ns``; ``None`` detects it from the magnitude. A unit
        that contradicts the magnitude is refused (``--ts-unit s`` on milliseconds would put
        the bars in the year 50338).
    columns
        ``{ours: theirs}`` column mapping (``{"close": "Close"}``); unmapped names match
        case-insensitively.
    timeframe
        Resample causally to this bar size (``"4h"``, ``"1D"``...); ``None`` keeps the data's.
    market
        When given (``perp``/``spot``/``stock``), also checks the market's history (no crypto
        bar before 2009). The market is not inferred here: use :func:`open_data` or
        :func:`~crypto_strategy_lab.data.markets.choose_market`.
    timezone, convert_timezone
        Zone of naive text timestamps; whether to convert non-UTC ones.
    data_dir
        Store root for stored series.
    now
        The present, for the no-future-bar check (default: the clock).

    Returns
    -------
    pandas.DataFrame
        ``open, high, low, close, volume`` (float64) on a UTC ``DatetimeIndex`` named
        ``timestamp`` (bar open time), sorted and unique.

    Raises
    ------
    DataValidationError
        In one line naming the problem and the fix.

    Examples
    --------
    >>> bars = load_bars("btc_1h.parquet")                  # doctest: +SKIP
    >>> bars_4h = load_bars("btc_1h.parquet", timeframe="4H")  # doctest: +SKIP
    """
    if isinstance(data, pd.DataFrame):
        from crypto_strategy_lab.data.sources.files import to_ohlcv

        bars = to_ohlcv(data, columns, ts_unit, timezone, convert_timezone)
        read = _Read(bars, check_plausible(bars, now=now), "frame", "", "")
    else:
        read = _read(
            _as_spec(data),
            ts_unit=ts_unit,
            columns=columns,
            target=timeframe,
            timezone=timezone,
            convert_timezone=convert_timezone,
            data_dir=data_dir,
            now=now,
        )
    if market is not None:
        check_market_history(read.bars, normalise_market(market))
    return _resampled(read, timeframe)[0]
