"""Market-data feeds: where closed bars come from.

Every feed is an async iterator of :class:`BarEvent` (one *closed* bar of one symbol), so the
engine loop is the same for all of them:

* :class:`HistoricalReplayFeed` — bars from a frame (bundled data, the store), in time order
  across symbols, as fast as possible or at ``speedup`` times real time. Used by replay and by
  simulated paper trading; it never pretends to be live data (``describe()`` says what it is).
* :class:`RestPollingFeed` — polls ``Exchange.get_ohlcv`` and emits each bar once it closed.
* :class:`WebsocketFeed` — ccxt.pro ``watch_ohlcv`` where the venue has it (Bybit): a bar is
  emitted when the stream opens the next one.

A bar is labelled by its open time (``timestamp``) and acted on at its close
(``close_time = timestamp + timeframe``), the convention of the OHLCV frames and the backtest.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.core.epoch import utc_from_epoch_us
from crypto_strategy_lab.core.errors import ConfigError, ExchangeError
from crypto_strategy_lab.data.schema import validate_ohlcv
from crypto_strategy_lab.data.timeframes import as_timedelta
from crypto_strategy_lab.exchanges.base import Exchange

log = logging.getLogger(__name__)

_CHUNK = 4096  # bars a replay feed converts to Python objects at once
_OHLCV = ("open", "high", "low", "close", "volume")


class BarEvent(NamedTuple):
    """One closed bar.

    An immutable record (a named tuple: built once per bar by the replay feed, at a fifth of
    the cost of a frozen dataclass; compared by value).

    Attributes
    ----------
    symbol : str
        The symbol the bar is of.
    timestamp : datetime
        The bar's open time (its label).
    close_time : datetime
        ``timestamp`` plus the bar size: when the bar is acted on.
    open, high, low, close, volume : float
        The bar's OHLCV values.
    index : int
        Replay: the bar's row in its symbol's frame (warm-up rows included), the row
        :meth:`StrategyRunner.prepare` addresses; live feeds: a count of the bars emitted,
        from 1.
    received_ns : int
        ``time.perf_counter_ns()`` when the feed emitted it (the start of the engine's
        bar-to-order latency).
    """

    symbol: str
    timestamp: datetime
    close_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    index: int
    received_ns: int

    def as_mapping(self) -> dict[str, float]:
        """The bar's ``open``, ``high``, ``low``, ``close`` and ``volume`` by name.

        Returns
        -------
        dict of str to float
            The five values, keyed as the OHLCV frames' columns.
        """
        return {
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }


BarRow = tuple[datetime, str, datetime, int, tuple[float, float, float, float, float]]
"""A replayed bar before it is emitted: open time, symbol, close time, frame row, OHLCV."""


def bar_event(row: BarRow) -> BarEvent:
    """The event of a replayed bar, stamped as received now.

    Parameters
    ----------
    row : BarRow
        One of :meth:`HistoricalReplayFeed.rows`.

    Returns
    -------
    BarEvent
        Its fields, ``received_ns`` the ``time.perf_counter_ns()`` of this call.
    """
    stamp, symbol, close_time, i, (o, h, lo, c, v) = row
    return BarEvent(symbol, stamp, close_time, o, h, lo, c, v, i, time.perf_counter_ns())


class BarColumns(NamedTuple):
    """A replayed symbol's bars as arrays, indexed by frame row.

    Attributes
    ----------
    open_us, close_us : numpy.ndarray
        int64 microseconds since the Unix epoch (UTC) of each bar's open and close
        (``open + timeframe``), floored as :class:`BarEvent`'s datetimes are.
    open, high, low, close, volume : numpy.ndarray
        float64 OHLCV.
    """

    open_us: np.ndarray
    close_us: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def row(self, symbol: str, i: int) -> BarRow:
        """Frame row ``i`` of ``symbol`` as :meth:`HistoricalReplayFeed.rows` gives it.

        Parameters
        ----------
        symbol : str
            The symbol the columns are of.
        i : int
            The frame row.

        Returns
        -------
        BarRow
            Open and close as aware UTC datetimes of :attr:`open_us` / :attr:`close_us`
            (equal to the feed's, which floor the index to microseconds), the values as
            Python floats.
        """
        return (
            utc_from_epoch_us(self.open_us[i]),
            symbol,
            utc_from_epoch_us(self.close_us[i]),
            i,
            (
                float(self.open[i]),
                float(self.high[i]),
                float(self.low[i]),
                float(self.close[i]),
                float(self.volume[i]),
            ),
        )


class HistoricalReplayFeed:
    """Replay OHLCV history.

    Parameters
    ----------
    frames:
        Symbol -> validated OHLCV frame (all on the same bar size).
    timeframe:
        Bar size (``"15min"``); inferred from the first frame when ``None``.
    start:
        First bar to emit (earlier rows are warm-up history, never traded).
    speedup:
        ``None``/0: as fast as possible; ``k``: one bar every ``timeframe / k`` of wall time.
    """

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        timeframe: str | pd.Timedelta | None = None,
        start: datetime | pd.Timestamp | None = None,
        speedup: float | None = None,
    ) -> None:
        if not frames:
            raise ConfigError("a replay feed needs at least one symbol's bars")
        self.frames = {s: validate_ohlcv(f) for s, f in frames.items()}
        first = next(iter(self.frames.values()))
        if timeframe is None:
            if len(first) < 2:
                raise ConfigError("cannot infer the bar size from fewer than two bars")
            timeframe = pd.Series(first.index).diff().median()
        self.timeframe = pd.Timedelta(timeframe)
        self.start = pd.Timestamp(start) if start is not None else None
        if speedup is not None and speedup < 0:
            raise ConfigError(
                f"speedup must be positive (or 0 for as fast as possible), got {speedup}"
            )
        self.speedup = speedup or None

    def describe(self) -> str:
        """What the feed replays: its pace and each symbol's traded span, marked not live.

        Returns
        -------
        str
            One line starting ``REPLAY of historical bars``.
        """
        pace = "as fast as possible" if self.speedup is None else f"{self.speedup:g}x real time"
        spans = ", ".join(
            f"{s} {self._traded(f).index[0]} -> {self._traded(f).index[-1]}"
            for s, f in self.frames.items()
            if len(self._traded(f))
        )
        return f"REPLAY of historical bars ({pace}; not live market data): {spans}"

    def _traded(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame if self.start is None else frame[frame.index >= self.start]

    def __len__(self) -> int:
        """The number of bars the feed emits (all symbols, from ``start``)."""
        return sum(len(self._traded(f)) for f in self.frames.values())

    async def __aiter__(self) -> AsyncIterator[BarEvent]:
        """The bars from ``start``, in time order across symbols (ties by symbol)."""
        pause = None if self.speedup is None else self.timeframe.total_seconds() / self.speedup
        for row in self.rows():
            if pause:
                await asyncio.sleep(pause)
            yield bar_event(row)

    def rows(self) -> Iterator[BarRow]:
        """The bars :meth:`__aiter__` emits, as rows, in its order and without its pace.

        Returns
        -------
        iterator of BarRow
            One per bar from ``start``; :func:`bar_event` makes its event.
        """
        step = self.timeframe.to_pytimedelta()
        streams = [self._rows(symbol, frame, step) for symbol, frame in self.frames.items()]
        return streams[0] if len(streams) == 1 else heapq.merge(*streams)

    def columns(self, symbol: str) -> BarColumns:
        """Every row of ``symbol``'s frame (warm-up rows included) as arrays.

        Parameters
        ----------
        symbol : str
            One of the feed's symbols.

        Returns
        -------
        BarColumns
            Indexed by the frame's row (:attr:`BarEvent.index`).
        """
        frame = self.frames[symbol]
        open_us = pd.DatetimeIndex(frame.index).as_unit("ns").asi8 // 1000
        step_us = self.timeframe // pd.Timedelta(microseconds=1)
        return BarColumns(
            open_us, open_us + step_us, *(frame[c].to_numpy(np.float64) for c in _OHLCV)
        )

    def first_row(self, symbol: str) -> int:
        """The frame row of ``symbol``'s first emitted bar (rows before ``start`` are warm-up).

        Parameters
        ----------
        symbol : str
            One of the feed's symbols.

        Returns
        -------
        int
            0 without ``start``; else the first row whose open time is at or after it.
        """
        frame = self.frames[symbol]
        return 0 if self.start is None else int(frame.index.searchsorted(self.start))

    def _rows(self, symbol: str, frame: pd.DataFrame, step: timedelta) -> Iterator[BarRow]:
        """``(open, symbol, close, row, [o, h, l, c, v])`` of each bar from ``start``.

        Converted to Python objects a chunk at a time (vectorised, a few thousand bars held at
        once, none of them a container the garbage collector tracks): open and close times
        from the index (the close is ``open + step`` with ``step`` in whole microseconds, so
        adding before or after ``to_pydatetime``'s truncation to microseconds gives the same
        time), values as exact Python floats. Sorted by open time then symbol, as
        :func:`heapq.merge` of the symbols' streams needs.
        """
        offset = self.first_row(symbol)
        columns = [frame[c].to_numpy(np.float64) for c in _OHLCV]
        index = frame.index
        for lo in range(offset, len(frame), _CHUNK):
            hi = min(lo + _CHUNK, len(frame))
            span = index[lo:hi]
            yield from zip(
                span.to_pydatetime(),
                itertools.repeat(symbol, hi - lo),
                (span + step).to_pydatetime(),
                range(lo, hi),
                zip(*(column[lo:hi].tolist() for column in columns), strict=True),
                strict=True,
            )


class RestPollingFeed:
    """Poll a venue's klines and emit each bar of ``symbol`` once, after it closed.

    Parameters
    ----------
    exchange : Exchange
        The venue client whose ``get_ohlcv`` is polled (the latest 5 klines each time).
    symbol : str
        The symbol, in our notation (``"BTCUSDT"``).
    timeframe : str
        The bar size (``"15m"``); a kline is emitted once its open time plus one bar has
        passed on the wall clock.
    market : MarketType or None, optional
        The market of the klines; ``None`` (default): the exchange's default market.
    poll_seconds : float, default 5.0
        Wall-clock seconds between polls (also after a failed one).
    after : pandas.Timestamp or None, optional
        The open time of the last bar the strategy already has (its seeded history): the
        feed starts with the bar after it; ``None`` (default): with the closed bars of the
        first poll.
    """

    def __init__(
        self,
        exchange: Exchange,
        symbol: str,
        timeframe: str,
        *,
        market: MarketType | None = None,
        poll_seconds: float = 5.0,
        after: pd.Timestamp | None = None,
    ) -> None:
        self.exchange, self.symbol, self.timeframe = exchange, symbol, timeframe
        self.market, self.poll_seconds = market, poll_seconds
        self.step = as_timedelta(timeframe)
        # ``after``: the last bar the strategy already has (its seeded warm-up history); the
        # feed starts with the bar after it instead of re-sending the newest klines
        self._last: pd.Timestamp | None = after
        self._index = 0

    def describe(self) -> str:
        """The venue, symbol and bar size polled (live).

        Returns
        -------
        str
            One line, ``"REST polling of <venue> <symbol> <timeframe> bars (live)"``.
        """
        return f"REST polling of {self.exchange.venue} {self.symbol} {self.timeframe} bars (live)"

    async def __aiter__(self) -> AsyncIterator[BarEvent]:
        """Each closed bar once, polling every ``poll_seconds`` (also after a failed poll)."""
        while True:
            try:
                frame = await self.exchange.get_ohlcv(
                    self.symbol, self.timeframe, limit=5, market=self.market
                )
            except ExchangeError as exc:
                # The feed goes quiet; the risk engine's stale-data rule pauses new risk.
                log.warning("kline poll failed (%s); retrying in %.1fs", exc, self.poll_seconds)
                await asyncio.sleep(self.poll_seconds)
                continue
            now = pd.Timestamp.now(tz="UTC")
            for stamp, row in frame.iterrows():
                if stamp + self.step > now or (self._last is not None and stamp <= self._last):
                    continue  # still forming, or already emitted
                self._last = stamp
                self._index += 1
                yield BarEvent(
                    self.symbol,
                    stamp.to_pydatetime(),
                    (stamp + self.step).to_pydatetime(),
                    float(row["open"]),
                    float(row["high"]),
                    float(row["low"]),
                    float(row["close"]),
                    float(row["volume"]),
                    self._index,
                    time.perf_counter_ns(),
                )
            await asyncio.sleep(self.poll_seconds)


class WebsocketFeed:
    """ccxt.pro ``watch_ohlcv`` stream; emits bar ``k`` when bar ``k+1`` first appears.

    ``client`` is a ccxt.pro exchange (e.g. ``ccxt.pro.bybit({...})``); its symbol notation
    (``"BTC/USDT:USDT"``) is the caller's, ``symbol`` is ours.

    Parameters
    ----------
    client : object
        A ccxt.pro exchange with ``watch_ohlcv``.
    ccxt_symbol : str
        The symbol in ccxt's notation, as streamed.
    symbol : str
        The symbol in our notation, as the emitted bars name it.
    timeframe : str
        The bar size streamed.

    Raises
    ------
    ConfigError
        If `client` has no ``watch_ohlcv`` (no websocket klines).
    """

    def __init__(self, client: object, ccxt_symbol: str, symbol: str, timeframe: str) -> None:
        if not hasattr(client, "watch_ohlcv"):
            raise ConfigError(f"{type(client).__name__} has no websocket klines (watch_ohlcv)")
        self.client, self.ccxt_symbol, self.symbol = client, ccxt_symbol, symbol
        self.timeframe = timeframe
        self.step = as_timedelta(timeframe)

    def describe(self) -> str:
        """The stream's symbol and bar size (live).

        Returns
        -------
        str
            One line, ``"websocket klines <ccxt symbol> <timeframe> (live)"``.
        """
        return f"websocket klines {self.ccxt_symbol} {self.timeframe} (live)"

    async def __aiter__(self) -> AsyncIterator[BarEvent]:
        """Each bar once, when the stream first shows a later bar."""
        pending: list[float] | None = None
        index = 0
        while True:
            candles = await self.client.watch_ohlcv(self.ccxt_symbol, self.timeframe)  # type: ignore[attr-defined]
            for candle in candles:
                if pending is not None and candle[0] > pending[0]:
                    stamp = pd.Timestamp(int(pending[0]), unit="ms", tz="UTC")
                    index += 1
                    yield BarEvent(
                        self.symbol,
                        stamp.to_pydatetime(),
                        (stamp + self.step).to_pydatetime(),
                        *(float(v) for v in pending[1:6]),
                        index,
                        time.perf_counter_ns(),
                    )
                if pending is None or candle[0] >= pending[0]:
                    pending = candle
