"""Download OHLCV bars from any ccxt exchange into the store: paginated, resumable, throttled.

Pagination is *explicit-window*: each request asks for ``[cursor, cursor + limit * bar - 1]``
(``since`` plus the ``until`` parameter, which ccxt sends as Bybit's ``end``). Bybit answers a
request that has only ``start`` with the *newest* bars after it, so a window with both ends is
the only way to page forward that works on every venue. An empty window (a venue outage)
advances the cursor by one window.

Resume: the first request starts at ``max(since, last stored bar + 1 bar)``. Bars are flushed
to the store every ``flush_rows`` rows (and at the end), so an interrupted download loses at
most one flush. Only closed bars are kept: a bar whose close time is after "now" (the venue's
clock, ``exchange.milliseconds()``) is still forming and is dropped.

Rate limits: ccxt's own throttle (``enableRateLimit=True``, the venue's ``rateLimit``) spaces
the requests; a ``RateLimitExceeded`` or network/5xx error is retried ``max_retries`` times
with exponential backoff ``backoff * 2**attempt`` seconds, then raised as the project's
:class:`RateLimitExceeded` / :class:`ExchangeUnavailable`. A connection that cannot be made at
all (the host does not resolve, refuses or is unreachable) is raised at once with a hint:
retrying would only make an offline user wait.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from crypto_strategy_lab.core.errors import ExchangeError, ExchangeUnavailable, RateLimitExceeded
from crypto_strategy_lab.data.schema import OHLCV_COLUMNS, DataValidationError, validate_ohlcv
from crypto_strategy_lab.data.store import DataStore
from crypto_strategy_lab.data.timeframes import parse_timeframe, timeframe_delta

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DownloadResult:
    """What a download did: requests made, bars fetched and what the store kept."""

    exchange: str
    symbol: str
    timeframe: str
    start: pd.Timestamp
    end: pd.Timestamp
    resumed: bool
    requests: int
    retries: int
    fetched: int
    added: int
    total_stored: int


def create_exchange(exchange_id: str, base_url: str | None = None) -> ccxt_async.Exchange:
    """An async ccxt client for public market data, optionally pointed at ``base_url``.

    For Bybit only spot and linear markets are loaded and the private coin-info call is
    skipped (EXCHANGES.md §2). ``base_url`` replaces every REST URL of the client.

    Parameters
    ----------
    exchange_id : str
        ccxt exchange id.
    base_url : str, optional
        Another endpoint.

    Returns
    -------
    ccxt.async_support.Exchange
        The client, rate-limited, 20 s timeout.

    Raises
    ------
    ExchangeError
        If ccxt does not know the exchange.
    """
    if exchange_id not in ccxt_async.exchanges:
        raise ExchangeError(f"unknown exchange {exchange_id!r}; ccxt knows {len(ccxt.exchanges)}")
    config: dict[str, Any] = {"enableRateLimit": True, "timeout": 20_000}
    if exchange_id == "bybit":
        config["options"] = {"fetchMarkets": {"types": ["spot", "linear"]}}
    exchange = getattr(ccxt_async, exchange_id)(config)
    exchange.has["fetchCurrencies"] = False
    if base_url:
        exchange.urls["api"] = _replace_urls(exchange.urls["api"], base_url.rstrip("/"))
    return exchange


def _replace_urls(node: Any, base_url: str) -> Any:
    if isinstance(node, dict):
        return {k: _replace_urls(v, base_url) for k, v in node.items()}
    return base_url if isinstance(node, str) and node.startswith("http") else node


async def _with_retries(
    call: Callable[[], Awaitable[Any]], max_retries: int, backoff: float, counter: list[int]
) -> Any:
    for attempt in range(max_retries + 1):
        try:
            return await call()
        except ccxt.RateLimitExceeded as exc:
            error: Exception = exc
            kind = "rate limit"
        except (ccxt.NetworkError, ccxt.ExchangeNotAvailable) as exc:
            error, kind = exc, "unavailable"
            unreachable = _connect_failure(exc)
            if unreachable is not None:
                # Waiting does not bring back a host that does not resolve or refuses the
                # connection (no network, a proxy or firewall, a wrong --base-url).
                raise ExchangeUnavailable(
                    f"cannot connect ({unreachable}): the network or the host looks "
                    "unreachable from this machine; check the connection (proxy, firewall, "
                    "--base-url), or bring bars in from a file with `csl data import`"
                ) from exc
        if attempt == max_retries:
            message = f"gave up after {max_retries} retries ({kind}): {error}"
            if kind == "rate limit":
                raise RateLimitExceeded(message) from error
            raise ExchangeUnavailable(message) from error
        counter[0] += 1
        delay = backoff * 2**attempt
        log.warning("%s, retry %d/%d in %.2fs", kind, attempt + 1, max_retries, delay)
        await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def _connect_failure(exc: BaseException) -> str | None:
    """Why no connection could be made, when that is what ``exc`` wraps.

    A DNS failure, a refused or unreachable host; ``None`` for errors after connecting
    (timeouts, resets, 5xx), which a retry can cure.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror | aiohttp.ClientConnectorError):
            return str(seen) or type(seen).__name__
        seen = seen.__cause__ or seen.__context__
    return None


