"""Bar sizes: the ccxt spellings (``1m``, ``15m``, ``1h``, ``1d``, ``1w``) and their durations.

The store, the sources and the CLI name a bar size the way ccxt does. On input, pandas-style
spellings are accepted too, case-insensitively: ``15min``, ``15T``, ``1H``, ``4H``, ``1D``,
``1W``, ``60min`` (mapped to ``1h``), ``1hour``, ``2 days``. Two spellings are refused
because they are ambiguous: ``M`` (a month in pandas and ccxt, a minute in lower case) and
``S``/``s`` (seconds; no supported bar size is shorter than a minute). Monthly bars are not
supported: a month is not a fixed duration, so gaps and grids are ill-defined.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from crypto_strategy_lab.data.schema import DataValidationError

TIMEFRAMES: dict[str, pd.Timedelta] = {
    name: pd.Timedelta(minutes=minutes)
    for name, minutes in {
        "1m": 1,
        "3m": 3,
        "5m": 5,
        "15m": 15,
        "30m": 30,
        "1h": 60,
        "2h": 120,
        "4h": 240,
        "6h": 360,
        "8h": 480,
        "12h": 720,
        "1d": 1440,
        "3d": 4320,
        "1w": 10080,
    }.items()
}
_BY_DURATION = {delta: name for name, delta in TIMEFRAMES.items()}
_SPELLING = re.compile(r"^\s*(\d*)\s*([A-Za-z]+)\s*$")
# Unit words in lower case -> minutes. "m" is a minute (ccxt); an upper-case "M" is refused
# before this table is consulted, because pandas and ccxt both read it as a month.
_UNIT_MINUTES: dict[str, int] = {
    **dict.fromkeys(("m", "t", "min", "mins", "minute", "minutes"), 1),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 60),
    **dict.fromkeys(("d", "day", "days"), 1440),
    **dict.fromkeys(("w", "wk", "week", "weeks"), 10080),
}


def _unknown(timeframe: object, why: str = "") -> DataValidationError:
    return DataValidationError(
        f"unknown timeframe {timeframe!r}{why}; use one of {', '.join(TIMEFRAMES)} "
        "(pandas spellings such as 15min, 4H, 1D, 1W work too)"
    )


def parse_timeframe(timeframe: str | pd.Timedelta) -> str:
    """The canonical (ccxt) name of a bar size: ``"15min" -> "15m"``, ``"4H" -> "4h"``.

    Parameters
    ----------
    timeframe
        A ccxt name, a pandas-style spelling (any case) or a :class:`pandas.Timedelta`.

    Returns
    -------
    str
        One of the ``TIMEFRAMES`` names.

    Raises
    ------
    DataValidationError
        If the bar size is unknown or ambiguous (module docstring).
    """
    if isinstance(timeframe, pd.Timedelta):
        if timeframe in _BY_DURATION:
            return _BY_DURATION[timeframe]
        raise _unknown(str(timeframe))
    text = str(timeframe)
    if text in TIMEFRAMES:
        return text
    match = _SPELLING.match(text)
    if match is None:
        raise _unknown(timeframe)
    count, unit = int(match.group(1) or 1), match.group(2)
    if unit == "M" or unit.lower() in ("mo", "month", "months"):
        raise _unknown(timeframe, " (months are not a fixed duration; for minutes write 1min)")
    if unit.lower() in ("s", "sec", "second", "seconds"):
        raise _unknown(timeframe, " (seconds are shorter than the smallest bar size, 1m)")
    minutes = _UNIT_MINUTES.get(unit.lower())
    delta = pd.Timedelta(minutes=count * minutes) if minutes is not None else None
    if delta in _BY_DURATION:
        return _BY_DURATION[delta]
    raise _unknown(timeframe)


def as_timedelta(rule: str | pd.Timedelta) -> pd.Timedelta:
    """Duration of a bar size or of any fixed pandas offset (``90min``).

    Bar sizes may be any spelling :func:`parse_timeframe` accepts.

    Parameters
    ----------
    rule : str or pandas.Timedelta
        A bar size or a fixed pandas offset.

    Returns
    -------
    pandas.Timedelta
        Its duration.

    Raises
    ------
    ValueError
        If `rule` is neither (from :class:`pandas.Timedelta`).
    """
    try:
        return TIMEFRAMES[parse_timeframe(rule)]
    except DataValidationError:
        return pd.Timedelta(rule)


EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
# Weekly bars open on Monday 00:00 UTC, as the exchanges' do; 1970-01-01 was a Thursday.
WEEK_ORIGIN = pd.Timestamp("1970-01-05", tz="UTC")


def grid_origin(timeframe: str | pd.Timedelta) -> pd.Timestamp:
    """The instant bar grids of ``timeframe`` are counted from.

    The Unix epoch, or Monday 1970-01-05 for bar sizes that are whole weeks.

    Parameters
    ----------
    timeframe : str or pandas.Timedelta
        A bar size.

    Returns
    -------
    pandas.Timestamp
        The origin, UTC.
    """
    delta = as_timedelta(timeframe)
    return WEEK_ORIGIN if delta % pd.Timedelta(weeks=1) == pd.Timedelta(0) else EPOCH


def floor_to_grid(index: pd.DatetimeIndex, timeframe: str | pd.Timedelta) -> pd.DatetimeIndex:
    """Each timestamp floored to the open of its ``timeframe`` bar, on :func:`grid_origin`'s grid.

    The one flooring rule: :meth:`pandas.DatetimeIndex.floor` counts from the Unix epoch, a
    Thursday, which is no week boundary.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        UTC timestamps.
    timeframe : str or pandas.Timedelta
        A bar size or a fixed pandas offset.

    Returns
    -------
    pandas.DatetimeIndex
        The bar open times, same name and time zone.
    """
    delta = as_timedelta(timeframe)
    origin = grid_origin(delta)
    return origin + ((index - origin) // delta) * delta


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """Duration of one bar of ``timeframe``.

    Parameters
    ----------
    timeframe : str
        A bar size (any spelling :func:`parse_timeframe` accepts).

    Returns
    -------
    pandas.Timedelta
        Its duration.

    Raises
    ------
    DataValidationError
        If the bar size is unknown.
    """
    return TIMEFRAMES[parse_timeframe(timeframe)]


def check_spacing(index: pd.DatetimeIndex, timeframe: str) -> None:
    """Refuse sorted ``index`` unless every step is a whole number of ``timeframe`` bars.

    Gaps are allowed: daily equity files skip weekends and holidays by whole days.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Sorted bar timestamps.
    timeframe : str
        The declared bar size.

    Raises
    ------
    DataValidationError
        Naming how many steps are ragged and the first one.
    """
    tf = parse_timeframe(timeframe)
    step = np.diff(index.asi8)
    ragged = step % int(TIMEFRAMES[tf] / pd.Timedelta(1, unit=index.unit)) != 0
    if ragged.any():
        first = int(np.flatnonzero(ragged)[0])
        raise DataValidationError(
            f"bar spacing is inconsistent with {tf} bars: {int(ragged.sum())} of {step.size} "
            f"steps are not whole multiples of {tf} (e.g. "
            f"{pd.Timedelta(int(step[first]), unit=index.unit)} after {index[first]}); mixed bar "
            "sizes, or stamps in a local time zone?"
        )


def infer_timeframe(index: pd.DatetimeIndex) -> str:
    """The bar size of sorted ``index``.

    The most common spacing, which must be a known timeframe and divide every other spacing
    (:func:`check_spacing`).

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Sorted bar timestamps.

    Returns
    -------
    str
        The bar size's canonical name.

    Raises
    ------
    DataValidationError
        With fewer than two bars, when the most common spacing is no known bar size, or when
        some spacing is not a whole multiple of it.
    """
    if len(index) < 2:
        raise DataValidationError(
            f"cannot infer the bar size from {len(index)} bar(s); pass --timeframe"
        )
    values, counts = np.unique(np.diff(index.asi8), return_counts=True)
    mode = pd.Timedelta(int(values[np.argmax(counts)]), unit=index.unit)
    if mode not in _BY_DURATION:
        raise DataValidationError(
            f"bars are {mode} apart, which is no supported bar size "
            f"({', '.join(TIMEFRAMES)}); wrong --ts-unit?"
        )
    check_spacing(index, _BY_DURATION[mode])
    return _BY_DURATION[mode]


def duration_label(delta: pd.Timedelta) -> str:
    """A duration as people write bar sizes.

    The timeframe name when it is one (``15m``, ``1d``, ``1w``), else days, hours and minutes
    (``3h55m``, ``7d``), never pandas' ``0 days 00:15:00``.

    Parameters
    ----------
    delta : pandas.Timedelta
        The duration.

    Returns
    -------
    str
        Its label.
    """
    delta = pd.Timedelta(delta)
    if delta in _BY_DURATION:
        return _BY_DURATION[delta]
    if delta == pd.Timedelta(0):
        return "0m"
    minutes, seconds = divmod(int(delta.total_seconds()), 60)
    if seconds or delta < pd.Timedelta(0) or delta % pd.Timedelta(seconds=1):
        return str(delta)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return "".join(f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m")) if n)
