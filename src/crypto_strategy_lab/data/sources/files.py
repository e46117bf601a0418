"""Import OHLCV bars from a CSV or Parquet file into a validated OHLCV frame.

Column mapping: ``columns`` maps our names (``timestamp, open, high, low, close, volume``) to
the file's; unmapped names are matched case-insensitively (``Open`` -> ``open``), and
``timestamp`` also accepts ``time``, ``date``, ``datetime``. Timestamps are either
epoch numbers, whose unit (``s``/``ms``/``us``/``ns``) is detected from their magnitude and
may be given as ``timestamp_unit`` (a unit that contradicts the magnitude is refused, see
:mod:`crypto_strategy_lab.data.plausibility`), or text; naive text is read in
``timezone`` (default UTC) and converted to UTC. Timestamps that carry a zone other than UTC
are rejected unless ``convert_timezone`` is set (then they are converted; the instant is kept).

Decisions: the importer does **not** sort, de-duplicate or fill anything. The frame must
pass :func:`validate_ohlcv` as read (``DataValidationError`` names the first broken rule);
repairs are the explicit functions in :mod:`crypto_strategy_lab.data.cleaning`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from crypto_strategy_lab.data.plausibility import EPOCH_UNITS, epoch_unit_for
from crypto_strategy_lab.data.schema import OHLCV_COLUMNS, DataValidationError, validate_ohlcv

_TIME_ALIASES = ("timestamp", "time", "date", "datetime", "open_time")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a ``.csv`` or ``.parquet`` file; a clear error for anything unreadable.

    Parameters
    ----------
    path : str or pathlib.Path
        The file (``.csv``, ``.parquet`` or ``.pq``).

    Returns
    -------
    pandas.DataFrame
        The raw table.

    Raises
    ------
    DataValidationError
        If the file is missing, of another type, or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        OSError,
        pa.ArrowException,  # a corrupt or truncated Parquet file
    ) as exc:
        raise DataValidationError(f"cannot parse {path.name}: {exc}".splitlines()[0]) from exc
    raise DataValidationError(f"unsupported file type {suffix!r}; use .csv or .parquet")


def _find(raw: pd.DataFrame, name: str, mapping: dict[str, str]) -> str:
    if name in mapping:
        if mapping[name] not in raw.columns:
            raise DataValidationError(f"mapped column {mapping[name]!r} not in file", name)
        return mapping[name]
    lower = {str(c).lower(): c for c in raw.columns}
    for candidate in _TIME_ALIASES if name == "timestamp" else (name,):
        if candidate in lower:
            return lower[candidate]
    raise DataValidationError(
        f"no column for {name!r}; file has {list(map(str, raw.columns))} "
        f"(map it, e.g. --col {name}=<file column>)",
        name,
    )


def _parse_timestamps(
    stamps: pd.Series, column: str, unit: str | None, timezone: str, convert: bool
) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(stamps):
        if unit is not None:
            raise DataValidationError(
                f"--ts-unit {unit} applies to epoch numbers, but the column holds datetimes; "
                "drop --ts-unit",
                column,
            )
        parsed = stamps
    elif pd.api.types.is_numeric_dtype(stamps) and not pd.api.types.is_bool_dtype(stamps):
        unit = epoch_unit_for(stamps, unit, column)
        return pd.to_datetime(stamps, unit=unit, utc=True)
    elif unit is not None:
        numbers = pd.to_numeric(stamps, errors="coerce")
        if numbers.isna().any():
            raise DataValidationError(
                f"--ts-unit {unit} applies to epoch numbers, but the column holds text such as "
                f"{stamps[numbers.isna()].iloc[0]!r}; drop --ts-unit",
                column,
            )
        return pd.to_datetime(numbers, unit=epoch_unit_for(numbers, unit, column), utc=True)
    else:
        try:
            if convert:
                return pd.to_datetime(stamps, utc=True, format="mixed")
            parsed = pd.to_datetime(stamps, format="mixed")
        except (ValueError, TypeError, OverflowError) as exc:
            hint = " (mixed UTC offsets? pass --convert-tz)" if "offset" in str(exc) else ""
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataValidationError(f"cannot parse timestamps{hint}: {first}", column) from exc
    tz = getattr(parsed.dt, "tz", None)
    if tz is None:
        try:
            return parsed.dt.tz_localize(timezone).dt.tz_convert("UTC")
        except KeyError:
            raise DataValidationError(f"unknown time zone {timezone!r} (--tz)", column) from None
        except ValueError as exc:  # a wall time that does not exist, or occurs twice (DST)
            first = str(exc).splitlines()[0]
            raise DataValidationError(f"{first} in --tz {timezone}", column) from None
    if str(tz) not in ("UTC", "utc") and not convert:
        raise DataValidationError(
            f"timestamps are in {tz}, not UTC; pass --convert-tz to convert them", column
        )
    return parsed.dt.tz_convert("UTC")


def to_ohlcv(
    raw: pd.DataFrame,
    columns: dict[str, str] | None = None,
    timestamp_unit: str | None = None,
    timezone: str = "UTC",
    convert_timezone: bool = False,
) -> pd.DataFrame:
    """Map, parse and validate a raw table into an OHLCV frame (see module docstring).

    Parameters
    ----------
    raw : pandas.DataFrame
        The table (timestamps in a column or a ``DatetimeIndex``).
    columns : dict of str to str, optional
        ``{ours: theirs}`` column mapping; unmapped names match case-insensitively.
    timestamp_unit : str, optional
        Epoch unit (``s``/``ms``/``us``/``ns``) of numeric timestamps; ``None`` detects it.
    timezone : str, default "UTC"
        Zone of naive text timestamps.
    convert_timezone : bool, default False
        Convert non-UTC timestamps instead of refusing them.

    Returns
    -------
    pandas.DataFrame
        Validated OHLCV bars on a UTC ``DatetimeIndex`` named ``timestamp``.

    Raises
    ------
    DataValidationError
        If a column is missing or not numeric, the timestamps cannot be read, or the bars
        break the schema.
    """
    mapping = dict(columns or {})
    unknown = set(mapping) - {"timestamp", *OHLCV_COLUMNS}
    if unknown:
        raise DataValidationError(f"unknown target column(s) {sorted(unknown)} in mapping")
    if timestamp_unit is not None and timestamp_unit not in EPOCH_UNITS:
        raise DataValidationError(
            f"timestamp unit must be one of {EPOCH_UNITS}, got {timestamp_unit!r}"
        )
    if isinstance(raw.index, pd.DatetimeIndex):
        raw = raw.reset_index(names=raw.index.name or "timestamp")
    ts_col = _find(raw, "timestamp", mapping)
    index = _parse_timestamps(raw[ts_col], ts_col, timestamp_unit, timezone, convert_timezone)
    data = {}
    for name in OHLCV_COLUMNS:
        col = _find(raw, name, mapping)
        values = pd.to_numeric(raw[col], errors="coerce")
        bad = values.isna() & raw[col].notna()
        if bad.any():
            first = raw[col][bad].iloc[0]
            raise DataValidationError(
                f"non-numeric value {first!r}", name, int(bad.sum()), list(index[bad][:5])
            )
        data[name] = values.astype("float64").to_numpy()
    frame = pd.DataFrame(data, index=pd.DatetimeIndex(index, name="timestamp"))
    return validate_ohlcv(frame)


def import_file(
    path: str | Path,
    columns: dict[str, str] | None = None,
    timestamp_unit: str | None = None,
    timezone: str = "UTC",
    convert_timezone: bool = False,
) -> pd.DataFrame:
    """Read ``path`` (CSV/Parquet) into a validated OHLCV frame.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    columns : dict of str to str, optional
        ``{ours: theirs}`` column mapping; unmapped names match case-insensitively.
    timestamp_unit : str, optional
        Epoch unit (``s``/``ms``/``us``/``ns``) of numeric timestamps; ``None`` detects it.
    timezone : str, default "UTC"
        Zone of naive text timestamps.
    convert_timezone : bool, default False
        Convert non-UTC timestamps instead of refusing them.

    Returns
    -------
    pandas.DataFrame
        Validated OHLCV bars on a UTC ``DatetimeIndex`` named ``timestamp``.

    Raises
    ------
    DataValidationError
        If a column is missing or not numeric, the timestamps cannot be read, or the bars
        break the schema.
    """
    return to_ohlcv(read_table(path), columns, timestamp_unit, timezone, convert_timezone)
