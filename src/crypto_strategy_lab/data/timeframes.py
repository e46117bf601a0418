"""Bar sizes: the ccxt spellings (``1m``, ``15m``, ``1h``, ``1d``, ...) and their durations.

The store, the sources and the CLI name a bar size the way ccxt does; pandas offset aliases
(``15min``, ``1h``, ``1D``) are accepted on input and mapped to the ccxt name. Monthly bars are
not supported (a month is not a fixed duration, so gaps and grids are ill-defined).
"""

from __future__ import annotations

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


def parse_timeframe(timeframe: str) -> str:
    """The canonical (ccxt) name of a bar size, e.g. ``"15min" -> "15m"``, ``"1D" -> "1d"``.

    Raises
    ------
    DataValidationError
        If the bar size is unknown.
    """
    text = str(timeframe).strip()
    if text in TIMEFRAMES:
        return text
    try:
        delta = pd.Timedelta(pd.tseries.frequencies.to_offset(text))
    except (ValueError, TypeError):
        delta = None
    if delta in _BY_DURATION:
        return _BY_DURATION[delta]
    raise DataValidationError(
        f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}"
    )


def timeframe_delta(timeframe: str) -> pd.Timedelta:
    """Duration of one bar of ``timeframe``."""
    return TIMEFRAMES[parse_timeframe(timeframe)]
