"""Alpaca (US equities, paper and live) on alpaca-py's synchronous ``TradingClient``.

Each call runs in a worker thread (``asyncio.to_thread``) behind our 200-per-minute token
bucket. Two alpaca-py traps are closed when the clients are built (EXCHANGES.md §8):

* requests runs **without a timeout**, so a lost reply would block a thread forever: every
  session request gets ``timeout=`` (default 10 s), which surfaces as
  :class:`~crypto_strategy_lab.core.errors.ExchangeUnavailable`;
* alpaca-py silently **retries any method, POST included, on 429/504**, sleeping 3 s in the
  worker thread: its retry count is set to zero so the only resend of an order is ours,
  made after looking the order up by ``client_order_id``.

Orders outside regular trading hours are refused with
:class:`~crypto_strategy_lab.core.errors.MarketClosed` (from ``/v2/clock``) unless the
request asks for ``extended_hours``. Lot and tick come from ``/v2/assets/{symbol}``
(``min_trade_increment``/``price_increment`` when given; otherwise 1e-9 shares for
fractionable assets, whole shares otherwise, and a $0.01 tick).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd
from alpaca.common.enums import Sort
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest, StockLatestQuoteRequest, StockLatestTradeRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest

from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.core.errors import ExchangeError, InvalidOrder, MarketClosed, OrderNotFound
from crypto_strategy_lab.core.orders import Balance, OrderRequest, OrderResult, Position
from crypto_strategy_lab.exchanges.alpaca.errors import is_duplicate, map_api_error
from crypto_strategy_lab.exchanges.alpaca.parsing import (
    balance_from_account,
    bars_frame,
    order_from_alpaca,
    parse_time,
    position_from_alpaca,
    to_alpaca_request,
)
from crypto_strategy_lab.exchanges.base import Exchange, Ticker
from crypto_strategy_lab.exchanges.rate_limit import ALPACA_LIMITS, RateLimiter
from crypto_strategy_lab.exchanges.rules import MarketRules
from crypto_strategy_lab.security.vault import Credentials

T = TypeVar("T")
TIMEFRAME_UNITS = {
    "m": TimeFrameUnit.Minute,
    "h": TimeFrameUnit.Hour,
    "d": TimeFrameUnit.Day,
    "w": TimeFrameUnit.Week,
    "M": TimeFrameUnit.Month,
}


def parse_timeframe(timeframe: str) -> TimeFrame:
    """A bar size as an alpaca-py ``TimeFrame``.

    Parameters
    ----------
    timeframe : str
        ``<n><unit>`` with unit ``m``, ``h``, ``d``, ``w`` or ``M`` (month), e.g. ``15m``.

    Returns
    -------
    alpaca.data.timeframe.TimeFrame
        The time frame.

    Raises
    ------
    InvalidOrder
        If the spelling is not understood.
    """
    unit = TIMEFRAME_UNITS.get(timeframe[-1:])
    amount = timeframe[:-1]
    if unit is None or not amount.isdigit():
        raise InvalidOrder(
            f"unknown timeframe {timeframe!r} (use e.g. 15m, 1h, 1d)", venue="alpaca"
        )
    return TimeFrame(int(amount), unit)


def harden(client: Any, timeout: float) -> None:
    """Give alpaca-py's requests session a timeout and switch off its silent retries.

    Parameters
    ----------
    client : Any
        An alpaca-py REST client (modified in place).
    timeout : float
        Request timeout in seconds.
    """
    client._retry = 0
    client._session.request = functools.partial(client._session.request, timeout=timeout)


class AlpacaExchange(Exchange):
    """Alpaca trading account (paper or live)."""

    venue = "alpaca"
    supported_modes = (TradingMode.PAPER, TradingMode.LIVE)
    markets = (MarketType.STOCK,)
    default_market = MarketType.STOCK

    def __init__(
        self,
        mode: TradingMode,
        credentials: Credentials,
        *,
        base_url: str | None = None,
        data_url: str | None = None,
        timeout: float = 10.0,
        rate_limit_scale: float = 1.0,
        limiter: RateLimiter | None = None,
        **options: Any,
    ) -> None:
        super().__init__(mode, secrets=credentials.secret_values(), **options)
        key, secret = (s.get_secret_value() for s in (credentials.api_key, credentials.api_secret))
        url = base_url.rstrip("/") if base_url else None
        self.trading = TradingClient(key, secret, paper=mode is TradingMode.PAPER, url_override=url)
        self.data = StockHistoricalDataClient(
            key, secret, raw_data=True, url_override=data_url or url
        )
        for client in (self.trading, self.data):
            harden(client, timeout)
        self.limiter = limiter or RateLimiter(ALPACA_LIMITS, scale=rate_limit_scale)
        self._clock: tuple[datetime, bool] | None = None
        self._assets: dict[str, MarketRules] = {}
        self._fractionable: dict[str, bool] = {}

    async def close(self) -> None:
        """Close the trading and data clients' HTTP sessions."""
        for client in (self.trading, self.data):
            await asyncio.to_thread(client._session.close)

    async def _call(self, endpoint: str, action: str, fn: Callable[..., T], *args: Any) -> T:
        await self.limiter.acquire(endpoint)
        try:
            return await asyncio.to_thread(fn, *args)
        except Exception as exc:
            raise map_api_error(exc, self._secrets, action) from None

    # ---- rules and the market clock ----
    async def market_rules(self, symbol: str, market: MarketType) -> MarketRules:
        """The asset's lot rules, read once per symbol (see :meth:`Exchange.market_rules`).

        Parameters
        ----------
        symbol : str
            Ticker.
        market : MarketType
            Always stock.

        Returns
        -------
        MarketRules
            The rules.
        """
        if symbol not in self._assets:
            try:
                asset = await self._read(
                    "get_asset",
                    lambda: self._call("trading", "get asset", self.trading.get_asset, symbol),
                )
            except OrderNotFound:  # 404 from /v2/assets/{symbol}
                raise InvalidOrder(f"unknown symbol {symbol!r}", venue=self.venue) from None
            if not asset.tradable:
                raise InvalidOrder(f"{symbol} is not tradable on Alpaca", venue=self.venue)
            self._fractionable[symbol] = bool(asset.fractionable)
            step = asset.min_trade_increment or (1e-9 if asset.fractionable else 1)
            self._assets[symbol] = MarketRules(
                symbol=symbol,
                qty_step=Decimal(str(step)),
                tick_size=Decimal(str(asset.price_increment or "0.01")),
                min_qty=Decimal(str(asset.min_order_size or step)),
                quote="USD",
            )
        return self._assets[symbol]

    async def market_is_open(self) -> bool:
        """Whether the regular session is open, from ``/v2/clock``.

        Returns
        -------
        bool
            The answer, cached until the next open or close, at most 5 minutes.
        """
        now = datetime.now(UTC)
        if self._clock is None or now >= self._clock[0]:
            clock = await self._read(
                "get_clock", lambda: self._call("trading", "get clock", self.trading.get_clock)
            )
            change = clock.next_close if clock.is_open else clock.next_open
            until = min(parse_time(change) or now, now + timedelta(minutes=5))
            self._clock = (until.astimezone(UTC), bool(clock.is_open))
        return self._clock[1]

    # ---- orders ----
    async def _submit(self, request: OrderRequest) -> OrderResult:
        if not request.extended_hours and not await self.market_is_open():
            raise MarketClosed(
                f"{request.symbol}: the US equity market is closed; set extended_hours=True "
                "(DAY limit orders) to trade outside regular hours",
                venue=self.venue,
            )
        payload = to_alpaca_request(request, self._fractionable.get(request.symbol, False))
        order = await self._call("trading", "place order", self.trading.submit_order, payload)
        return order_from_alpaca(order)

    def _is_duplicate(self, exc: ExchangeError) -> bool:
        return is_duplicate(exc)

    async def _find_by_client_id(self, request: OrderRequest) -> OrderResult | None:
        try:
            order = await self._call(
                "trading",
                "find order",
                self.trading.get_order_by_client_id,
                request.client_order_id,
            )
        except OrderNotFound:
            return None
        return order_from_alpaca(order)

    async def _cancel(self, order_id: str, symbol: str, market: MarketType) -> OrderResult:
        await self._call("trading", "cancel order", self.trading.cancel_order_by_id, order_id)
        return await self._fetch_order(order_id, symbol, market)

    async def _cancel_all(self, symbol: str | None, market: MarketType) -> list[str]:
        if symbol is None:
            replies = await self._call("trading", "cancel all orders", self.trading.cancel_orders)
            return [str(r.id) for r in replies if 200 <= int(r.status) < 300]
        ids = []
        for order in await self._fetch_open_orders(symbol, market):
            await self._call(
                "trading", "cancel order", self.trading.cancel_order_by_id, order.order_id
            )
            ids.append(order.order_id)
        return ids

    # ---- reads ----
    async def _fetch_order(self, order_id: str, symbol: str, market: MarketType) -> OrderResult:
        order = await self._call("trading", "fetch order", self.trading.get_order_by_id, order_id)
        return order_from_alpaca(order)

    async def _fetch_open_orders(self, symbol: str | None, market: MarketType) -> list[OrderResult]:
        query = GetOrdersRequest(
            status=QueryOrderStatus.OPEN, nested=True, symbols=[symbol] if symbol else None
        )
        orders = await self._call("trading", "fetch open orders", self.trading.get_orders, query)
        return [order_from_alpaca(o) for o in orders]

    async def _fetch_balance(self) -> dict[str, Balance]:
        account = await self._call("trading", "fetch account", self.trading.get_account)
        return balance_from_account(account)

    async def _fetch_positions(self, symbol: str | None, market: MarketType) -> list[Position]:
        if symbol is None:
            positions = await self._call(
                "trading", "fetch positions", self.trading.get_all_positions
            )
            return [position_from_alpaca(p) for p in positions]
        try:
            position = await self._call(
                "trading", "fetch position", self.trading.get_open_position, symbol
            )
        except OrderNotFound:  # 404: no open position
            return []
        return [position_from_alpaca(position)]

    async def _fetch_ticker(self, symbol: str, market: MarketType) -> Ticker:
        quotes = await self._call(
            "market",
            "latest quote",
            self.data.get_stock_latest_quote,
            StockLatestQuoteRequest(symbol_or_symbols=symbol),
        )
        trades = await self._call(
            "market",
            "latest trade",
            self.data.get_stock_latest_trade,
            StockLatestTradeRequest(symbol_or_symbols=symbol),
        )
        quote, trade = quotes.get(symbol, {}), trades.get(symbol, {})

        def price(value: Any) -> Decimal | None:
            return Decimal(str(value)) if value not in (None, 0, "") else None

        stamp = trade.get("t") or quote.get("t")
        return Ticker(
            symbol=symbol,
            bid=price(quote.get("bp")),
            ask=price(quote.get("ap")),
            last=price(trade.get("p")),
            timestamp=parse_time(stamp),
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
        frame = parse_timeframe(timeframe)
        start = since or datetime.now(UTC) - timedelta(days=30)
        # Alpaca counts ``limit`` from ``start``: without ``since`` the caller wants the NEWEST
        # bars (a feed's poll, a warm-up), so ask newest first and put them back in order.
        newest = since is None and limit is not None
        query = StockBarsRequest(
            symbol_or_symbols=symbol,
            timeframe=frame,
            start=start,
            limit=limit,
            sort=Sort.DESC if newest else Sort.ASC,
        )
        bars = await self._call("market", "fetch bars", self.data.get_stock_bars, query)
        rows = bars.get(symbol, [])
        return bars_frame(rows[::-1] if newest else rows)

    async def _set_leverage(self, symbol: str, leverage: Decimal, market: MarketType) -> None:
        raise AssertionError("unreachable: Alpaca trades no linear perpetuals")  # pragma: no cover
