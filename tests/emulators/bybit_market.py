"""A local emulator of Bybit v5 PUBLIC market endpoints, as ccxt 4.5.90 calls them.

Endpoints (see ``/work/shared/EXCHANGES.md`` §1-3 and the v5 docs):

* ``GET /v5/market/instruments-info?category=spot|linear[&limit][&status=PreLaunch]`` —
  the registered instruments; ``status=PreLaunch`` answers ``[]`` (otherwise ccxt lists each
  market twice); ``nextPageCursor`` is ``""`` (one page).
* ``GET /v5/market/kline?category&symbol&interval&start&end&limit`` — the newest ``limit``
  (default 200, max 1000) bars with ``start <= open time <= end`` (``end`` defaults to the last
  bar), **newest first**, every field a string: ``[start, open, high, low, close, volume,
  turnover]``. This is Bybit's documented behaviour; clients that send only ``start`` get the
  most recent bars, not the ones right after ``start``.
* ``GET /v5/market/tickers?category&symbol`` — built from the last bar.
* ``GET /v5/market/time``.

Fault injection: :meth:`BybitMarketState.inject` makes the next ``k`` requests answer with an
HTML ``502 Bad Gateway`` page (ccxt raises ``ExchangeNotAvailable``) or with retCode 10006
"Too many visits!" and HTTP 200 (ccxt raises ``RateLimitExceeded``).

Use :func:`register_market_routes` to mount these routes (and the state) on any
``aiohttp.web.Application`` — e.g. a fuller private-API emulator — or
:class:`BybitMarketServer` to run them on 127.0.0.1 on an ephemeral port in a background thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from aiohttp import web

from tests.emulators.server import start_site

STATE_KEY: web.AppKey[BybitMarketState] = web.AppKey("bybit_market_state")

# ccxt timeframe -> Bybit interval; minutes for the numeric ones.
INTERVALS: dict[str, pd.Timedelta] = {
    **{str(m): pd.Timedelta(minutes=m) for m in (1, 3, 5, 15, 30, 60, 120, 240, 360, 720)},
    "D": pd.Timedelta(days=1),
    "W": pd.Timedelta(weeks=1),
}


@dataclass
class Instrument:
    """One registered market: its category, Bybit symbol, coins and bars per interval."""

    category: str
    symbol: str
    base: str
    quote: str
    bars: dict[str, pd.DataFrame] = field(default_factory=dict)

    def info(self) -> dict:
        common = {
            "symbol": self.symbol,
            "baseCoin": self.base,
            "quoteCoin": self.quote,
            "status": "Trading",
            "lotSizeFilter": {
                "basePrecision": "0.000001",
                "quotePrecision": "0.00000001",
                "minOrderQty": "0.000048",
                "maxOrderQty": "71.73956243",
                "minOrderAmt": "1",
                "maxOrderAmt": "2000000",
                "qtyStep": "0.001",
                "minNotionalValue": "5",
            },
            "priceFilter": {"tickSize": "0.01", "minPrice": "0.10", "maxPrice": "1999999.80"},
        }
        if self.category == "linear":
            common.update(
                {
                    "contractType": "LinearPerpetual",
                    "settleCoin": self.quote,
                    "launchTime": "1585526400000",
                    "deliveryTime": "0",
                    "leverageFilter": {
                        "minLeverage": "1",
                        "maxLeverage": "100.00",
                        "leverageStep": "0.01",
                    },
                    "fundingInterval": 480,
                }
            )
        else:
            common.update({"innovation": "0", "marginTrading": "utaOnly"})
        return common


@dataclass
class BybitMarketState:
    """Instruments, bars, injected faults and a log of the requests received."""

    instruments: dict[tuple[str, str], Instrument] = field(default_factory=dict)
    faults: deque[tuple[str, str | None]] = field(default_factory=deque)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add_bars(
        self,
        category: str,
        symbol: str,
        bars: pd.DataFrame,
        interval: str = "60",
        base: str = "BTC",
        quote: str = "USDT",
    ) -> None:
        """Serve ``bars`` (an OHLCV frame with a UTC index) for ``symbol`` at ``interval``."""
        key = (category, symbol)
        inst = self.instruments.setdefault(key, Instrument(category, symbol, base, quote))
        inst.bars[interval] = bars

    def inject(self, kind: str, count: int = 1, path: str | None = None) -> None:
        """Make the next ``count`` requests (to ``path`` only, if given) fail with ``kind``.

        ``kind`` is ``"502"`` (HTML Bad Gateway page) or ``"ratelimit"`` (retCode 10006).
        """
        if kind not in ("502", "ratelimit"):
            raise ValueError(f"unknown fault {kind!r}")
        self.faults.extend([(kind, path)] * count)

    def kline_requests(self) -> list[dict[str, str]]:
        return [q for path, q in self.requests if path == "/v5/market/kline"]


def _ok(result: dict) -> web.Response:
    return web.json_response(
        {
            "retCode": 0,
            "retMsg": "OK",
            "result": result,
            "retExtInfo": {},
            "time": int(time.time() * 1000),
        }
    )


def _error(code: int, message: str) -> web.Response:
    body = {"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {}, "time": 0}
    return web.json_response(body)


@web.middleware
async def _faults_and_log(request: web.Request, handler):  # type: ignore[no-untyped-def]
    state = request.app[STATE_KEY]
    if not request.path.startswith("/v5/market/"):
        return await handler(request)
    state.requests.append((request.path, dict(request.query)))
    if state.faults and state.faults[0][1] in (None, request.path):
        kind, _ = state.faults.popleft()
        if kind == "502":
            return web.Response(
                status=502,
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )
        now = int(time.time() * 1000)
        response = _error(10006, "Too many visits!")
        response.headers.update(
            {
                "X-Bapi-Limit": "10",
                "X-Bapi-Limit-Status": "0",
                "X-Bapi-Limit-Reset-Timestamp": str(now + 1000),
            }
        )
        return response
    return await handler(request)


async def _instruments(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    category = request.query.get("category", "")
    if category not in ("spot", "linear", "inverse", "option"):
        return _error(10001, f"params error: category {category!r} invalid")
    items = []
    if request.query.get("status") != "PreLaunch":
        items = [i.info() for (cat, _), i in state.instruments.items() if cat == category]
    return _ok({"category": category, "list": items, "nextPageCursor": ""})


def _lookup(request: web.Request) -> Instrument | web.Response:
    state = request.app[STATE_KEY]
    key = (request.query.get("category", ""), request.query.get("symbol", ""))
    if key not in state.instruments:
        return _error(10001, f"params error: symbol {key[1]!r} invalid for {key[0]!r}")
    return state.instruments[key]


async def _kline(request: web.Request) -> web.Response:
    inst = _lookup(request)
    if isinstance(inst, web.Response):
        return inst
    interval = request.query.get("interval", "")
    if interval not in INTERVALS:
        return _error(10001, f"params error: interval {interval!r} invalid")
    bars = inst.bars.get(interval)
    try:
        limit = min(max(int(request.query.get("limit", "200")), 1), 1000)
        start = int(request.query["start"]) if "start" in request.query else None
        end = int(request.query["end"]) if "end" in request.query else None
    except ValueError:
        return _error(10001, "params error: start/end/limit must be integers")
    rows: list[list[str]] = []
    if bars is not None and len(bars):
        ms = bars.index.as_unit("ms").asi8
        mask = np.ones(len(ms), bool)
        if start is not None:
            mask &= ms >= start
        if end is not None:
            mask &= ms <= end
        chosen = np.flatnonzero(mask)[-limit:][::-1]
        cols = bars[["open", "high", "low", "close", "volume"]].to_numpy().tolist()
        for i in chosen:
            o, h, lo, c, v = cols[i]
            rows.append([str(ms[i]), *(repr(x) for x in (o, h, lo, c, v, v * c))])
    return _ok({"symbol": inst.symbol, "category": inst.category, "list": rows})


async def _tickers(request: web.Request) -> web.Response:
    inst = _lookup(request)
    if isinstance(inst, web.Response):
        return inst
    bars = next(iter(inst.bars.values()))
    last = bars.iloc[-1].astype(float).to_dict()
    day = bars.iloc[-24:]
    item = {
        "symbol": inst.symbol,
        "lastPrice": repr(last["close"]),
        "bid1Price": repr(last["close"] * 0.9999),
        "bid1Size": "1.5",
        "ask1Price": repr(last["close"] * 1.0001),
        "ask1Size": "1.2",
        "prevPrice24h": repr(float(day["open"].iloc[0])),
        "price24hPcnt": repr(float(last["close"] / day["open"].iloc[0] - 1)),
        "highPrice24h": repr(float(day["high"].max())),
        "lowPrice24h": repr(float(day["low"].min())),
        "volume24h": repr(float(day["volume"].sum())),
        "turnover24h": repr(float((day["volume"] * day["close"]).sum())),
    }
    return _ok({"category": inst.category, "list": [item]})


async def _time(_: web.Request) -> web.Response:
    now = time.time_ns()
    return _ok({"timeSecond": str(now // 10**9), "timeNano": str(now)})


def register_market_routes(app: web.Application, state: BybitMarketState | None = None) -> None:
    """Mount the public market routes, their fault/log middleware and ``state`` on ``app``.

    Call before the app is started. The state is reachable as ``app[STATE_KEY]``.
    """
    app[STATE_KEY] = state if state is not None else BybitMarketState()
    app.middlewares.append(_faults_and_log)
    app.router.add_get("/v5/market/instruments-info", _instruments)
    app.router.add_get("/v5/market/kline", _kline)
    app.router.add_get("/v5/market/tickers", _tickers)
    app.router.add_get("/v5/market/time", _time)


class BybitMarketServer:
    """Run the market emulator in a background thread (``with BybitMarketServer() as srv``).

    ``srv.url`` is the base URL to give ccxt; ``srv.state`` the :class:`BybitMarketState`.
    """

    def __init__(self, state: BybitMarketState | None = None) -> None:
        self.state = state if state is not None else BybitMarketState()
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> BybitMarketServer:
        self._thread.start()
        app = web.Application()
        register_market_routes(app, self.state)
        future = asyncio.run_coroutine_threadsafe(start_site(app), self._loop)
        self._runner, self.url = future.result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
