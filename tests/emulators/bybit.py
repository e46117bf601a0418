"""A Bybit v5 REST emulator on 127.0.0.1 for driving ccxt end to end.

What it speaks (the subset our exchange layer uses; wire facts from EXCHANGES.md):

* signed private endpoints: HMAC-SHA256 over ``timestamp + key + recv_window + payload``
  with the raw query string (GET) or raw body (POST), the recv-window rule
  ``server_time - recv_window <= ts < server_time + 1000`` (10002), unknown key (10003),
  bad signature (10004);
* ``/v5/order/create|cancel|cancel-all``, ``/v5/order/realtime|history``,
  ``/v5/position/list``, ``/v5/position/set-leverage``, ``/v5/account/wallet-balance``,
  ``/v5/execution/list``;
* public market endpoints (``instruments-info``, ``tickers``, ``kline``, ``time``) mounted
  from :mod:`tests.emulators.bybit_market` (hourly random-walk bars ending at each price);
* a unified account: USDT wallet, spot coin balances, linear positions with margin,
  resting limit orders, untriggered stop orders, attached stop-loss/take-profit, fills;
* orders idempotent by ``orderLinkId`` (110072 linear / 170141 spot);
* the per-UID rolling-window rate limits (10006, with ``X-Bapi-Limit*`` headers),
  scalable with ``rate_limit_scale`` (windows divided by it);
* fault injection (:class:`Faults`): the next k requests answer 502 with an HTML body,
  a rate-limit reply (10006 or HTTP 429), or *execute and drop the response*.

Prices move only when a test calls :meth:`BybitEmulator.set_price`, which also triggers
stops, fills marketable resting limits and fires position stop-loss/take-profit.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from decimal import Decimal
from typing import Any

from aiohttp import web

from tests.conftest import make_random_walk_bars
from tests.emulators.bybit_market import BybitMarketState, register_market_routes
from tests.emulators.faults import Faults, deliver, fault_reply
from tests.emulators.server import LocalServer

D0 = Decimal(0)
SPOT_FEE = Decimal("0.001")
LINEAR_FEE = Decimal("0.00055")

# Per-UID limits, rolling 1 s (EXCHANGES.md §9): (path, category) -> requests per window.
RATE_LIMITS = {
    ("/v5/order/create", "linear"): 10,
    ("/v5/order/create", "spot"): 20,
    ("/v5/order/cancel", "linear"): 10,
    ("/v5/order/cancel", "spot"): 20,
    ("/v5/order/cancel-all", "linear"): 10,
    ("/v5/order/cancel-all", "spot"): 20,
    ("/v5/position/set-leverage", ""): 10,
}
QUERY_LIMIT = 50
PARAMS = web.RequestKey("params", dict)


def sign(secret: str, timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    """Bybit v5 signature: ``hex(HMAC_SHA256(secret, ts + key + recv_window + payload))``."""
    message = (timestamp + api_key + recv_window + payload).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _s(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


class BybitError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        self.code, self.msg = code, msg


class BybitEmulator(LocalServer):
    """Run with ``async with BybitEmulator() as emu: emu.base_url``."""

    def __init__(
        self,
        *,
        api_key: str = "emu-bybit-key",
        api_secret: str = "emu-bybit-secret",
        usdt: str = "100000",
        prices: dict[str, str] | None = None,
        rate_limit_scale: float = 1.0,
        enforce_rate_limits: bool = True,
    ) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self.prices = {
            k: Decimal(v) for k, v in (prices or {"BTCUSDT": "50000", "ETHUSDT": "3000"}).items()
        }
        self.window = 1.0 / rate_limit_scale
        self.market = BybitMarketState()
        for seed, (symbol, price) in enumerate(self.prices.items()):
            bars = self._bars_ending_at(price, seed)
            for category in ("linear", "spot"):
                self.market.add_bars(
                    category, symbol, bars.copy(), "60", base=symbol.removesuffix("USDT")
                )
        self.enforce_rate_limits = enforce_rate_limits
        # Bybit charges spot buy fees in the coin bought; off, in USDT (simpler arithmetic)
        self.spot_buy_fee_in_base = False
        self.faults = Faults()
        self.wallet: dict[str, Decimal] = defaultdict(lambda: D0, {"USDT": Decimal(usdt)})
        self.orders: dict[str, dict[str, Any]] = {}
        self.link_ids: dict[tuple[str, str], str] = {}
        self.positions: dict[str, dict[str, Any]] = {}
        self.leverage: dict[str, Decimal] = defaultdict(lambda: Decimal(10))
        self.executions: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.rate_limited = 0
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._ids = itertools.count(1)

    # ---- lifecycle ----
    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        register_market_routes(app, self.market)
        for path, handler in {
            "/v5/order/create": self._create,
            "/v5/order/cancel": self._cancel,
            "/v5/order/cancel-all": self._cancel_all,
            "/v5/position/set-leverage": self._set_leverage,
        }.items():
            app.router.add_post(path, handler)
        for path, handler in {
            "/v5/order/realtime": self._realtime,
            "/v5/order/history": self._history,
            "/v5/position/list": self._position_list,
            "/v5/account/wallet-balance": self._wallet_balance,
            "/v5/execution/list": self._execution_list,
        }.items():
            app.router.add_get(path, handler)
        return app

    # ---- envelope, auth, limits, faults ----
    @staticmethod
    def envelope(result: Any, code: int = 0, msg: str = "OK") -> web.Response:
        body = {
            "retCode": code,
            "retMsg": msg,
            "result": result if result is not None else {},
            "retExtInfo": {},
            "time": int(time.time() * 1000),
        }
        return web.json_response(body, dumps=lambda o: json.dumps(o, separators=(",", ":")))

    def _authenticate(self, request: web.Request, payload: str) -> None:
        headers = request.headers
        key = headers.get("X-BAPI-API-KEY", "")
        ts = headers.get("X-BAPI-TIMESTAMP", "")
        recv = headers.get("X-BAPI-RECV-WINDOW", "5000")
        if key != self.api_key:
            raise BybitError(10003, "API key is invalid.")
        now = int(time.time() * 1000)
        if not ts.isdigit() or not (now - int(recv) <= int(ts) < now + 1000):
            raise BybitError(
                10002,
                f"invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts}],server_timestamp[{now}],recv_window[{recv}]",
            )
        expected = sign(self.api_secret, ts, key, recv, payload)
        if not hmac.compare_digest(expected, headers.get("X-BAPI-SIGN", "")):
            raise BybitError(10004, "error sign! origin_string[...]")

    def _rate_limit(self, path: str, category: str) -> dict[str, str] | None:
        """Rolling-window count; returns the 10006 headers when over the limit."""
        limit = RATE_LIMITS.get((path, category)) or RATE_LIMITS.get((path, ""))
        if limit is None:
            limit, category = QUERY_LIMIT, ""
        hits = self._hits[(path, category)]
        now = time.monotonic()
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        reset = int((time.time() + (self.window - (now - hits[0]) if hits else 0)) * 1000)
        if len(hits) >= limit:
            return {
                "X-Bapi-Limit": str(limit),
                "X-Bapi-Limit-Status": "0",
                "X-Bapi-Limit-Reset-Timestamp": str(reset),
            }
        hits.append(now)
        return None

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw_body = await request.text()
        raw_query = request.rel_url.raw_query_string
        path = request.path
        params = json.loads(raw_body) if raw_body else dict(request.query)
        self.requests.append(
            {
                "method": request.method,
                "path": path,
                "query": raw_query,
                "body": raw_body,
                "params": params,
                "headers": dict(request.headers),
            }
        )
        fault = self.faults.take(path)
        replaced = fault_reply(fault, self._planned_rate_limit)
        if replaced is not None:
            return replaced
        try:
            if not path.startswith("/v5/market/"):
                self._authenticate(request, raw_body if request.method == "POST" else raw_query)
                if self.enforce_rate_limits:
                    over = self._rate_limit(path, str(params.get("category", "")))
                    if over is not None:
                        self.rate_limited += 1
                        response = self.envelope({}, 10006, "Too many visits!")
                        response.headers.update(over)
                        return response
            request[PARAMS] = params
            response = await handler(request)
        except BybitError as exc:
            response = self.envelope({}, exc.code, exc.msg)
        return await deliver(fault, request, response)

    def _planned_rate_limit(self, kind: str) -> web.Response:
        """A planned rate-limit fault: the gateway's bare HTTP 429 or Bybit's retCode 10006."""
        if kind == "http429":
            return web.Response(status=429, text="Too Many Requests", content_type="text/plain")
        self.rate_limited += 1
        return self.envelope({}, 10006, "Too many visits!")

    # ---- orders ----
    @staticmethod
    def _bars_ending_at(price: Decimal, seed: int) -> Any:
        """200 hourly random-walk bars rescaled so that the last close is ``price``."""
        bars = make_random_walk_bars(200, seed=seed, freq="1h")
        scale = float(price) / bars["close"].iloc[-1]
        bars[["open", "high", "low", "close"]] *= scale
        return bars

    def spec(self, category: str, symbol: str) -> dict[str, str]:
        """Lot/tick/minimums of an instrument, read from the market emulator's own
        ``instruments-info`` entry (spot: ``basePrecision``/``minOrderAmt``; linear:
        ``qtyStep``/``minNotionalValue``, as on the real venue)."""
        instrument = self.market.instruments.get((category, symbol))
        if instrument is None:
            raise BybitError(10001, "params error: symbol invalid")
        info = instrument.info()
        lot = info["lotSizeFilter"]
        spot = category == "spot"
        return {
            "tick": info["priceFilter"]["tickSize"],
            "step": lot["basePrecision"] if spot else lot["qtyStep"],
            "min": lot["minOrderQty"],
            "min_notional": lot["minOrderAmt"] if spot else lot["minNotionalValue"],
        }

    def _new_order(self, p: dict[str, Any], category: str) -> dict[str, Any]:
        now = str(int(time.time() * 1000))
        return {
            "orderId": f"emu-{next(self._ids):08d}",
            "orderLinkId": p.get("orderLinkId", ""),
            "category": category,
            "symbol": p["symbol"],
            "side": p["side"],
            "orderType": p["orderType"],
            "price": p.get("price", "0"),
            "qty": p["qty"],
            "orderStatus": "New",
            "avgPrice": "",
            "cumExecQty": "0",
            "cumExecValue": "0",
            "cumExecFee": "0",
            "leavesQty": p["qty"],
            "timeInForce": p.get("timeInForce", "GTC"),
            "triggerPrice": p.get("triggerPrice", ""),
            "triggerDirection": int(p.get("triggerDirection", 0)),
            "takeProfit": p.get("takeProfit", ""),
            "stopLoss": p.get("stopLoss", ""),
            "reduceOnly": bool(p.get("reduceOnly", False)),
            "positionIdx": 0,
            "marketUnit": p.get("marketUnit", ""),
            "stopOrderType": "",
            "createdTime": now,
            "updatedTime": now,
            "rejectReason": "EC_NoError",
            "cancelType": "UNKNOWN",
        }

    def _check_create(self, p: dict[str, Any], category: str) -> None:
        spec = self.spec(category, p.get("symbol", ""))
        if p.get("side") not in ("Buy", "Sell") or p.get("orderType") not in ("Market", "Limit"):
            raise BybitError(10001, "params error: side or orderType invalid")
        link = p.get("orderLinkId", "")
        if link and (category, link) in self.link_ids:
            if category == "spot":
                raise BybitError(170141, "Duplicate clientOrderId.")
            raise BybitError(110072, "OrderLinkedID is duplicate")
        qty = Decimal(p["qty"])
        if (
            category == "spot"
            and p["orderType"] == "Market"
            and p["side"] == "Buy"
            and p.get("marketUnit") != "baseCoin"
        ):
            base_qty = qty / self.prices[p["symbol"]]  # qty is quote coin
        else:
            base_qty = qty
            if qty % Decimal(spec["step"]):
                raise BybitError(10001, "Qty invalid: not a multiple of the qty step")
        if base_qty < Decimal(spec["min"]):
            if category == "spot":
                raise BybitError(170136, "Order quantity is lower than the minimum.")
            raise BybitError(10001, "The number of contracts exceeds minimum limit allowed")
        price = Decimal(p["price"]) if p.get("price") else self.prices[p["symbol"]]
        if base_qty * price < Decimal(spec["min_notional"]):
            if category == "spot":
                raise BybitError(170140, "Order value exceeded lower limit.")
            raise BybitError(110094, "Order does not meet minimum order value")
        if p.get("price") and Decimal(p["price"]) % Decimal(spec["tick"]):
            raise BybitError(10001, "Price invalid: not a multiple of the tick size")

    async def _create(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        category = p.get("category", "")
        self._check_create(p, category)
        order = self._new_order(p, category)
        if p.get("reduceOnly") and category == "linear":
            size = self._signed_position(p["symbol"])
            closing = -size if p["side"] == "Buy" else size
            if closing <= 0 or Decimal(p["qty"]) > abs(size):
                raise BybitError(110017, "Reduce-only order would increase the position.")
        self._reserve_or_reject(order)
        self.orders[order["orderId"]] = order
        if order["orderLinkId"]:
            self.link_ids[(category, order["orderLinkId"])] = order["orderId"]
        self._evaluate(order)
        return self.envelope({"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]})

    def _base_qty(self, order: dict[str, Any], price: Decimal) -> Decimal:
        qty = Decimal(order["qty"])
        if (
            order["category"] == "spot"
            and order["orderType"] == "Market"
            and order["side"] == "Buy"
            and order["marketUnit"] != "baseCoin"
        ):
            return (qty / price).quantize(Decimal(self.spec("spot", order["symbol"])["step"]))
        return qty

    def _reserve_or_reject(self, order: dict[str, Any]) -> None:
        """Insufficient balance/margin checks at placement (110007 linear, 170131 spot)."""
        symbol, side = order["symbol"], order["side"]
        price = Decimal(order["price"]) if order["orderType"] == "Limit" else self.prices[symbol]
        qty = self._base_qty(order, price)
        if order["category"] == "spot":
            base = symbol.removesuffix("USDT")
            if side == "Buy" and qty * price * (1 + SPOT_FEE) > self._free("USDT"):
                raise BybitError(170131, "Insufficient balance.")
            if side == "Sell" and qty > self._free(base):
                raise BybitError(170131, "Insufficient balance.")
        elif not order["reduceOnly"]:
            margin = qty * price / self.leverage[symbol]
            if margin + qty * price * LINEAR_FEE > self._free("USDT"):
                raise BybitError(110007, "ab not enough for new order")

    def _free(self, coin: str) -> Decimal:
        return (
            self.wallet[coin]
            - self._locked(coin)
            - (self._position_im() + self._order_im() if coin == "USDT" else D0)
        )

    def _locked(self, coin: str) -> Decimal:
        total = D0
        for o in self._open_orders("spot"):
            base = o["symbol"].removesuffix("USDT")
            leaves = Decimal(o["leavesQty"])
            if coin == "USDT" and o["side"] == "Buy" and o["orderType"] == "Limit":
                total += leaves * Decimal(o["price"])
            elif coin == base and o["side"] == "Sell":
                total += leaves
        return total

    def _order_im(self) -> Decimal:
        return sum(
            (
                Decimal(o["leavesQty"]) * Decimal(o["price"]) / self.leverage[o["symbol"]]
                for o in self._open_orders("linear")
                if o["orderType"] == "Limit" and not o["reduceOnly"]
            ),
            D0,
        )

    def _position_im(self) -> Decimal:
        return sum(
            (
                abs(p["size"]) * p["avg"] / self.leverage[s]
                for s, p in self.positions.items()
                if p["size"]
            ),
            D0,
        )

    def _open_orders(self, category: str) -> list[dict[str, Any]]:
        return [
            o
            for o in self.orders.values()
            if o["category"] == category
            and o["orderStatus"] in ("New", "PartiallyFilled", "Untriggered")
        ]

    def _signed_position(self, symbol: str) -> Decimal:
        return self.positions.get(symbol, {}).get("size", D0)

    def _evaluate(self, order: dict[str, Any]) -> None:
        """Trigger, fill or leave resting one order at the current price."""
        price = self.prices[order["symbol"]]
        if order["orderStatus"] == "New" and order["triggerPrice"] not in ("", "0"):
            order["orderStatus"] = "Untriggered"
        if order["orderStatus"] == "Untriggered":
            trigger = Decimal(order["triggerPrice"])
            rising = order["triggerDirection"] == 1 or (
                order["triggerDirection"] == 0 and order["side"] == "Buy"
            )
            if not ((rising and price >= trigger) or (not rising and price <= trigger)):
                return
            order["orderStatus"] = "New"
        if order["orderType"] == "Market":
            self._fill(order, price)
            return
        limit = Decimal(order["price"])
        marketable = price <= limit if order["side"] == "Buy" else price >= limit
        if marketable and order["timeInForce"] == "PostOnly":
            order["orderStatus"] = "Cancelled"
            order["cancelType"] = "CancelByUser"
            order["rejectReason"] = "EC_PostOnlyWillTakeLiquidity"
        elif marketable:
            self._fill(order, price)
        elif order["timeInForce"] in ("IOC", "FOK"):
            order["orderStatus"] = "Cancelled"

    def _fill(self, order: dict[str, Any], price: Decimal) -> None:
        symbol, category = order["symbol"], order["category"]
        qty = self._base_qty(order, price)
        sign = 1 if order["side"] == "Buy" else -1
        fee_rate = SPOT_FEE if category == "spot" else LINEAR_FEE
        fee = qty * price * fee_rate
        fee_currency = "USDT"
        if category == "spot":
            base = symbol.removesuffix("USDT")
            if self.spot_buy_fee_in_base and sign > 0:
                fee, fee_currency = qty * fee_rate, base
                self.wallet[base] += qty - fee
                self.wallet["USDT"] -= qty * price
            else:
                self.wallet[base] += sign * qty
                self.wallet["USDT"] -= sign * qty * price + fee
        else:
            self._apply_position(symbol, sign * qty, price)
            self.wallet["USDT"] -= fee
            if order["stopLoss"] or order["takeProfit"]:
                pos = self.positions[symbol]
                pos["stopLoss"] = order["stopLoss"] or pos["stopLoss"]
                pos["takeProfit"] = order["takeProfit"] or pos["takeProfit"]
        order.update(
            {
                "orderStatus": "Filled",
                "avgPrice": _s(price),
                "cumExecQty": _s(qty),
                "cumExecValue": _s(qty * price),
                "cumExecFee": _s(fee),
                "leavesQty": "0",
                "updatedTime": str(int(time.time() * 1000)),
            }
        )
        if (
            order["marketUnit"] != "baseCoin"
            and category == "spot"
            and order["side"] == "Buy"
            and order["orderType"] == "Market"
        ):
            order["qty"] = _s(qty)
        self.executions.append(
            {
                "symbol": symbol,
                "category": category,
                "orderId": order["orderId"],
                "orderLinkId": order["orderLinkId"],
                "side": order["side"],
                "execId": f"exec-{next(self._ids):08d}",
                "execPrice": _s(price),
                "execQty": _s(qty),
                "execFee": _s(fee),
                "feeCurrency": fee_currency,
                "feeRate": _s(fee_rate),
                "execTime": order["updatedTime"],
                "orderType": order["orderType"],
                "isMaker": False,
            }
        )

    def _apply_position(self, symbol: str, delta: Decimal, price: Decimal) -> None:
        pos = self.positions.setdefault(
            symbol, {"size": D0, "avg": D0, "stopLoss": "", "takeProfit": ""}
        )
        size, avg = pos["size"], pos["avg"]
        if size == 0 or (size > 0) == (delta > 0):
            pos["avg"] = (abs(size) * avg + abs(delta) * price) / (abs(size) + abs(delta))
            pos["size"] = size + delta
            return
        closed = min(abs(size), abs(delta))
        self.wallet["USDT"] += closed * (price - avg) * (1 if size > 0 else -1)
        pos["size"] = size + delta
        if pos["size"] == 0:
            pos.update(avg=D0, stopLoss="", takeProfit="")
        elif (pos["size"] > 0) != (size > 0):
            pos["avg"] = price

    def set_price(self, symbol: str, price: str | Decimal) -> None:
        """Move the market: fires stops, marketable limits and position SL/TP."""
        self.prices[symbol] = Decimal(price)
        for category in ("linear", "spot"):  # the tickers are read from the last bar
            bars = self.market.instruments[(category, symbol)].bars["60"]
            last = bars.index[-1]
            bars.loc[last, "close"] = float(price)
            bars.loc[last, "high"] = max(bars.loc[last, "high"], float(price))
            bars.loc[last, "low"] = min(bars.loc[last, "low"], float(price))
        for order in list(self.orders.values()):
            if order["symbol"] == symbol and order["orderStatus"] in ("New", "Untriggered"):
                self._evaluate(order)
        pos = self.positions.get(symbol)
        if pos and pos["size"]:
            p = Decimal(price)
            long = pos["size"] > 0
            sl = Decimal(pos["stopLoss"]) if pos["stopLoss"] else None
            tp = Decimal(pos["takeProfit"]) if pos["takeProfit"] else None
            hit_sl = sl is not None and (p <= sl if long else p >= sl)
            hit_tp = tp is not None and (p >= tp if long else p <= tp)
            if hit_sl or hit_tp:
                close = self._new_order(
                    {
                        "symbol": symbol,
                        "side": "Sell" if long else "Buy",
                        "orderType": "Market",
                        "qty": _s(abs(pos["size"])),
                        "reduceOnly": True,
                    },
                    "linear",
                )
                close["stopOrderType"] = "StopLoss" if hit_sl else "TakeProfit"
                self.orders[close["orderId"]] = close
                self._fill(close, p)

    def _lookup(self, p: dict[str, Any]) -> dict[str, Any] | None:
        category = p.get("category", "")
        oid = p.get("orderId") or self.link_ids.get((category, p.get("orderLinkId", "")))
        order = self.orders.get(oid or "")
        return order if order is not None and order["category"] == category else None

    async def _cancel(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        order = self._lookup(p)
        if order is not None and p.get("category") == "spot":
            # spot cancels name the book: conditional orders need orderFilter=StopOrder
            conditional = order["triggerPrice"] not in ("", "0")
            if conditional != (p.get("orderFilter") == "StopOrder"):
                order = None
        if order is None or order["orderStatus"] not in ("New", "PartiallyFilled", "Untriggered"):
            if p.get("category") == "spot":
                raise BybitError(170213, "Order does not exist.")
            raise BybitError(110001, "order not exists or too late to cancel")
        order.update(
            orderStatus="Cancelled",
            cancelType="CancelByUser",
            updatedTime=str(int(time.time() * 1000)),
        )
        return self.envelope({"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]})

    async def _cancel_all(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        done = []
        for order in self._open_orders(p.get("category", "")):
            if p.get("symbol") and order["symbol"] != p["symbol"]:
                continue
            order.update(orderStatus="Cancelled", cancelType="CancelAllBeforeLiq")
            done.append({"orderId": order["orderId"], "orderLinkId": order["orderLinkId"]})
        return self.envelope({"list": done, "success": "1"})

    def _page(self, category: str | None, items: list[dict[str, Any]]) -> web.Response:
        """A list reply that fits on one page (no ``nextPageCursor``)."""
        return self.envelope({"category": category, "nextPageCursor": "", "list": items})

    def _order_view(self, order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in order.items() if k != "category"}

    async def _realtime(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        if p.get("orderId") or p.get("orderLinkId"):
            order = self._lookup(p)
            items = [order] if order is not None else []
        else:
            items = [
                o
                for o in self._open_orders(p.get("category", ""))
                if not p.get("symbol") or o["symbol"] == p["symbol"]
            ]
        return self._page(p.get("category"), [self._order_view(o) for o in items])

    async def _history(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        items = [
            o
            for o in self.orders.values()
            if o["category"] == p.get("category")
            and o["orderStatus"]
            in ("Filled", "Cancelled", "Rejected", "PartiallyFilledCanceled", "Deactivated")
        ]
        for key in ("symbol", "orderId", "orderLinkId", "orderStatus"):
            if p.get(key):
                items = [o for o in items if o[key] == p[key]]
        return self._page(p.get("category"), [self._order_view(o) for o in items])

    async def _execution_list(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        items = [
            e
            for e in self.executions
            if e["category"] == p.get("category")
            and (not p.get("symbol") or e["symbol"] == p["symbol"])
            and (not p.get("orderId") or e["orderId"] == p["orderId"])
        ]
        return self._page(p.get("category"), items[::-1])

    async def _position_list(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        symbols = [p["symbol"]] if p.get("symbol") else list(self.positions)
        items = []
        for symbol in symbols:
            pos = self.positions.get(
                symbol, {"size": D0, "avg": D0, "stopLoss": "", "takeProfit": ""}
            )
            mark = self.prices.get(symbol, D0)
            size = pos["size"]
            items.append(
                {
                    "symbol": symbol,
                    "positionIdx": 0,
                    "side": "" if not size else ("Buy" if size > 0 else "Sell"),
                    "size": _s(abs(size)),
                    "avgPrice": _s(pos["avg"]),
                    "positionValue": _s(abs(size) * pos["avg"]),
                    "leverage": _s(self.leverage[symbol]),
                    "markPrice": _s(mark),
                    "unrealisedPnl": _s(size * (mark - pos["avg"])),
                    "takeProfit": pos["takeProfit"] or "0",
                    "stopLoss": pos["stopLoss"] or "0",
                    "tradeMode": 0,
                    "positionStatus": "Normal",
                    "autoAddMargin": 0,
                    "positionIM": _s(abs(size) * pos["avg"] / self.leverage[symbol]),
                    "createdTime": "1672121182216",
                    "updatedTime": str(int(time.time() * 1000)),
                    "liqPrice": "",
                    "bustPrice": "",
                    "cumRealisedPnl": "0",
                }
            )
        return self._page("linear", items)

    async def _set_leverage(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        new = Decimal(p["buyLeverage"])
        if new == self.leverage[p["symbol"]]:
            raise BybitError(110043, "leverage not modified")
        self.leverage[p["symbol"]] = new
        return self.envelope({})

    async def _wallet_balance(self, request: web.Request) -> web.Response:
        coins = []
        for coin, amount in self.wallet.items():
            im = (self._order_im(), self._position_im()) if coin == "USDT" else (D0, D0)
            price = Decimal(1) if coin == "USDT" else self.prices.get(coin + "USDT", D0)
            coins.append(
                {
                    "coin": coin,
                    "walletBalance": _s(amount),
                    "equity": _s(amount),
                    "usdValue": _s(amount * price),
                    "locked": _s(self._locked(coin)),
                    "totalOrderIM": _s(im[0]),
                    "totalPositionIM": _s(im[1]),
                    "availableToWithdraw": "",
                    "unrealisedPnl": "0",
                    "cumRealisedPnl": "0",
                    "borrowAmount": "0",
                    "accruedInterest": "0",
                }
            )
        return self.envelope(
            {"list": [{"accountType": "UNIFIED", "totalEquity": "0", "coin": coins}]}
        )

    # ---- inspection helpers for tests ----
    def orders_with_link_id(self, link_id: str) -> list[dict[str, Any]]:
        return [o for o in self.orders.values() if o["orderLinkId"] == link_id]

    def create_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == "/v5/order/create"]
