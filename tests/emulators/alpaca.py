"""An Alpaca REST emulator on 127.0.0.1 for driving alpaca-py end to end.

Trading API v2 subset: ``APCA-API-KEY-ID``/``APCA-API-SECRET-KEY`` header check (401
``{"code":40110000}``), ``/v2/account``, ``/v2/clock`` (open or closed, settable),
``/v2/assets/{symbol}``, orders (market, limit, stop, stop-limit, bracket and OTO with
``legs``; idempotent by ``client_order_id``: 422 ``client_order_id must be unique``),
``/v2/orders:by_client_order_id``, cancel (204, 422 when no longer cancelable, 207 for
cancel-all), positions (404 when flat, 207 for close-all); market data:
``/v2/stocks/bars``, ``/v2/stocks/quotes/latest``, ``/v2/stocks/trades/latest``.

Fills happen at the emulator's price (set with :meth:`AlpacaEmulator.set_price`, which also
works resting limits, stops and bracket legs: when one leg fills the other is cancelled);
with ``fill_at_once`` off, market orders are acknowledged and fill at
:meth:`AlpacaEmulator.fill_queued`.
Rate limit: 200 requests per rolling minute (divide the window with ``rate_limit_scale``),
answered with HTTP 429. Fault injection: :class:`tests.emulators.faults.Faults`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from aiohttp import web

from tests.emulators.faults import Faults, deliver, fault_reply
from tests.emulators.server import LocalServer

D0 = Decimal(0)
ASSETS = {
    "AAPL": {"fractionable": True, "exchange": "NASDAQ"},
    "SPY": {"fractionable": True, "exchange": "ARCA"},
    "BRK.A": {"fractionable": False, "exchange": "NYSE"},
}
BODY = web.RequestKey("json", dict)
OPEN_STATES = ("new", "accepted", "held", "partially_filled")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


class AlpacaError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        self.status, self.code, self.message = status, code, message


class AlpacaEmulator(LocalServer):
    """Run with ``async with AlpacaEmulator() as emu: emu.base_url``."""

    def __init__(
        self,
        *,
        api_key: str = "emu-alpaca-key",
        api_secret: str = "emu-alpaca-secret",
        cash: str = "100000",
        prices: dict[str, str] | None = None,
        market_open: bool = True,
        rate_limit_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self._arrival_clock = clock  # arrival times for the rate limit (tests.emulators.clock)
        self.cash = Decimal(cash)
        self.prices = {
            k: Decimal(v)
            for k, v in (prices or {"AAPL": "200", "SPY": "500", "BRK.A": "600000"}).items()
        }
        self.market_open = market_open
        # Alpaca acknowledges an order before it fills; off, market orders wait for
        # fill_queued() (two orders sent before either fills)
        self.fill_at_once = True
        self.window = 60.0 / rate_limit_scale
        self.faults = Faults()
        self.orders: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, dict[str, Decimal]] = {}
        self.requests: list[dict[str, Any]] = []
        self.rate_limited = 0
        self._parent: dict[str, str] = {}
        self._hits: deque[float] = deque()
        self.arrival_times: list[float] = []
        self.bars: dict[str, pd.DataFrame] = {}  # served by /v2/stocks/bars when set

    # ---- lifecycle ----
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/v2/account", self._account)
        r.add_get("/v2/clock", self._clock)
        r.add_get("/v2/assets/{symbol}", self._asset)
        r.add_post("/v2/orders", self._submit)
        r.add_get("/v2/orders", self._list_orders)
        r.add_delete("/v2/orders", self._cancel_all)
        r.add_get("/v2/orders:by_client_order_id", self._by_client_id)
        r.add_get("/v2/orders/{order_id}", self._get_order)
        r.add_delete("/v2/orders/{order_id}", self._cancel)
        r.add_get("/v2/positions", self._positions)
        r.add_delete("/v2/positions", self._close_all)
        r.add_get("/v2/positions/{symbol}", self._position)
        r.add_delete("/v2/positions/{symbol}", self._close_position)
        r.add_get("/v2/stocks/bars", self._bars)
        r.add_get("/v2/stocks/quotes/latest", self._quotes)
        r.add_get("/v2/stocks/trades/latest", self._trades)
        return app

    # ---- plumbing ----
    @staticmethod
    def _json(data: Any, status: int = 200) -> web.Response:
        return web.json_response(data, status=status)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        arrived = self._arrival_clock()
        self.arrival_times.append(arrived)
        body = await request.text()
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.rel_url.raw_query_string,
                "body": body,
                "headers": dict(request.headers),
            }
        )
        fault = self.faults.take(request.path)
        replaced = fault_reply(fault, lambda _kind: self._rate_limit_reply())
        if replaced is not None:
            return replaced
        if (
            request.headers.get("APCA-API-KEY-ID") != self.api_key
            or request.headers.get("APCA-API-SECRET-KEY") != self.api_secret
        ):
            return self._json({"code": 40110000, "message": "request is not authorized"}, 401)
        now = arrived
        while self._hits and now - self._hits[0] >= self.window:
            self._hits.popleft()
        if len(self._hits) >= 200:
            return self._rate_limit_reply()
        self._hits.append(now)
        request[BODY] = json.loads(body) if body else {}
        try:
            response = await handler(request)
        except AlpacaError as exc:
            response = self._json({"code": exc.code, "message": exc.message}, exc.status)
        return await deliver(fault, request, response)

    def _rate_limit_reply(self) -> web.Response:
        self.rate_limited += 1
        return self._json({"code": 42910000, "message": "rate limit exceeded"}, 429)

    # ---- account, clock, assets ----
    async def _account(self, request: web.Request) -> web.Response:
        equity = self.cash + sum((p["qty"] * self.prices[s] for s, p in self.positions.items()), D0)
        return self._json(
            {
                "id": "3f1d5d1e-6a7b-4c5d-9e8f-0a1b2c3d4e5f",
                "account_number": "PA3EMU000001",
                "status": "ACTIVE",
                "currency": "USD",
                "cash": _num(self.cash),
                "buying_power": _num(self.cash),
                "equity": _num(equity),
                "portfolio_value": _num(equity),
                "pattern_day_trader": False,
                "trading_blocked": False,
                "transfers_blocked": False,
                "account_blocked": False,
                "shorting_enabled": True,
                "multiplier": "1",
                "created_at": "2024-01-02T00:00:00Z",
            }
        )

    async def _clock(self, request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        return self._json(
            {
                "timestamp": now.isoformat(),
                "is_open": self.market_open,
                "next_open": (now + timedelta(hours=12)).isoformat(),
                "next_close": (now + timedelta(hours=3)).isoformat(),
            }
        )

    async def _asset(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        spec = ASSETS.get(symbol)
        if spec is None:
            raise AlpacaError(404, 40410000, "asset not found")
        return self._json(
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
                "class": "us_equity",
                "exchange": spec["exchange"],
                "symbol": symbol,
                "name": symbol,
                "status": "active",
                "tradable": True,
                "marginable": True,
                "shortable": True,
                "easy_to_borrow": True,
                "fractionable": spec["fractionable"],
            }
        )

    # ---- orders ----
    def _order(self, p: dict[str, Any], **overrides: Any) -> dict[str, Any]:
        now = _now()
        order = {
            "id": str(uuid.uuid4()),
            "client_order_id": p.get("client_order_id") or str(uuid.uuid4()),
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, p["symbol"])),
            "symbol": p["symbol"],
            "asset_class": "us_equity",
            "notional": None,
            "qty": str(p["qty"]),
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": p.get("order_class") or "simple",
            "order_type": p["type"],
            "type": p["type"],
            "side": p["side"],
            "time_in_force": p["time_in_force"],
            "limit_price": None if p.get("limit_price") is None else str(p["limit_price"]),
            "stop_price": None if p.get("stop_price") is None else str(p["stop_price"]),
            "status": "accepted",
            "extended_hours": bool(p.get("extended_hours")),
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
        }
        order.update(overrides)
        return order

    def _check(self, p: dict[str, Any]) -> None:
        symbol = p.get("symbol")
        if symbol not in ASSETS:
            raise AlpacaError(422, 40010001, f"asset {symbol} not found")
        cid = p.get("client_order_id")
        if cid and any(o["client_order_id"] == cid for o in self.orders.values()):
            raise AlpacaError(422, 40010001, "client_order_id must be unique")
        qty = Decimal(str(p.get("qty", "0")))
        if qty <= 0:
            raise AlpacaError(422, 40010001, "qty must be > 0")
        if qty != qty.to_integral_value():
            if not ASSETS[symbol]["fractionable"]:
                raise AlpacaError(422, 40010001, "asset is not fractionable")
            if p.get("time_in_force") != "day" or p.get("order_class") not in (None, "simple"):
                raise AlpacaError(422, 40010001, "fractional orders must be simple DAY orders")
        if p.get("order_class") == "bracket" and not (p.get("take_profit") and p.get("stop_loss")):
            raise AlpacaError(422, 40010001, "bracket orders require take_profit and stop_loss")
        price = Decimal(str(p.get("limit_price") or self.prices[symbol]))
        held = self.positions.get(symbol, {}).get("qty", D0)
        if p["side"] == "buy" and qty * price > self.cash:
            raise AlpacaError(403, 40310000, "insufficient buying power")
        if p["side"] == "sell" and qty > held and qty != qty.to_integral_value():
            raise AlpacaError(403, 40310000, "insufficient qty available for order")

    async def _submit(self, request: web.Request) -> web.Response:
        p = request[BODY]
        self._check(p)
        order = self._order(p)
        if p.get("order_class") in ("bracket", "oto"):
            exit_side = "sell" if p["side"] == "buy" else "buy"
            legs = []
            if p.get("take_profit"):
                legs.append(
                    self._order(
                        {
                            "symbol": p["symbol"],
                            "qty": p["qty"],
                            "side": exit_side,
                            "type": "limit",
                            "time_in_force": p["time_in_force"],
                            "limit_price": p["take_profit"]["limit_price"],
                            "order_class": p["order_class"],
                        },
                        status="held",
                    )
                )
            if p.get("stop_loss"):
                legs.append(
                    self._order(
                        {
                            "symbol": p["symbol"],
                            "qty": p["qty"],
                            "side": exit_side,
                            "type": "stop",
                            "time_in_force": p["time_in_force"],
                            "stop_price": p["stop_loss"]["stop_price"],
                            "limit_price": p["stop_loss"].get("limit_price"),
                            "order_class": p["order_class"],
                        },
                        status="held",
                    )
                )
            for leg in legs:
                self.orders[leg["id"]] = leg
                self._parent[leg["id"]] = order["id"]
            order["legs"] = [leg["id"] for leg in legs]
        self.orders[order["id"]] = order
        self._work(order)
        return self._json(self._view(order))

    def _view(self, order: dict[str, Any]) -> dict[str, Any]:
        view = dict(order)
        if order["legs"] is not None:
            view["legs"] = [self._view(self.orders[i]) for i in order["legs"]]
        return view

    def _work(self, order: dict[str, Any]) -> None:
        """Fill, trigger or leave one order at the current price."""
        if order["status"] not in ("new", "accepted"):
            return
        price = self.prices[order["symbol"]]
        buy = order["side"] == "buy"
        if order["type"] in ("stop", "stop_limit"):
            stop = Decimal(order["stop_price"])
            if not (price >= stop if buy else price <= stop):
                order["status"] = "new"
                return
            if order["type"] == "stop":
                self._fill(order, price)
                return
        if order["type"] == "market":
            if not self.fill_at_once:  # acknowledged now, filled at fill_queued()
                order["status"] = "accepted"
                return
            self._fill(order, price)
            return
        limit = Decimal(order["limit_price"])
        if price <= limit if buy else price >= limit:
            self._fill(order, price)
        else:
            order["status"] = "new"

    def _fill(self, order: dict[str, Any], price: Decimal) -> None:
        qty = Decimal(order["qty"])
        sign = 1 if order["side"] == "buy" else -1
        self.cash -= sign * qty * price
        pos = self.positions.setdefault(order["symbol"], {"qty": D0, "avg": D0})
        old = pos["qty"]
        new = old + sign * qty
        if old == 0 or (old > 0) == (sign > 0):
            pos["avg"] = (abs(old) * pos["avg"] + qty * price) / abs(new)
        elif new != 0 and (new > 0) != (old > 0):
            pos["avg"] = price
        pos["qty"] = new
        if new == 0:
            del self.positions[order["symbol"]]
        now = _now()
        order.update(
            status="filled",
            filled_qty=order["qty"],
            filled_avg_price=_num(price),
            filled_at=now,
            updated_at=now,
        )
        for parent in self.orders.values():
            if parent["legs"] and order["id"] in parent["legs"]:
                for other in parent["legs"]:  # one-cancels-other between the exit legs
                    if other != order["id"] and self.orders[other]["status"] in OPEN_STATES:
                        self.orders[other].update(status="canceled", canceled_at=now)
        if order["legs"]:
            legs = [self.orders[i] for i in order["legs"]]
            for leg in legs:
                leg["status"] = "new" if leg["type"] == "limit" else "held"
            if len(legs) == 1:
                legs[0]["status"] = "new"

    def fill_queued(self) -> None:
        """Fill the market orders acknowledged while ``fill_at_once`` was off, in order."""
        self.fill_at_once = True
        for order in list(self.orders.values()):
            if order["type"] == "market" and order["status"] == "accepted":
                self._work(order)

    def set_price(self, symbol: str, price: str | Decimal) -> None:
        """Move the market; works resting orders and live bracket legs."""
        self.prices[symbol] = Decimal(price)
        for order in list(self.orders.values()):
            if order["symbol"] != symbol or order["status"] not in ("new", "held"):
                continue
            if order["status"] == "held":
                # a held stop leg becomes live only while its take-profit sibling works
                parent = self.orders[self._parent.get(order["id"], order["id"])]
                if order["type"] != "stop" or parent["status"] != "filled":
                    continue
                order["status"] = "new"
                self._work(order)
                if order["status"] != "filled":
                    order["status"] = "held"
                continue
            self._work(order)

    async def _list_orders(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "open")
        symbols = set(filter(None, request.query.get("symbols", "").split(",")))
        leg_ids = {i for o in self.orders.values() for i in (o["legs"] or [])}
        items = []
        for order in self.orders.values():
            if order["id"] in leg_ids:
                continue
            is_open = order["status"] in OPEN_STATES
            if (status == "open" and not is_open) or (status == "closed" and is_open):
                continue
            if symbols and order["symbol"] not in symbols:
                continue
            items.append(self._view(order))
        return self._json(items)

    def _find(self, order_id: str) -> dict[str, Any]:
        order = self.orders.get(order_id)
        if order is None:
            raise AlpacaError(404, 40410000, "order not found")
        return order

    async def _get_order(self, request: web.Request) -> web.Response:
        return self._json(self._view(self._find(request.match_info["order_id"])))

    async def _by_client_id(self, request: web.Request) -> web.Response:
        cid = request.query.get("client_order_id", "")
        for order in self.orders.values():
            if order["client_order_id"] == cid:
                return self._json(self._view(order))
        raise AlpacaError(404, 40410000, "order not found")

    def _cancel_one(self, order: dict[str, Any]) -> None:
        if order["status"] not in OPEN_STATES:
            raise AlpacaError(422, 42210000, f'order is already in "{order["status"]}" state')
        now = _now()
        order.update(status="canceled", canceled_at=now, updated_at=now)
        for leg in order["legs"] or []:
            if self.orders[leg]["status"] in OPEN_STATES:
                self.orders[leg].update(status="canceled", canceled_at=now)

    async def _cancel(self, request: web.Request) -> web.Response:
        self._cancel_one(self._find(request.match_info["order_id"]))
        return web.Response(status=204)

    async def _cancel_all(self, request: web.Request) -> web.Response:
        replies = []
        for order in list(self.orders.values()):
            if order["status"] in OPEN_STATES:
                self._cancel_one(order)
                replies.append({"id": order["id"], "status": 200, "body": self._view(order)})
        return self._json(replies, 207)

    # ---- positions ----
    def _position_view(self, symbol: str) -> dict[str, Any]:
        pos = self.positions[symbol]
        price = self.prices[symbol]
        qty = pos["qty"]
        return {
            "asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)),
            "symbol": symbol,
            "exchange": ASSETS[symbol]["exchange"],
            "asset_class": "us_equity",
            "avg_entry_price": _num(pos["avg"]),
            "qty": _num(abs(qty)),
            "qty_available": _num(abs(qty)),
            "side": "long" if qty > 0 else "short",
            "market_value": _num(qty * price),
            "cost_basis": _num(qty * pos["avg"]),
            "unrealized_pl": _num(qty * (price - pos["avg"])),
            "current_price": _num(price),
        }

    async def _positions(self, request: web.Request) -> web.Response:
        return self._json([self._position_view(s) for s in self.positions])

    async def _position(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        if symbol not in self.positions:
            raise AlpacaError(404, 40410000, "position does not exist")
        return self._json(self._position_view(symbol))

    def _close(self, symbol: str) -> dict[str, Any]:
        qty = self.positions[symbol]["qty"]
        order = self._order(
            {
                "symbol": symbol,
                "qty": _num(abs(qty)),
                "type": "market",
                "side": "sell" if qty > 0 else "buy",
                "time_in_force": "day",
            }
        )
        self.orders[order["id"]] = order
        self._work(order)
        return order

    async def _close_position(self, request: web.Request) -> web.Response:
        symbol = request.match_info["symbol"]
        if symbol not in self.positions:
            raise AlpacaError(404, 40410000, "position does not exist")
        return self._json(self._view(self._close(symbol)))

    async def _close_all(self, request: web.Request) -> web.Response:
        replies = [
            {"symbol": s, "status": 200, "body": self._view(self._close(s))}
            for s in list(self.positions)
        ]
        return self._json(replies, 207)

    # ---- market data ----
    def _symbols(self, request: web.Request) -> list[str]:
        return [s for s in request.query.get("symbols", "").split(",") if s in self.prices]

    async def _quotes(self, request: web.Request) -> web.Response:
        quotes = {
            s: {
                "t": _now(),
                "bp": float(self.prices[s] - Decimal("0.01")),
                "bs": 3,
                "ap": float(self.prices[s] + Decimal("0.01")),
                "as": 2,
                "bx": "V",
                "ax": "V",
                "c": ["R"],
                "z": "C",
            }
            for s in self._symbols(request)
        }
        return self._json({"quotes": quotes})

    async def _trades(self, request: web.Request) -> web.Response:
        trades = {
            s: {
                "t": _now(),
                "p": float(self.prices[s]),
                "s": 100,
                "x": "V",
                "i": 1,
                "c": ["@"],
                "z": "C",
            }
            for s in self._symbols(request)
        }
        return self._json({"trades": trades})

    async def _bars(self, request: web.Request) -> web.Response:
        """The bars a test set in :attr:`bars` (from ``start``, ``limit`` of them in ``sort``
        order, as Alpaca counts them), else deterministic daily bars around the price."""
        limit = int(request.query.get("limit") or 10)
        bars: dict[str, list[dict[str, Any]]] = {}
        if any(s in self.bars for s in self._symbols(request)):
            start = pd.Timestamp(request.query.get("start", "1970-01-01T00:00:00Z"))
            for symbol in self._symbols(request):
                frame = self.bars.get(symbol)
                if frame is None:
                    continue
                frame = frame[frame.index >= start]
                if request.query.get("sort") == "desc":
                    frame = frame.iloc[::-1]
                bars[symbol] = [
                    {
                        "t": t.isoformat().replace("+00:00", "Z"),
                        "o": r.open,
                        "h": r.high,
                        "l": r.low,
                        "c": r.close,
                        "v": r.volume,
                        "n": 10,
                        "vw": (r.open + r.close) / 2,
                    }
                    for t, r in frame.iloc[:limit].iterrows()
                ]
            return self._json({"bars": bars, "next_page_token": None})
        start = datetime(2024, 1, 2, 5, tzinfo=UTC)
        for symbol in self._symbols(request):
            price = float(self.prices[symbol])
            rows = []
            for i in range(limit):
                o = price * (1 + ((i % 7) - 3) / 1000)
                c = price * (1 + ((i % 5) - 2) / 1000)
                rows.append(
                    {
                        "t": (start + timedelta(days=i)).isoformat().replace("+00:00", "Z"),
                        "o": o,
                        "h": max(o, c) * 1.001,
                        "l": min(o, c) * 0.999,
                        "c": c,
                        "v": 1000 + i,
                        "n": 10,
                        "vw": (o + c) / 2,
                    }
                )
            bars[symbol] = rows[::-1] if request.query.get("sort") == "desc" else rows
        return self._json({"bars": bars, "next_page_token": None})
