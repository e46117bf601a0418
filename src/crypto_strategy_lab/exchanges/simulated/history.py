"""The simulated venue's bar history per symbol: amortised O(1) append, O(1) last bar.

Bars are kept in preallocated numpy columns (timestamp in ns since the epoch, open, high,
low, close, volume; 48 bytes a bar) that double their capacity when full, so ``n`` appends
cost O(n) in total — appending a row to a DataFrame with ``pd.concat`` copies the whole
frame each time (O(n²), about 2 ms a bar after some thousand bars). A bar is first queued
as plain Python values (its open time, its five floats: no object the garbage collector
tracks, so a queue of them costs it nothing) and moved into the columns ``_CHUNK`` bars at a
time, one vectorised copy instead of a numpy row write per bar. The frame that
``get_ohlcv`` needs is built only when asked for.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.epoch import EPOCH
from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.exchanges.simulated.matching import Bar

COLUMNS = ("open", "high", "low", "close", "volume")
_MICROSECOND = timedelta(microseconds=1)


_CHUNK = 1024  # bars queued before they move into the columns


def _epoch_ns(ts: datetime) -> int:
    """Nanoseconds since the epoch of an aware ``datetime`` or ``Timestamp``, exactly."""
    if isinstance(ts, pd.Timestamp):
        return int(ts.as_unit("ns").value)
    return (ts - EPOCH) // _MICROSECOND * 1000


class BarHistory:
    """Append-only OHLCV bars of one symbol, strictly increasing in time.

    Parameters
    ----------
    frame
        Optional initial bars (a validated OHLCV frame).
    """

    def __init__(self, frame: pd.DataFrame | None = None) -> None:
        n = 0 if frame is None else len(frame)
        capacity = max(_CHUNK, 2 * n)
        self._ts = np.empty(capacity, dtype=np.int64)
        self._values = np.empty((capacity, len(COLUMNS)), dtype=np.float64)
        self._n = 0  # bars in the columns
        # bars appended since the last move into the columns: open times, and their values
        # one after another in COLUMNS order
        self._queued_at: list[datetime] = []
        self._queued: list[float] = []
        self._last: Bar | None = None  # the newest bar, read on every order and mark
        self._last_at: datetime | None = None  # its open time, as given (UTC)
        self._unit = "ns"  # the time unit frame() gives back (the initial frame's)
        if frame is not None:
            self._unit = pd.DatetimeIndex(frame.index).unit
        if frame is not None and n:
            index = pd.DatetimeIndex(frame.index).tz_convert("UTC")
            self._ts[:n] = index.asi8 if index.unit == "ns" else index.as_unit("ns").asi8
            self._values[:n] = frame[list(COLUMNS)].to_numpy(dtype=np.float64)
            self._n = n
            self._last = Bar(*(float(x) for x in self._values[n - 1]))
            self._last_at = pd.Timestamp(int(self._ts[n - 1]), tz="UTC")

    def __len__(self) -> int:
        """Number of bars held."""
        return self._n + len(self._queued_at)

    def append(self, ts: datetime, bar: Bar) -> None:
        """Add the bar that opens at ``ts`` (UTC).

        A bar at or before the last one is refused (OHLCV time is strictly increasing).

        Parameters
        ----------
        ts : datetime.datetime or pandas.Timestamp
            Open time, UTC (a ``Timestamp`` keeps its nanoseconds).
        bar : Bar
            The bar.

        Raises
        ------
        DataValidationError
            If `ts` is not after the last bar.
        """
        last_at = self._last_at
        if last_at is not None and ts <= last_at:
            raise DataValidationError(
                "timestamps must be strictly increasing",
                "timestamp",
                1,
                [ts, self.last_time()],
            )
        self._queued_at.append(ts)
        self._queued += bar
        self._last = bar
        self._last_at = ts
        if len(self._queued_at) == _CHUNK:
            self._settle()

    def extend(self, open_ns: np.ndarray, values: np.ndarray, last_at: datetime) -> None:
        """Add bars in one copy (a replay's quiet bars), as many :meth:`append` calls would.

        Parameters
        ----------
        open_ns : numpy.ndarray
            int64 open times, ns since the epoch (UTC), strictly increasing, the first after
            the last bar held.
        values : numpy.ndarray
            float64 rows of :data:`COLUMNS`, one per time.
        last_at : datetime.datetime or pandas.Timestamp
            The last bar's open time as :meth:`append` would be given it.

        Raises
        ------
        DataValidationError
            If the first time is not after the last bar.
        """
        k = len(open_ns)
        if not k:
            return
        if self._last_at is not None and int(open_ns[0]) <= _epoch_ns(self._last_at):
            raise DataValidationError(
                "timestamps must be strictly increasing",
                "timestamp",
                1,
                [pd.Timestamp(int(open_ns[0]), tz="UTC"), self.last_time()],
            )
        self._settle()
        n = self._n
        self._reserve(n + k)
        self._ts[n : n + k] = open_ns
        self._values[n : n + k] = values
        self._n = n + k
        self._last = Bar(*values[-1].tolist())
        self._last_at = last_at

    def _reserve(self, size: int) -> None:
        """Double the columns' capacity until ``size`` bars fit."""
        while size > len(self._ts):
            self._ts = np.concatenate([self._ts, np.empty_like(self._ts)])
            self._values = np.concatenate([self._values, np.empty_like(self._values)])

    def _settle(self) -> None:
        """Move the queued bars into the columns (growing them when full)."""
        k = len(self._queued_at)
        if not k:
            return
        n = self._n
        self._reserve(n + k)
        self._ts[n : n + k] = [_epoch_ns(ts) for ts in self._queued_at]
        self._values[n : n + k] = np.array(self._queued, dtype=np.float64).reshape(k, -1)
        self._n = n + k
        self._queued_at = []
        self._queued = []

    def last(self) -> Bar | None:
        """The newest bar.

        Returns
        -------
        Bar or None
            ``None`` when the history is empty.
        """
        return self._last

    def last_time(self) -> pd.Timestamp:
        """Open time of the newest bar; the history must not be empty.

        Returns
        -------
        pandas.Timestamp
            UTC.
        """
        assert self._last_at is not None, "empty history"
        return pd.Timestamp(_epoch_ns(self._last_at), tz="UTC")

    def frame(self) -> pd.DataFrame:
        """The bars as an OHLCV frame (a copy).

        Returns
        -------
        pandas.DataFrame
            ``open, high, low, close, volume`` on a UTC ``DatetimeIndex`` named ``timestamp``.
        """
        self._settle()
        index = pd.DatetimeIndex(
            pd.to_datetime(self._ts[: self._n].copy(), unit="ns", utc=True), name="timestamp"
        ).as_unit(self._unit)
        return pd.DataFrame(self._values[: self._n].copy(), index=index, columns=list(COLUMNS))
