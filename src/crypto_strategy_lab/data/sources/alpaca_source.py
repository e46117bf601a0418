"""US stock bars from Alpaca's market-data API through alpaca-py's ``StockHistoricalDataClient``.

alpaca-py pages by itself: ``get_stock_bars`` follows ``next_page_token`` until it is null
(EXCHANGES.md §8), so one call returns the whole range. ``url_override`` points the client at a
local server in tests. Bars come back with the bar **open** time in UTC; the IEX feed is the
free default. Alpaca timeframes supported here: 1m, 5m, 15m, 30m, 1h, 1d.
"""

from __future__ import annotations

import pandas as pd

from crypto_strategy_lab.core.errors import ConfigError, ExchangeError
from crypto_strategy_lab.data.schema import OHLCV_COLUMNS, validate_ohlcv
from crypto_strategy_lab.data.store import DataStore, WriteResult
from crypto_strategy_lab.data.timeframes import parse_timeframe

_ALPACA_TF = {"1m": (1, "Minute"), "5m": (5, "Minute"), "15m": (15, "Minute"),
              "30m": (30, "Minute"), "1h": (1, "Hour"), "1d": (1, "Day")}  # fmt: skip


def fetch_stock_bars(
    symbol: str,
    timeframe: str,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp | None = None,
    api_key: str | None = None,
    secret_key: str | None = None,
    url_override: str | None = None,
    feed: str = "iex",
) -> pd.DataFrame:
    """Fetch ``[start, end)`` bars of one US stock as a validated OHLCV frame.

    Keys default to ``ALPACA_PAPER_API_KEY`` / ``ALPACA_PAPER_SECRET_KEY`` from the settings.

    Parameters
    ----------
    symbol : str
        Ticker.
    timeframe : str
        Bar size.
    start : str or pandas.Timestamp
        First bar (UTC).
    end : str or pandas.Timestamp, optional
        End, exclusive (default: now).
    api_key, secret_key : str, optional
        Alpaca keys.
    url_override : str, optional
        Another data endpoint.
    feed : str, default "iex"
        Alpaca data feed.

    Returns
    -------
    pandas.DataFrame
        Validated OHLCV bars.
    """
    from alpaca.common.exceptions import APIError
    from alpaca.data.enums import DataFeed
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

    from crypto_strategy_lab.config.settings import Settings

    tf = parse_timeframe(timeframe)
    if tf not in _ALPACA_TF:
        raise ExchangeError(f"alpaca has no {tf} bars; use one of {list(_ALPACA_TF)}")
    if api_key is None or secret_key is None:
        settings = Settings()
        if settings.ALPACA_PAPER_API_KEY is None or settings.ALPACA_PAPER_SECRET_KEY is None:
            raise ConfigError("set ALPACA_PAPER_API_KEY and ALPACA_PAPER_SECRET_KEY for stock data")
        api_key = settings.ALPACA_PAPER_API_KEY.get_secret_value()
        secret_key = settings.ALPACA_PAPER_SECRET_KEY.get_secret_value()
    amount, unit = _ALPACA_TF[tf]
    client = StockHistoricalDataClient(api_key, secret_key, url_override=url_override)
    request = StockBarsRequest(
        symbol_or_symbols=symbol,
        timeframe=TimeFrame(amount, TimeFrameUnit[unit]),
        start=pd.Timestamp(start, tz="UTC").to_pydatetime(),
        end=None if end is None else pd.Timestamp(end, tz="UTC").to_pydatetime(),
        feed=DataFeed(feed),
    )
    try:
        bars = client.get_stock_bars(request)
    except APIError as exc:
        raise ExchangeError(
            f"alpaca bars request failed for {symbol}", venue="alpaca", code=exc.status_code
        ) from exc
    rows = bars.data.get(symbol, [])
    if not rows:
        raise ExchangeError(f"alpaca returned no bars for {symbol!r}", venue="alpaca")
    frame = pd.DataFrame(
        {
            "open": [b.open for b in rows],
            "high": [b.high for b in rows],
            "low": [b.low for b in rows],
            "close": [b.close for b in rows],
            "volume": [b.volume for b in rows],
        },
        index=pd.DatetimeIndex([b.timestamp for b in rows], name="timestamp").tz_convert("UTC"),
    ).astype("float64")
    return validate_ohlcv(frame[list(OHLCV_COLUMNS)])


def download_stock_bars(
    store: DataStore, symbol: str, timeframe: str, start: str | pd.Timestamp, **kwargs: object
) -> WriteResult:
    """Fetch stock bars with :func:`fetch_stock_bars` and merge them into ``store``.

    Parameters
    ----------
    store : DataStore
        Where the bars are merged (source ``alpaca``).
    symbol, timeframe : str
        Ticker and bar size.
    start : str or pandas.Timestamp
        First bar.
    **kwargs
        Further :func:`fetch_stock_bars` arguments.

    Returns
    -------
    WriteResult
        The merge's outcome.
    """
    frame = fetch_stock_bars(symbol, timeframe, start, **kwargs)  # type: ignore[arg-type]
    return store.write(frame, "alpaca", symbol, timeframe)
