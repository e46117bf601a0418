"""ccxt itself downloads from the local Bybit v5 market emulator: pagination, resume, faults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from crypto_strategy_lab.core.errors import ExchangeError, ExchangeUnavailable, RateLimitExceeded
from crypto_strategy_lab.data.sources.ccxt_source import download_ohlcv
from crypto_strategy_lab.data.store import DataStore
from tests.conftest import make_random_walk_bars
from tests.emulators.bybit_market import BybitMarketServer

KLINE = "/v5/market/kline"
BARS = make_random_walk_bars(2_500, seed=11, freq="1h")
UNTIL = BARS.index[-1] + pd.Timedelta("1h")


@pytest.fixture
def server() -> Iterator[BybitMarketServer]:
    with BybitMarketServer() as srv:
        srv.state.add_bars("spot", "BTCUSDT", BARS, "60")
        srv.state.add_bars("linear", "BTCUSDT", BARS * 1.001, "60")
        yield srv


@pytest.fixture
def store(tmp_path: Path) -> DataStore:
    return DataStore(tmp_path)


async def _download(server: BybitMarketServer, store: DataStore, **kw: object):  # type: ignore[no-untyped-def]
    args = {"since": "2024-01-01", "until": UNTIL, "limit": 200, "backoff": 0.01}
    args.update(kw)
    symbol = args.pop("symbol", "BTC/USDT")
    return await download_ohlcv(store, "bybit", symbol, "1h", base_url=server.url, **args)


async def test_paginates_over_many_pages(server: BybitMarketServer, store: DataStore) -> None:
    result = await _download(server, store)
    assert (result.requests, result.fetched, result.added, result.total_stored) == (
        13,
        2_500,
        2_500,
        2_500,
    )
    pd.testing.assert_frame_equal(store.read("bybit", "BTC/USDT", "1h"), BARS, check_freq=False)
    starts = [int(q["start"]) for q in server.state.kline_requests()]
    assert starts == sorted(starts) and len(set(starts)) == 13
    first = server.state.kline_requests()[0]
    assert first["category"] == "spot" and first["interval"] == "60" and first["limit"] == "200"
    # Each request bounds its window with `end`, so Bybit's newest-first slicing cannot skip bars.
    assert int(first["end"]) == int(first["start"]) + 200 * 3_600_000 - 1


async def test_linear_perpetual_uses_linear_category(
    server: BybitMarketServer, store: DataStore
) -> None:
    await _download(server, store, symbol="BTC/USDT:USDT", until=BARS.index[99])
    assert server.state.kline_requests()[0]["category"] == "linear"
    got = store.read("bybit", "BTC/USDT:USDT", "1h")
    assert len(got) == 99 and got["close"].iloc[0] == pytest.approx(BARS["close"].iloc[0] * 1.001)


async def test_resumes_from_last_stored_bar(server: BybitMarketServer, store: DataStore) -> None:
    store.write(BARS.iloc[:1_234], "bybit", "BTC/USDT", "1h")
    result = await _download(server, store)
    assert result.resumed and result.fetched == 2_500 - 1_234 and result.added == 1_266
    first_start = int(server.state.kline_requests()[0]["start"])
    assert pd.Timestamp(first_start, unit="ms", tz="UTC") == BARS.index[1_234]
    pd.testing.assert_frame_equal(store.read("bybit", "BTC/USDT", "1h"), BARS, check_freq=False)
    again = await _download(server, store)
    assert (again.requests, again.added, again.total_stored) == (0, 0, 2_500)


async def test_rate_limit_is_retried_with_backoff(
    server: BybitMarketServer, store: DataStore
) -> None:
    server.state.inject("ratelimit", 2, path=KLINE)
    result = await _download(server, store)
    assert result.retries == 2 and result.total_stored == 2_500


async def test_bad_gateway_is_retried(server: BybitMarketServer, store: DataStore) -> None:
    server.state.inject("502", 1, path=KLINE)
    result = await _download(server, store)
    assert result.retries == 1 and result.total_stored == 2_500


async def test_rate_limit_gives_clear_error_after_retries(
    server: BybitMarketServer, store: DataStore
) -> None:
    store.write(BARS.iloc[:10], "bybit", "BTC/USDT", "1h")
    before = store.path_for("bybit", "BTC/USDT", "1h").read_bytes()
    server.state.inject("ratelimit", 10, path=KLINE)
    with pytest.raises(RateLimitExceeded, match="gave up after 3 retries"):
        await _download(server, store, max_retries=3)
    assert store.path_for("bybit", "BTC/USDT", "1h").read_bytes() == before
    server.state.faults.clear()
    server.state.inject("502", 10, path=KLINE)
    with pytest.raises(ExchangeUnavailable, match="gave up after 1 retries"):
        await _download(server, store, max_retries=1)


async def test_unknown_symbol_is_a_clear_error(server: BybitMarketServer, store: DataStore) -> None:
    with pytest.raises(ExchangeError, match="unknown symbol 'DOGE/USDT' on bybit"):
        await _download(server, store, symbol="DOGE/USDT")
    assert store.list() == []
