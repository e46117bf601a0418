"""alpaca-py's StockHistoricalDataClient against a local server that pages by next_page_token."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest
from aiohttp import web

from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.data.sources.alpaca_source import download_stock_bars, fetch_stock_bars
from crypto_strategy_lab.data.store import DataStore
from tests.conftest import make_random_walk_bars
from tests.emulators.server import start_site

BARS = make_random_walk_bars(25, seed=2, freq="1D")


def _app(seen: list[dict[str, str]]) -> web.Application:
    async def bars(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        page = int(request.query.get("page_token", "0"))
        chunk = BARS.iloc[page * 10 : page * 10 + 10]
        items = [
            {"t": t.isoformat().replace("+00:00", "Z"), "o": r.open, "h": r.high, "l": r.low,
             "c": r.close, "v": r.volume, "n": 10, "vw": r.close}
            for t, r in chunk.iterrows()
        ]  # fmt: skip
        token = str(page + 1) if page * 10 + 10 < len(BARS) else None
        return web.json_response({"bars": {"AAPL": items}, "next_page_token": token})

    app = web.Application()
    app.router.add_get("/v2/stocks/bars", bars)
    return app


async def test_pages_through_next_page_token(tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []
    runner, url = await start_site(_app(seen))
    try:
        store = DataStore(tmp_path)
        result = await asyncio.to_thread(
            download_stock_bars, store, "AAPL", "1d", "2024-01-01",
            api_key="k", secret_key="s", url_override=url,
        )  # fmt: skip
        assert result.added == 25 and len(seen) == 3
        assert [q.get("page_token") for q in seen] == [None, "1", "2"]
        assert seen[0]["timeframe"] == "1Day" and seen[0]["symbols"] == "AAPL"
        got = store.read("alpaca", "AAPL", "1d")
        pd.testing.assert_frame_equal(got, BARS, check_freq=False)
        with pytest.raises(ExchangeError, match="no 4h bars"):
            fetch_stock_bars("AAPL", "4h", "2024-01-01", api_key="k", secret_key="s")
    finally:
        await runner.cleanup()
