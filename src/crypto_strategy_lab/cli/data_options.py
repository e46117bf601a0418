"""The data options every ``csl`` command that reads bars shares, and their one parser.

``--data`` takes the data grammar of :mod:`crypto_strategy_lab.data.spec` (a CSV/Parquet
path, ``SOURCE:SYMBOL:TIMEFRAME`` from the store, ``bundled:crypto|stocks``); the older
``--symbol/--source`` (and ``--bundled``) spellings are turned into the same grammar here.
``--timeframe`` resamples causally; ``--ts-unit``/``--col`` read a file as ``csl data import``
does; ``--market`` fixes the market, else the first output line says what was inferred.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from crypto_strategy_lab.data.spec import DEFAULT_SOURCE, GRAMMAR

if TYPE_CHECKING:  # the loader (DuckDB) and the schema (pandas) load in the commands
    from crypto_strategy_lab.data.loader import LoadedBars
    from crypto_strategy_lab.data.spec import DataSpec

DATA = typer.Option(None, "--data", help=f"Bars: {GRAMMAR}.")
#: ``--data`` of the commands that search several assets at once (one search, one N).
DATA_MANY = typer.Option(
    [], "--data", help=f"Bars: {GRAMMAR}. Repeat for several assets searched as one."
)
SYMBOL = typer.Option(None, "--symbol", help="A stored symbol (same as --data SOURCE:SYMBOL).")
SOURCE = typer.Option(DEFAULT_SOURCE, "--source", help="Store source with --symbol.")
TIMEFRAME = typer.Option(
    None, "--timeframe", help="Bar size wanted (1h, 4H, 1D, 1W...); coarser is resampled."
)
MARKET = typer.Option(
    None, "--market", help="perp, spot or stock (default: from metadata, else inferred)."
)
TS_UNIT = typer.Option(None, "--ts-unit", help="Epoch unit of a file: s, ms, us or ns.")
COL = typer.Option([], "--col", help="File column mapping ours=theirs (repeatable).")
DATA_DIR = typer.Option(None, "--data-dir", help="Store root (default: CSL_DATA_DIR).")
BUNDLED = typer.Option(None, "--bundled", help="Bundled dataset: crypto or stocks.")


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``--col ours=theirs`` options into ``{ours: theirs}``.

    Parameters
    ----------
    pairs : list of str
        The ``--col`` values, e.g. ``["close=Close", "ts=time"]``.

    Returns
    -------
    dict of str to str
        Our column name -> the file's; a name given twice keeps its last mapping.

    Raises
    ------
    DataValidationError
        For a pair without ``=`` or with an empty side.
    """
    from crypto_strategy_lab.data.schema import DataValidationError

    mapping = {}
    for pair in pairs:
        ours, sep, theirs = pair.partition("=")
        if not sep or not ours.strip() or not theirs.strip():
            raise DataValidationError(f"bad --col {pair!r}; use ours=theirs, e.g. close=Close")
        mapping[ours.strip()] = theirs.strip()
    return mapping


def read_options(ts_unit: str | None, col: list[str]) -> dict[str, object] | None:
    """``--ts-unit``/``--col`` as the loader's file-reading options (``None`` when neither).

    Parameters
    ----------
    ts_unit : str or None
        ``--ts-unit``: the epoch unit of the file's timestamps (``s``, ``ms``, ``us``,
        ``ns``); None leaves the loader's detection.
    col : list of str
        ``--col`` values (:func:`parse_mapping`).

    Returns
    -------
    dict of str to object or None
        ``ts_unit`` and/or ``columns`` keys for
        :func:`~crypto_strategy_lab.data.loader.open_data`; None when neither is given.

    Raises
    ------
    DataValidationError
        For a malformed ``--col``.
    """
    read: dict[str, object] = {}
    if ts_unit is not None:
        read["ts_unit"] = ts_unit
    if col:
        read["columns"] = parse_mapping(col)
    return read or None


def resolve_spec(
    data: str | None,
    symbol: str | None = None,
    source: str = DEFAULT_SOURCE,
    bundled: str | None = None,
    default: str | None = "bundled:crypto",
) -> DataSpec:
    """The one :class:`DataSpec` named by ``--data`` or the older options.

    Parameters
    ----------
    data : str, optional
        ``--data``: a data spec (``bundled:crypto``, ``SOURCE:SYMBOL[:TF]`` or a file).
    symbol : str, optional
        ``--symbol``: a stored series of ``source``.
    source : str, default ``DEFAULT_SOURCE``
        ``--source`` of ``--symbol``.
    bundled : str, optional
        ``--bundled``: ``crypto`` or ``stocks``.
    default : str or None, default "bundled:crypto"
        The spec when no option is given; ``None`` requires one.

    Returns
    -------
    DataSpec
        The parsed spec.

    Raises
    ------
    DataValidationError
        If two of ``--data``, ``--symbol`` and ``--bundled`` are given, or none and there is
        no ``default``.
    """
    from crypto_strategy_lab.data.schema import DataValidationError
    from crypto_strategy_lab.data.spec import parse_data_spec, store_spec

    given = [n for n, v in (("--data", data), ("--symbol", symbol), ("--bundled", bundled)) if v]
    if len(given) > 1:
        raise DataValidationError(f"give one of {' or '.join(given)}, not both")
    if data:
        return parse_data_spec(data)
    if symbol:
        return store_spec(source, symbol)
    if bundled:
        return parse_data_spec(f"bundled:{bundled}")
    if default is None:
        raise DataValidationError(f"no data given; pass --data ({GRAMMAR})")
    return parse_data_spec(default)


def load_input(
    console: Console,
    *,
    data: str | None,
    symbol: str | None = None,
    source: str = DEFAULT_SOURCE,
    timeframe: str | None = None,
    market: str | None = None,
    ts_unit: str | None = None,
    col: list[str] | None = None,
    data_dir: Path | None = None,
    bundled: str | None = None,
    default: str | None = "bundled:crypto",
) -> LoadedBars:
    """Parse the data options, load and check the bars, and print the market line first.

    Parameters
    ----------
    console : rich.console.Console
        Where the market line (given or inferred, and how to choose) is printed.
    data, symbol, source, bundled, default
        The data options, as :func:`resolve_spec` takes them.
    timeframe : str or None, default None
        ``--timeframe``: resample to this bar size (causally; only coarser); None keeps the
        data's.
    market : str or None, default None
        ``--market``: ``perp``, ``spot`` or ``stock``; None takes it from metadata, else
        infers it from the calendar.
    ts_unit : str or None, default None
        ``--ts-unit`` of a file.
    col : list of str or None, default None
        ``--col`` mappings of a file.
    data_dir : pathlib.Path or None, default None
        ``--data-dir``: the store's root; None uses ``CSL_DATA_DIR``.

    Returns
    -------
    LoadedBars
        The validated bars and their market.

    Raises
    ------
    DataValidationError
        For conflicting or malformed options, or bars that fail validation.
    """
    from crypto_strategy_lab.data.loader import open_data

    spec = resolve_spec(data, symbol, source, bundled, default)
    loaded = open_data(
        spec,
        timeframe=timeframe,
        market=market,
        data_dir=data_dir,
        **(read_options(ts_unit, col or []) or {}),
    )
    console.print(loaded.market.notice, highlight=False, soft_wrap=True)
    return loaded
