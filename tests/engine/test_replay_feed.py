"""The replay feed emits every bar once, in time order across symbols, with exact values."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd

from crypto_strategy_lab.engine import HistoricalReplayFeed
from tests.conftest import make_random_walk_bars


def _collect(feed: HistoricalReplayFeed) -> list:
    async def run() -> list:
        return [bar async for bar in feed]

    return asyncio.run(run())


def test_bars_come_in_time_order_across_symbols_with_their_rows_and_values() -> None:
    # more bars than one conversion chunk, two symbols on interleaved 1-minute grids, a start
    btc = make_random_walk_bars(9000, seed=1, freq="1min")
    eth = make_random_walk_bars(7000, seed=2, freq="1min")
    eth.index = eth.index + pd.Timedelta(minutes=1500)  # overlaps, and ends before BTC
    start = btc.index[100]
    bars = _collect(HistoricalReplayFeed({"ETHUSDT": eth, "BTCUSDT": btc}, start=start))
    # reference: every (open time, symbol, row) from start, sorted by time then symbol
    expected = sorted(
        (ts.to_pydatetime(), symbol, i)
        for symbol, frame in (("BTCUSDT", btc), ("ETHUSDT", eth))
        for i, ts in enumerate(frame.index)
        if ts >= start
    )
    assert [(b.timestamp, b.symbol, b.index) for b in bars] == expected
    frames = {"BTCUSDT": btc, "ETHUSDT": eth}
    for b in bars[::97]:
        row = frames[b.symbol].iloc[b.index]
        assert (b.open, b.high, b.low, b.close, b.volume) == tuple(
            float(row[c]) for c in ("open", "high", "low", "close", "volume")
        )
        assert all(type(v) is float for v in (b.open, b.high, b.low, b.close, b.volume))
        assert b.close_time == b.timestamp + pd.Timedelta(minutes=1).to_pytimedelta()
    received = np.array([b.received_ns for b in bars])
    assert np.all(np.diff(received) >= 0)  # stamped when emitted


def test_a_row_read_from_the_columns_is_the_row_the_feed_emits() -> None:
    """The fast-forward loop builds the few bars it emits from the columns (BarColumns.row,
    from first_row on): each equals the feed's own row, field by field and in type, with
    sub-microsecond index times floored as the feed floors them."""
    bars = make_random_walk_bars(9000, seed=3, freq="1min")
    bars.index = bars.index + pd.Timedelta(nanoseconds=1_500)  # 1.5 µs past each minute
    start = bars.index[4100]  # in the second conversion chunk
    feed = HistoricalReplayFeed({"BTCUSDT": bars}, start=start)
    columns = feed.columns("BTCUSDT")
    first = feed.first_row("BTCUSDT")
    assert first == 4100
    assert HistoricalReplayFeed({"BTCUSDT": bars}).first_row("BTCUSDT") == 0
    rows = list(feed.rows())
    assert len(rows) == len(bars) - first
    for row in rows[::61] + rows[-1:]:
        got = columns.row("BTCUSDT", row[3])
        assert got == row
        assert [type(v) for v in got[4]] == [float] * 5 and type(got[3]) is int
        assert got[0].tzinfo is not None and got[0].utcoffset() == pd.Timedelta(0)
        assert got[0].microsecond == row[0].microsecond == 1  # floored, not rounded to 2
