"""Schemas of the two market-data frames and their validators.

OHLCV frame
    ``DatetimeIndex`` named ``timestamp``, tz UTC, strictly increasing (hence unique); float64
    columns ``open, high, low, close, volume``; ``high >= max(open, close)``,
    ``low <= min(open, close)``, prices > 0, volume >= 0, no NaN or infinity. Extra columns are
    allowed and left alone.

Trades frame
    columns ``timestamp`` (UTC datetimes, non-decreasing: several trades may share a
    millisecond), ``price`` > 0, ``size`` > 0, optional aggressor ``side`` in {"buy", "sell"}.

Validators never repair: they raise :class:`DataValidationError` naming the rule, the column,
how many rows break it and the first offending timestamps. Repairs are the explicit functions
in :mod:`crypto_strategy_lab.data.cleaning`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.errors import CSLError

OHLCV_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
TRADE_COLUMNS: tuple[str, ...] = ("timestamp", "price", "size")
TRADE_SIDES: frozenset[str] = frozenset({"buy", "sell"})
_SHOW = 5
#: The value rules of an OHLCV frame as (rule, column), in the order they are reported: the
#: first broken one is raised. Codes of ``data._ohlcv_pass`` are positions in this table.
OHLCV_VALUE_RULES: tuple[tuple[str, str], ...] = (
    *(
        (rule, column)
        for column in OHLCV_COLUMNS
        for rule in ("values must not be NaN", "values must be finite")
    ),
    ("timestamps must be unique (duplicate)", "timestamp"),
    ("timestamps must be strictly increasing (out of order)", "timestamp"),
    *(("prices must be > 0", column) for column in PRICE_COLUMNS),
    ("volume must be >= 0", "volume"),
    ("high must be >= max(open, close)", "high"),
    ("low must be <= min(open, close)", "low"),
)


class DataValidationError(CSLError, ValueError):
    """Market data breaks a schema rule.

    Attributes
    ----------
    rule, column, count, examples
        The rule broken, the column it concerns, the number of offending rows and the first
        offending timestamps (or row positions when there is no usable timestamp).
    """

    def __init__(
        self, rule: str, column: str | None = None, count: int = 0, examples: list | None = None
    ) -> None:
        self.rule = rule
        self.column = column
        self.count = count
        self.examples = list(examples or [])
        where = f" in column '{column}'" if column else ""
        rows = f": {count} row(s)" if count else ""
        first = f", first at {', '.join(str(e) for e in self.examples)}" if self.examples else ""
        super().__init__(f"{rule}{where}{rows}{first}")


def _fail(rule: str, column: str | None, mask: np.ndarray, labels: pd.Index) -> None:
    positions = np.flatnonzero(mask)
    if positions.size:
        examples = [labels[i] for i in positions[:_SHOW]]
        raise DataValidationError(rule, column, int(positions.size), examples)


def _check_frame(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """A non-empty DataFrame holding every one of ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if df.empty:
        raise DataValidationError(f"{what} frame is empty")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataValidationError(f"missing required column(s) {missing}", missing[0])


def _check_finite(column: str, values: np.ndarray, labels: pd.Index) -> None:
    _fail("values must not be NaN", column, np.isnan(values), labels)
    _fail("values must be finite", column, np.isinf(values), labels)


def _check_index(df: pd.DataFrame) -> pd.DatetimeIndex:
    index = df.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataValidationError(
            f"index must be a DatetimeIndex named 'timestamp', got {type(index).__name__}"
        )
    if index.name != "timestamp":
        raise DataValidationError(f"index must be named 'timestamp', got {index.name!r}")
    if index.tz is None or str(index.tz) not in ("UTC", "utc"):
        raise DataValidationError(
            f"index must be timezone-aware UTC, got tz={index.tz!r}", "timestamp"
        )
    if index.hasnans:
        _fail(
            "timestamps must not be NaT",
            "timestamp",
            np.asarray(index.isna()),
            pd.RangeIndex(len(index)),
        )
    return index


def validate_ohlcv(df: pd.DataFrame) -> pd.DataFrame:
    """Check an OHLCV frame against the schema; return it unchanged when it passes.

    Parameters
    ----------
    df : pandas.DataFrame
        Bars on a UTC ``DatetimeIndex``, float64 ``open, high, low, close, volume`` (module
        docstring); extra columns are left alone.

    Returns
    -------
    pandas.DataFrame
        `df` itself (validators never repair).

    Raises
    ------
    DataValidationError
        On the first broken rule, naming the rule, the column and the offending rows.
    """
    _check_frame(df, OHLCV_COLUMNS, "OHLCV")
    index = _check_index(df)
    for column in OHLCV_COLUMNS:
        if df[column].dtype != np.float64:
            raise DataValidationError(f"column must be float64, got {df[column].dtype}", column)
    # one compiled pass counts every value rule; numba loads here, not with the schema
    from crypto_strategy_lab.data._ohlcv_pass import ohlcv_violations

    columns = (df[c].to_numpy() for c in OHLCV_COLUMNS)
    counts, first = ohlcv_violations(*columns, index.asi8, _SHOW)
    broken = np.flatnonzero(counts)
    if broken.size:
        code = int(broken[0])
        rule, column = OHLCV_VALUE_RULES[code]
        examples = [index[i] for i in first[code] if i >= 0]
        raise DataValidationError(rule, column, int(counts[code]), examples)
    return df


def validate_trades(df: pd.DataFrame) -> pd.DataFrame:
    """Check a trades frame (``timestamp, price, size`` [, ``side``]); return it unchanged.

    Parameters
    ----------
    df : pandas.DataFrame
        Trades with UTC ``timestamp`` datetimes (non-decreasing), ``price`` > 0, ``size`` > 0
        and optionally ``side`` in {"buy", "sell"}.

    Returns
    -------
    pandas.DataFrame
        `df` itself.

    Raises
    ------
    DataValidationError
        On the first broken rule, naming the rule, the column and the offending rows.
    """
    _check_frame(df, TRADE_COLUMNS, "trades")
    ts = df["timestamp"]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        raise DataValidationError(f"column must hold datetimes, got {ts.dtype}", "timestamp")
    if getattr(ts.dt, "tz", None) is None or str(ts.dt.tz) not in ("UTC", "utc"):
        raise DataValidationError(f"timestamps must be UTC, got tz={ts.dt.tz!r}", "timestamp")
    rows = pd.RangeIndex(len(df))
    _fail("timestamps must not be NaT", "timestamp", ts.isna().to_numpy(), rows)
    labels = pd.Index(ts)
    for column in ("price", "size"):
        if not pd.api.types.is_numeric_dtype(df[column]):
            raise DataValidationError(f"column must be numeric, got {df[column].dtype}", column)
        arr = df[column].to_numpy(dtype=float)
        _check_finite(column, arr, labels)
        _fail(f"{column} must be > 0", column, arr <= 0, labels)
    if len(ts) > 1:
        _fail(
            "timestamps must be non-decreasing (out of order)",
            "timestamp",
            np.concatenate([[False], np.diff(pd.DatetimeIndex(ts).asi8) < 0]),
            labels,
        )
    if "side" in df.columns:
        bad = ~df["side"].isin(list(TRADE_SIDES)).to_numpy()
        _fail("side must be 'buy' or 'sell'", "side", bad, labels)
    return df
