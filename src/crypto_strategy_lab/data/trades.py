"""Trade tapes to bars: the one aggregation of ticks into OHLCV (+ aggressor buy volume).

It lives in ``data/`` because it is a frame transformation on the data schema; the numerical
layer (``stats/``) works on the arrays it produces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.data.schema import validate_trades
from crypto_strategy_lab.data.timeframes import as_timedelta, grid_origin


def trades_to_bars(trades: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Aggregate a trades frame into OHLCV bars (+ ``buy_volume`` when trades carry ``side``).

    Bars are labelled by their open time and hold trades with ``open <= ts < open + freq``;
    bars without trades are dropped (not forward-filled).

    Parameters
    ----------
    trades : pandas.DataFrame
        A valid trades frame (:func:`~crypto_strategy_lab.data.schema.validate_trades`).
    freq : str
        Bar size or fixed pandas offset; bins lie on the grid of
        :func:`~crypto_strategy_lab.data.timeframes.grid_origin` (weekly bars open on
        Monday), as every other bar of the lab.

    Returns
    -------
    pandas.DataFrame
        ``open, high, low, close, volume`` (+ ``buy_volume``: the size of trades whose
        aggressor bought) as float, on a ``DatetimeIndex`` named ``timestamp``.

    Raises
    ------
    DataValidationError
        If `trades` breaks the trades schema.
    """
    validate_trades(trades)
    ts = pd.DatetimeIndex(trades["timestamp"])
    frame = pd.DataFrame(
        {"price": trades["price"].to_numpy(float), "size": trades["size"].to_numpy(float)},
        index=ts,
    )
    if "side" in trades.columns:
        frame["buy"] = np.where(trades["side"].to_numpy() == "buy", frame["size"], 0.0)
    grouped = frame.resample(
        as_timedelta(freq), label="left", closed="left", origin=grid_origin(freq)
    )
    bars = grouped["price"].ohlc()
    bars["volume"] = grouped["size"].sum()
    if "buy" in frame.columns:
        bars["buy_volume"] = grouped["buy"].sum()
    bars = bars.dropna(subset=["close"])
    bars.index.name = "timestamp"
    return bars.astype(float)
