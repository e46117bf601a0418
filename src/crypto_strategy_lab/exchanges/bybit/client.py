"""Bybit v5 (spot and USDT linear perpetuals) on ``ccxt.async_support.bybit``.

Decisions (see EXCHANGES.md for the wire facts behind them)
-----------------------------------------------------------
* ``BTCUSDT`` alone is ambiguous on Bybit (spot and perpetual share the id); the default
  market is the **linear perpetual**, overridable per order (``OrderRequest.market``) or per
  client (``default_market=MarketType.SPOT``).
* The sandbox switch happens **before** a ``base_url`` override (``set_sandbox_mode`` would
  otherwise replace our URLs with api-testnet.bybit.com).
* Only spot and linear markets are loaded (3 requests instead of 12), coin info is skipped
  and the unified-account options are set, so no account-detection calls precede orders.
* Our :class:`~crypto_strategy_lab.exchanges.rate_limit.RateLimiter` replaces ccxt's
  throttle (which admits 20 linear orders/s against Bybit's 10/s), so ccxt's is switched off.
* Every order carries ``orderLinkId`` (our ``client_order_id``); lookups after an uncertain
  submit use ``/v5/order/realtime?orderLinkId=`` then ``/v5/order/history``.
* ``fetch_order`` is called with ``acknowledged=True`` (ccxt refuses otherwise on unified
  accounts) and falls back to the order history for orders older than the last 500.
* Market orders never carry a price, so a spot market buy is sent with
  ``marketUnit=baseCoin`` and its quantity stays in base units (a price would make ccxt send
  ``qty = amount x price`` in USDT).
* Attached stop-loss/take-profit and reduce-only are linear-only (rejected for spot here,
  before sending).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
import ccxt.async_support as ccxt_async
import pandas as pd

from crypto_strategy_lab.core.enums import (
    MarketType,
    OrderSide,
    OrderType,
    TimeInForce,
    TradingMode,
)
from crypto_strategy_lab.core.errors import ExchangeError, InvalidOrder, OrderNotFound
from crypto_strategy_lab.core.orders import Balance, OrderRequest, OrderResult, Position
from crypto_strategy_lab.exchanges.base import Exchange, Ticker
from crypto_strategy_lab.exchanges.bybit.errors import (
    DUPLICATE_CODES,
    LEVERAGE_NOT_MODIFIED,
    map_ccxt_error,
)
from crypto_strategy_lab.exchanges.bybit.parsing import (
    acknowledgement,
    balances_from_v5,
    dec,
    fill_from_v5,
    ohlcv_frame,
    order_from_v5,
    position_from_v5,
    rules_from_market,
)
from crypto_strategy_lab.exchanges.rate_limit import BYBIT_LIMITS, RateLimiter
from crypto_strategy_lab.exchanges.rules import MarketRules
from crypto_strategy_lab.security.vault import Credentials

T = TypeVar("T")
API_KEYS = ("spot", "futures", "v2", "public", "private")
CATEGORY = {MarketType.LINEAR: "linear", MarketType.SPOT: "spot"}
TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}


def build_ccxt_client(
    credentials: Credentials | None,
    *,
    testnet: bool,
    base_url: str | None,
    timeout: float,
    recv_window: int = 5000,
) -> ccxt_async.bybit:
    """A configured ``ccxt.async_support.bybit`` (exposed for the benchmark's raw baseline).

    Parameters
    ----------
    credentials : Credentials or None
        API keys (``None``: public endpoints only).
    testnet : bool
        Use the testnet endpoints.
    base_url : str or None
        Another endpoint for every REST URL.
    timeout : float
        Request timeout in seconds.
    recv_window : int, default 5000
        Bybit's ``recv_window`` in milliseconds.

    Returns
    -------
    ccxt.async_support.bybit
        The client.
    """
    config: dict[str, Any] = {
        "timeout": int(timeout * 1000),
        "enableRateLimit": False,
        "options": {
            "fetchMarkets": {"types": ["spot", "linear"]},
            "enableUnifiedAccount": True,
            "enableUnifiedMargin": False,
            "recvWindow": recv_window,
        },
    }
    if credentials is not None:
        config["apiKey"] = credentials.api_key.get_secret_value()
        config["secret"] = credentials.api_secret.get_secret_value()
    client = ccxt_async.bybit(config)
    client.has["fetchCurrencies"] = False
    client.set_sandbox_mode(testnet)  # first: it swaps urls['api'] wholesale
    if base_url:
        base_url = base_url.rstrip("/")
        client.urls["api"] = {key: base_url for key in API_KEYS}
    return client


class BybitExchange(Exchange):
    """Bybit unified trading account (testnet or live)."""

    venue = "bybit"
    supported_modes = (TradingMode.TESTNET, TradingMode.LIVE)
    markets = (MarketType.LINEAR, MarketType.SPOT)
    native_reduce_only = (MarketType.LINEAR,)
    balance_markets = (MarketType.SPOT,)
    default_market = MarketType.LINEAR

    def __init__(
        self,
        mode: TradingMode,
        credentials: Credentials | None,
        *,
        base_url: str | None = None,
        timeout: float = 10.0,
        recv_window: int = 5000,
        rate_limit_scale: float = 1.0,
        limiter: RateLimiter | None = None,
        **options: Any,
    ) -> None:
        secrets = credentials.secret_values() if credentials else []
        super().__init__(mode, secrets=secrets, **options)
        self.client = build_ccxt_client(
            credentials,
            testnet=mode is TradingMode.TESTNET,
            base_url=base_url,
            timeout=timeout,
            recv_window=recv_window,
        )
        self.limiter = limiter or RateLimiter(BYBIT_LIMITS, scale=rate_limit_scale)
        self._markets_lock = asyncio.Lock()
        self._market_cache: dict[tuple[str, MarketType], dict[str, Any]] = {}
        self._rules_cache: dict[tuple[str, MarketType], MarketRules] = {}

    async def close(self) -> None:
        """Close the ccxt client's session."""
        await self.client.close()

    # ---- plumbing ----
    async def _call(
        self, endpoint: str, category: str, action: str, call: Callable[[], Awaitable[T]]
    ) -> T:
        """One rate-limited ccxt call with its errors mapped to ours."""
        await self.limiter.acquire(endpoint, category)
        try:
            return await call()
        except ccxt.BaseError as exc:
            raise map_ccxt_error(exc, self._secrets, action) from None

    async def _load_markets(self) -> dict[str, Any]:
        async with self._markets_lock:
            if not self.client.markets:
                await self._call("market", "", "load markets", self.client.load_markets)
        return self.client.markets

    async def _market(self, symbol: str, market: MarketType) -> dict[str, Any]:
        """The ccxt market for ``BTCUSDT`` / ``BTC/USDT`` / ``BTC/USDT:USDT`` on ``market``."""
        cached = self._market_cache.get((symbol, market))
        if cached is not None:
            return cached
        found = await self._resolve_market(symbol, market)
        self._market_cache[(symbol, market)] = found
        return found

    async def _resolve_market(self, symbol: str, market: MarketType) -> dict[str, Any]:
        markets = await self._load_markets()
        want_linear = market is MarketType.LINEAR
        if symbol in markets and bool(markets[symbol].get("linear")) == want_linear:
            return markets[symbol]
        for candidate in self.client.markets_by_id.get(symbol.replace("/", ""), []):
            if (candidate.get("linear") is True) == want_linear and (
                want_linear or candidate.get("spot")
            ):
                return candidate
        raise InvalidOrder(f"unknown {market.value} symbol {symbol!r}", venue=self.venue)

    async def market_rules(self, symbol: str, market: MarketType) -> MarketRules:
        """The instrument's lot rules, cached per symbol and market.

        Parameters
        ----------
        symbol : str
            Venue symbol.
        market : MarketType
            Spot or linear.

        Returns
        -------
        MarketRules
            From the instrument's ``instruments-info`` entry.
        """
        rules = self._rules_cache.get((symbol, market))
        if rules is None:
            rules = rules_from_market(await self._market(symbol, market))
            self._rules_cache[(symbol, market)] = rules
        return rules

    # ---- orders ----
    def _order_params(self, request: OrderRequest) -> dict[str, Any]:
        linear = request.market is MarketType.LINEAR
        params: dict[str, Any] = {"clientOrderId": request.client_order_id}
        if request.order_type in (OrderType.STOP, OrderType.STOP_LIMIT):
            params["triggerPrice"] = str(request.stop_price)
            if linear:  # a buy stop fires when the price rises to the trigger
                params["triggerDirection"] = (
                    "ascending" if request.side is OrderSide.BUY else "descending"
                )
        if request.post_only or request.time_in_force is TimeInForce.POST_ONLY:
            params["postOnly"] = True
        elif request.time_in_force in TIF:
            params["timeInForce"] = TIF[request.time_in_force]
        else:
            raise InvalidOrder(
                f"Bybit has no {request.time_in_force} time in force", venue=self.venue
            )
        if not linear and (request.reduce_only or request.stop_loss or request.take_profit):
            raise InvalidOrder(
                "reduce-only and attached stop-loss/take-profit are for linear perpetuals; "
                "place a separate order on spot",
                venue=self.venue,
            )
        if request.reduce_only:
            params["reduceOnly"] = True
        if request.stop_loss is not None:
            params["stopLoss"] = {"triggerPrice": str(request.stop_loss)}
        if request.take_profit is not None:
            params["takeProfit"] = {"triggerPrice": str(request.take_profit)}
        return params

    async def _submit(self, request: OrderRequest) -> OrderResult:
        assert request.market is not None
        market = await self._market(request.symbol, request.market)
        params = self._order_params(request)
        limit = request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        reply = await self._call(
            "order",
            CATEGORY[request.market],
            "place order",
            lambda: self.client.create_order(
                market["symbol"],
                "limit" if limit else "market",
                "buy" if request.side is OrderSide.BUY else "sell",
                str(request.quantity),
                str(request.price) if limit else None,
                params,
            ),
        )
        return acknowledgement(request, reply["info"])

    def _is_duplicate(self, exc: ExchangeError) -> bool:
        return exc.code in DUPLICATE_CODES

    async def _query_orders(
        self, params: dict[str, Any], market: MarketType, *, history: bool = False
    ) -> list[OrderResult]:
        endpoint = (
            self.client.privateGetV5OrderHistory
            if history
            else self.client.privateGetV5OrderRealtime
        )
        reply = await self._call("query", "", "query orders", lambda: endpoint(params))
        return [order_from_v5(item, market) for item in reply["result"]["list"]]

    async def _with_fills(self, result: OrderResult, market: MarketType) -> OrderResult:
        """``result`` with its executions (exact prices and fees) when it has any."""
        if result.filled_quantity <= 0:
            return result
        params = {"category": CATEGORY[market], "symbol": result.symbol, "orderId": result.order_id}
        reply = await self._call(
            "query", "", "fetch executions", lambda: self.client.privateGetV5ExecutionList(params)
        )
        rules = await self.market_rules(result.symbol, market)
        fills = tuple(
            fill_from_v5(item, rules.quote or "USDT") for item in reversed(reply["result"]["list"])
        )
        return result.model_copy(update={"fills": fills})

    async def _find_by_client_id(self, request: OrderRequest) -> OrderResult | None:
        assert request.market is not None
        market = await self._market(request.symbol, request.market)
        params = {
            "category": CATEGORY[request.market],
            "symbol": market["id"],
            "orderLinkId": request.client_order_id,
        }
        for history in (False, True):
            found = await self._query_orders(params, request.market, history=history)
            if found:
                return await self._with_fills(found[0], request.market)
        return None

    async def _cancel(self, order_id: str, symbol: str, market: MarketType) -> OrderResult:
        info = await self._market(symbol, market)
        try:
            await self._call(
                "order",
                CATEGORY[market],
                "cancel order",
                lambda: self.client.cancel_order(order_id, info["symbol"]),
            )
        except OrderNotFound:
            if market is not MarketType.SPOT:
                raise
            # spot conditional orders live under orderFilter=StopOrder
            await self._call(
                "order",
                CATEGORY[market],
                "cancel order",
                lambda: self.client.cancel_order(order_id, info["symbol"], {"trigger": True}),
            )
        return await self._fetch_order(order_id, symbol, market)

    async def _cancel_all(self, symbol: str | None, market: MarketType) -> list[str]:
        params: dict[str, Any] = {"category": CATEGORY[market]}
        if symbol is not None:
            params["symbol"] = (await self._market(symbol, market))["id"]
        elif market is MarketType.LINEAR:
            params["settleCoin"] = "USDT"
        reply = await self._call(
            "cancel_all",
            CATEGORY[market],
            "cancel all orders",
            lambda: self.client.privatePostV5OrderCancelAll(params),
        )
        return [str(item["orderId"]) for item in reply["result"]["list"]]

    # ---- reads ----
    async def _fetch_order(self, order_id: str, symbol: str, market: MarketType) -> OrderResult:
        info = await self._market(symbol, market)
        try:
            order = await self._call(
                "query",
                "",
                "fetch order",
                lambda: self.client.fetch_order(order_id, info["symbol"], {"acknowledged": True}),
            )
            result = order_from_v5(order["info"], market)
        except OrderNotFound:
            params = {"category": CATEGORY[market], "symbol": info["id"], "orderId": order_id}
            found = await self._query_orders(params, market, history=True)
            if not found:
                raise
            result = found[0]
        return await self._with_fills(result, market)

    async def _fetch_open_orders(self, symbol: str | None, market: MarketType) -> list[OrderResult]:
        params: dict[str, Any] = {"category": CATEGORY[market], "openOnly": 0}
        if symbol is not None:
            params["symbol"] = (await self._market(symbol, market))["id"]
        elif market is MarketType.LINEAR:
            params["settleCoin"] = "USDT"
        return [o for o in await self._query_orders(params, market) if not o.status.is_terminal]

    async def _fetch_balance(self) -> dict[str, Balance]:
        reply = await self._call(
            "query",
            "",
            "fetch balance",
            lambda: self.client.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"}),
        )
        return balances_from_v5(reply["result"])

    async def _fetch_positions(self, symbol: str | None, market: MarketType) -> list[Position]:
        if market is MarketType.SPOT:
            return []  # spot holdings are balances (see get_balance)
        params: dict[str, Any] = {"category": "linear", "limit": 200}
        if symbol is not None:
            params["symbol"] = (await self._market(symbol, market))["id"]
        else:
            params["settleCoin"] = "USDT"
        reply = await self._call(
            "query", "", "fetch positions", lambda: self.client.privateGetV5PositionList(params)
        )
        return [position_from_v5(item) for item in reply["result"]["list"] if dec(item.get("size"))]

    async def _fetch_ticker(self, symbol: str, market: MarketType) -> Ticker:
        info = await self._market(symbol, market)
        params = {"category": CATEGORY[market], "symbol": info["id"]}
        reply = await self._call(
            "market", "", "fetch ticker", lambda: self.client.publicGetV5MarketTickers(params)
        )
        items = reply["result"]["list"]
        if not items:
            raise InvalidOrder(f"no ticker for {symbol}", venue=self.venue)
        item = items[0]
        return Ticker(
            symbol=item["symbol"],
            bid=dec(item.get("bid1Price")),
            ask=dec(item.get("ask1Price")),
            last=dec(item.get("lastPrice")),
            timestamp=datetime.fromtimestamp(int(reply["time"]) / 1000, tz=UTC)
            if reply.get("time")
            else None,
            venue=self.venue,
        )

    async def _fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str,
        since: datetime | None,
        limit: int | None,
        market: MarketType,
    ) -> pd.DataFrame:
        info = await self._market(symbol, market)
        since_ms = int(since.timestamp() * 1000) if since is not None else None
        rows = await self._call(
            "market",
            "",
            "fetch ohlcv",
            lambda: self.client.fetch_ohlcv(info["symbol"], timeframe, since_ms, limit),
        )
        return ohlcv_frame(rows)

    async def _set_leverage(self, symbol: str, leverage: Decimal, market: MarketType) -> None:
        info = await self._market(symbol, market)
        try:
            await self._call(
                "leverage",
                "",
                "set leverage",
                lambda: self.client.set_leverage(float(leverage), info["symbol"]),
            )
        except InvalidOrder as exc:
            if exc.code != LEVERAGE_NOT_MODIFIED:
                raise
