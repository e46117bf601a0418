"""One grammar to name market data, used by every command that reads bars.

``--data`` takes one of

* a **path** to a CSV or Parquet file (an existing file, or any name ending in ``.csv``,
  ``.parquet`` or ``.pq``);
* ``SOURCE:SYMBOL:TIMEFRAME``, a series of the local store, e.g. ``file:BTCUSDT:1h`` or
  ``bybit:BTC/USDT:USDT:1h`` (the symbol may itself hold a colon: the source is the text
  before the first colon, the timeframe the text after the last one). ``SOURCE:SYMBOL``
  without a timeframe picks the stored bar size that fits ``--timeframe`` (or the only one);
* ``bundled:crypto`` / ``bundled:stocks``, the bundled datasets.

The older spellings still work and go through the same parser: ``--symbol S [--source X]
[--timeframe T]`` is ``X:S[:T]``, and ``store:EXCHANGE/SYMBOL/TIMEFRAME`` is
``EXCHANGE:SYMBOL:TIMEFRAME``.

One default source, :data:`DEFAULT_SOURCE` (``file``), for ``csl data import`` and for every
read that names no source; ``csl data download`` stores under the exchange's id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_SOURCE = "file"
FILE_SUFFIXES = (".csv", ".parquet", ".pq")
BUNDLED = ("crypto", "stocks")
GRAMMAR = "a CSV/Parquet path, SOURCE:SYMBOL:TIMEFRAME (e.g. file:BTCUSDT:1h) or bundled:crypto"


@dataclass(frozen=True)
class DataSpec:
    """A parsed data name (see the module docstring).

    ``kind`` is ``"file"`` (``path`` set), ``"store"`` (``source``, ``symbol`` and maybe
    ``timeframe`` set) or ``"bundled"`` (``symbol`` is ``crypto`` or ``stocks``).
    """

    kind: Literal["file", "store", "bundled"]
    path: Path | None = None
    source: str | None = None
    symbol: str | None = None
    timeframe: str | None = None

    def __str__(self) -> str:
        """The data name as a user writes it (a path, ``bundled:KIND``, ``SOURCE:SYMBOL[:TF]``)."""
        if self.kind == "file":
            return str(self.path)
        if self.kind == "bundled":
            return f"bundled:{self.symbol}"
        return f"{self.source}:{self.symbol}" + (f":{self.timeframe}" if self.timeframe else "")


_LOOKS_LIKE_TIMEFRAME = re.compile(r"^\d+\s*[A-Za-z]+$")  # a settle currency has no digits


def _timeframe_or_none(text: str) -> str | None:
    from crypto_strategy_lab.data.schema import DataValidationError
    from crypto_strategy_lab.data.timeframes import parse_timeframe

    try:
        return parse_timeframe(text)
    except DataValidationError:
        return None


def store_spec(source: str, symbol: str, timeframe: str | None = None) -> DataSpec:
    """The spec of a stored series.

    Parameters
    ----------
    source, symbol : str
        Store source and symbol, non-empty.
    timeframe : str, optional
        Bar size; ``None`` leaves it to be chosen.

    Returns
    -------
    DataSpec
        A ``store`` spec with the canonical timeframe.

    Raises
    ------
    DataValidationError
        If `source` or `symbol` is blank, or the timeframe is unknown.
    """
    from crypto_strategy_lab.data.schema import DataValidationError
    from crypto_strategy_lab.data.timeframes import parse_timeframe

    if not source.strip() or not symbol.strip():
        raise DataValidationError(f"bad data name {source}:{symbol}; use {GRAMMAR}")
    tf = parse_timeframe(timeframe) if timeframe is not None else None
    return DataSpec("store", source=source.strip(), symbol=symbol.strip(), timeframe=tf)


def parse_data_spec(text: str | Path) -> DataSpec:
    """Parse a ``--data`` value (module docstring).

    Parameters
    ----------
    text : str or pathlib.Path
        A file path, ``SOURCE:SYMBOL[:TIMEFRAME]`` or ``bundled:KIND``.

    Returns
    -------
    DataSpec
        The parsed spec.

    Raises
    ------
    DataValidationError
        If ``text`` is none of the three forms, or names an unknown bundled dataset.
    """
    from crypto_strategy_lab.data.schema import DataValidationError

    if isinstance(text, Path):
        return DataSpec("file", path=text)
    raw = str(text).strip()
    if not raw:
        raise DataValidationError(f"empty data name; use {GRAMMAR}")
    path = Path(raw).expanduser()
    if path.is_file() or path.suffix.lower() in FILE_SUFFIXES:
        return DataSpec("file", path=path)
    head, sep, rest = raw.partition(":")
    if not sep:
        hint = " (a directory, not a file)" if path.is_dir() else ""
        raise DataValidationError(f"--data {raw!r}{hint} is not {GRAMMAR}")
    if head == "bundled":
        if rest not in BUNDLED:
            raise DataValidationError(
                f"unknown bundled dataset {rest!r}; use bundled:{' or bundled:'.join(BUNDLED)}"
            )
        return DataSpec("bundled", source="bundled", symbol=rest)
    if head == "store":  # the older store:EXCHANGE/SYMBOL/TIMEFRAME spelling
        exchange, _, tail = rest.partition("/")
        symbol, _, timeframe = tail.rpartition("/")
        if not exchange or not symbol or not timeframe:
            raise DataValidationError(f"bad data name {raw!r}; use store:EXCHANGE/SYMBOL/TF")
        return store_spec(exchange, symbol, timeframe)
    symbol, sep, last = rest.rpartition(":")
    if sep and (_timeframe_or_none(last) is not None or _LOOKS_LIKE_TIMEFRAME.match(last)):
        return store_spec(head, symbol, last)  # an unknown bar size fails here, by name
    return store_spec(head, rest)
