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
