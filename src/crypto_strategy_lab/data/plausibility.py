"""Is a bar frame plausibly what it claims to be? The checks that refuse data read wrong.

A file whose epoch numbers are read in the wrong unit still passes the OHLCV schema: epoch
milliseconds read as nanoseconds give 33,259 hourly BTC bars squeezed into two minutes of
1970, which a backtest would annualise with 1.6e9 periods a year. These checks catch that
class of error before anything is analysed or stored:

* **epoch unit** (:func:`detect_epoch_unit`): the unit is read from the numbers' magnitude.
  Decoded in seconds, milliseconds, microseconds and nanoseconds, an epoch value lands in
  1980-2100 for exactly one unit (the four windows are disjoint: each is a factor 13 wide and
  they are a factor 1000 apart). An explicit unit that contradicts a clear detection is
  refused, naming the detected unit.
* **no bar in the future**: a bar is stamped with its open time, which cannot be after now.
* **spacing** (:func:`~crypto_strategy_lab.data.timeframes.infer_timeframe`): the most common
  step is a supported bar size and every step is a whole number of bars, daily files included
  (weekends and holidays are whole days); a declared bar size must match.
* **crypto history**: no crypto price exists before Bitcoin's genesis block (2009-01-03), so a
  crypto market (``perp``/``spot``) with earlier bars is refused.

Every refusal is a :class:`DataValidationError` whose one line names the problem and the fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.data.timeframes import check_spacing, infer_timeframe, parse_timeframe

EPOCH_UNITS: tuple[str, ...] = ("s", "ms", "us", "ns")
UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
# The window in which an epoch number is recognised as a date (see the module docstring).
_EPOCH_WINDOW = (pd.Timestamp("1980-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC"))
CRYPTO_GENESIS = pd.Timestamp("2009-01-03", tz="UTC")
CRYPTO_MARKETS = frozenset({"perp", "spot"})


def detect_epoch_unit(values: np.ndarray | pd.Series) -> str | None:
    """The epoch unit (``s``/``ms``/``us``/``ns``) that decodes ``values`` to 1980-2100 dates.

    Every finite value must decode into that range; ``None`` when no unit does (module
    docstring).

    Parameters
    ----------
    values : numpy.ndarray or pandas.Series
        Epoch numbers.

    Returns
    -------
    str or None
        The unit.
    """
    arr = np.asarray(values, dtype="float64")
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    low, high = (w.value / 1e9 for w in _EPOCH_WINDOW)
    lo, hi = float(arr.min()), float(arr.max())
    for unit in EPOCH_UNITS:
        scale = _PER_SECOND[unit]
        if low * scale <= lo and hi <= high * scale:
            return unit
    return None


def epoch_unit_for(values: pd.Series, unit: str | None, column: str = "timestamp") -> str:
    """The unit to decode epoch numbers ``values`` with.

    ``unit`` when given and consistent with their magnitude, else the detected one.

    Parameters
    ----------
    values : pandas.Series
        Epoch numbers.
    unit : str or None
        The unit the user declared (``--ts-unit``), if any.
    column : str, default "timestamp"
        The column's name, for the message.

    Returns
    -------
    str
        ``s``, ``ms``, ``us`` or ``ns``.

    Raises
    ------
    DataValidationError
        If ``unit`` contradicts the detected unit, or no unit is given and none is detected.
    """
    if unit is not None and unit not in EPOCH_UNITS:
        raise DataValidationError(f"timestamp unit must be one of {EPOCH_UNITS}, got {unit!r}")
    detected = detect_epoch_unit(values)
    if unit is not None and detected is not None and unit != detected:
        wrong = pd.to_datetime(_clip_for(values, unit), unit=unit, utc=True, errors="coerce")
        shown = "out of range" if pd.isna(wrong) else f"{wrong:%Y-%m-%d %H:%M}"
        raise DataValidationError(
            f"timestamps ({column!r}) look like epoch {UNIT_NAMES[detected]}, "
            f"not {UNIT_NAMES[unit]} "
            f"(read as {unit} the first bar would be {shown}); pass --ts-unit {detected}"
        )
    if unit is not None:
        return unit
    if detected is None:
        arr = pd.to_numeric(values)
        raise DataValidationError(
            f"epoch numbers in {column!r}, {arr.min():.6g} .. {arr.max():.6g}, decode to no "
            "date between "
            f"{_EPOCH_WINDOW[0].year} and {_EPOCH_WINDOW[1].year} in s, ms, us or ns; "
            "pass --ts-unit, or map the right column with --col timestamp=<column>"
        )
    return detected


def _clip_for(values: pd.Series, unit: str) -> float:
    """The first value, or NaN when it overflows a nanosecond timestamp in ``unit``."""
    first = float(pd.to_numeric(values).iloc[0])
    return first if abs(first) * 10**9 / _PER_SECOND[unit] < 9.2e18 else float("nan")


def check_plausible(
    bars: pd.DataFrame,
    *,
    timeframe: str | None = None,
    market: str | None = None,
    now: pd.Timestamp | None = None,
) -> str:
    """Refuse bars that cannot be what they claim; return their bar size (canonical name).

    Parameters
    ----------
    bars
        A validated OHLCV frame (sorted, unique UTC timestamps).
    timeframe
        The declared bar size: every step must be a whole number of such bars. ``None``
        infers the bar size from the spacing (:func:`infer_timeframe`).
    market
        ``perp``/``spot`` enables the crypto-history check; ``None`` or ``stock`` skips it.
    now
        The present (default: the clock), for the no-future-bar check.

    Returns
    -------
    str
        The bar size's canonical name.

    Raises
    ------
    DataValidationError
        On the first implausibility, naming it and the fix.
    """
    index = pd.DatetimeIndex(bars.index)
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tz is None else now
    if index[-1] > now:
        raise DataValidationError(
            f"the last bar opens at {index[-1]:%Y-%m-%d %H:%M} UTC, in the future (now "
            f"{now:%Y-%m-%d %H:%M}); wrong --ts-unit or time zone?"
        )
    if market is not None:
        check_market_history(bars, market)
    if timeframe is not None:
        check_spacing(index, timeframe)
        return parse_timeframe(timeframe)
    return infer_timeframe(index)


def check_market_history(bars: pd.DataFrame, market: str) -> None:
    """Refuse crypto bars (``perp``/``spot``) that open before Bitcoin's genesis block.

    Parameters
    ----------
    bars : pandas.DataFrame
        Bars on a sorted ``DatetimeIndex``.
    market : str
        Their market; only ``perp`` and ``spot`` are checked.

    Raises
    ------
    DataValidationError
        Naming the first bar and the two likely fixes (the market, the epoch unit).
    """
    first = pd.DatetimeIndex(bars.index)[0]
    if market in CRYPTO_MARKETS and first < CRYPTO_GENESIS:
        raise DataValidationError(
            f"the first bar opens at {first:%Y-%m-%d}, before Bitcoin's first block "
            f"({CRYPTO_GENESIS:%Y-%m-%d}): no crypto market ({market}) has prices then; "
            "pass --market stock if these are not crypto bars, or fix --ts-unit"
        )