def _to_utc_ms(value: str | pd.Timestamp | None) -> int | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def _frame(rows: list[list[float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["timestamp", *OHLCV_COLUMNS])
    index = pd.DatetimeIndex(pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True))
    frame = frame.set_axis(index.rename("timestamp")).astype("float64")
    return frame[~frame.index.duplicated(keep="last")].sort_index()


async def download_ohlcv(
    store: DataStore,
    exchange_id: str,
    symbol: str,
    timeframe: str,
    since: str | pd.Timestamp,
    until: str | pd.Timestamp | None = None,
    base_url: str | None = None,
    limit: int = 1000,
    max_retries: int = 5,
    backoff: float = 1.0,
    flush_rows: int = 100_000,
    console: Console | None = None,
    source: str | None = None,
) -> DownloadResult:
    """Fetch bars ``[since, until)`` of ``symbol`` and merge them into ``store``.

    Parameters
    ----------
    store : DataStore
        Where the bars are merged.
    exchange_id : str
        ccxt exchange id (e.g. ``"bybit"``).
    symbol : str
        Market symbol as the exchange names it.
    timeframe : str
        Bar size.
    since : str or pandas.Timestamp
        First bar's open time (UTC).
    until : str or pandas.Timestamp, optional
        End, exclusive; default now (only closed bars are fetched).
    base_url : str, optional
        Another endpoint for the exchange.
    limit : int, default 1000
        Bars per request.
    max_retries : int, default 5
        Retries of a rate-limited or unavailable request; the delay before retry ``k`` is
        ``backoff * 2**k`` seconds (``k = 0, 1, ...``).
    backoff : float, default 1.0
        Base delay of the retries, in seconds.
    flush_rows : int, default 100000
        Buffered rows written to the store at a time (an interrupted download loses at most
        that many).
    console
        Shows a progress bar over the bars on this console; ``None`` runs silently.
    source
        Store source name; defaults to ``exchange_id``.

    Raises
    ------
    ExchangeError
        Unknown exchange or symbol, timeframe the venue does not offer, or a venue error.
    RateLimitExceeded, ExchangeUnavailable
        When retries are exhausted.
    DataValidationError
        If the venue returns bars that break the OHLCV schema (nothing of that page is stored).

    Returns
    -------
    DownloadResult
        What was fetched and stored.
    """
    tf = parse_timeframe(timeframe)
    step_ms = int(timeframe_delta(tf).total_seconds() * 1000)
    source = source or exchange_id
    exchange = create_exchange(exchange_id, base_url)
    counter = [0]
    requests = 0
    try:
        markets = await _with_retries(exchange.load_markets, max_retries, backoff, counter)
        if symbol not in markets:
            raise ExchangeError(f"unknown symbol {symbol!r} on {exchange_id}", venue=exchange_id)
        if exchange.timeframes and tf not in exchange.timeframes:
            raise ExchangeError(f"{exchange_id} has no {tf} bars", venue=exchange_id)
        since_ms = _to_utc_ms(since)
        assert since_ms is not None
        since_ms = -(-since_ms // step_ms) * step_ms  # first bar open at or after `since`
        now_ms = exchange.milliseconds()
        end_ms = min(_to_utc_ms(until) or now_ms, now_ms // step_ms * step_ms)
        last = store.last_timestamp(source, symbol, tf)
        resumed = last is not None and _to_utc_ms(last) + step_ms > since_ms
        cursor = max(since_ms, _to_utc_ms(last) + step_ms) if resumed else since_ms
        start_cursor = cursor
        fetched = added = 0
        buffer: list[pd.DataFrame] = []
        buffered = 0
        total_bars = max((end_ms - cursor) // step_ms, 0)
        with Progress(
            TextColumn(f"{exchange_id} {symbol} {tf}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=console is None,
            transient=True,
        ) as bar:
            task = bar.add_task("download", total=total_bars)
            while cursor < end_ms:
                window_end = min(cursor + limit * step_ms, end_ms)

                def fetch(c: int = cursor, w: int = window_end) -> Awaitable[Any]:
                    return exchange.fetch_ohlcv(symbol, tf, c, limit, {"until": w - 1})

                rows = await _with_retries(fetch, max_retries, backoff, counter)
                requests += 1
                page = _frame(rows) if rows else pd.DataFrame()
                if len(page):
                    ms = page.index.as_unit("ms").asi8
                    page = page[(ms >= cursor) & (ms < window_end)]
                if len(page):
                    try:
                        validate_ohlcv(page)
                    except DataValidationError as exc:
                        raise DataValidationError(
                            f"{exchange_id} returned invalid bars: {exc}"
                        ) from exc
                    buffer.append(page)
                    buffered += len(page)
                    fetched += len(page)
                    cursor = int(page.index[-1].value // 1_000_000) + step_ms
                else:
                    cursor = window_end
                if buffered >= flush_rows:
                    result = store.write(pd.concat(buffer), source, symbol, tf)
                    added += result.added
                    buffer, buffered = [], 0
                bar.update(task, completed=min((cursor - start_cursor) // step_ms, total_bars))
        if buffer:
            result = store.write(pd.concat(buffer), source, symbol, tf)
            added += result.added
        total = store.row_count(source, symbol, tf)
    except ccxt.BaseError as exc:
        raise ExchangeError(f"{exchange_id} error: {exc}", venue=exchange_id) from exc
    finally:
        await exchange.close()
    return DownloadResult(
        exchange=exchange_id,
        symbol=symbol,
        timeframe=tf,
        start=pd.Timestamp(start_cursor, unit="ms", tz="UTC"),
        end=pd.Timestamp(end_ms, unit="ms", tz="UTC"),
        resumed=resumed,
        requests=requests,
        retries=counter[0],
        fetched=fetched,
        added=added,
        total_stored=total,
    )
