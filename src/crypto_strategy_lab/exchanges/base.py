"""The one async interface every venue implements, and the order-safety logic they share.

Template
--------
:class:`Exchange` owns the parts that must behave the same on every venue and leaves the
wire to each adapter (``bybit/``, ``alpaca/``, ``simulated/``):

* rounding to lot/tick and the minimum checks (:mod:`.rules`) before anything is sent;
* the audit trail of every order action (:mod:`crypto_strategy_lab.security.audit_log`);
* retries with backoff and jitter for reads (:mod:`.retry`);
* **reduce-only everywhere**: on a market whose venue has no reduce-only flag (outside
  ``native_reduce_only``, e.g. Alpaca's equities) a reduce-only order is checked against the
  venue's position, capped at it and sent as a plain order (:meth:`Exchange.prepare_order`),
  so the kill switch's flatten and the protective exits work on every venue;
* **idempotent order placement** (:meth:`Exchange.place_order`). An order is never blindly
  resent. If the submit fails in a way that leaves the outcome unknown (timeout, reset
  connection, 5xx gateway page, rate-limit reply, a reply that cannot be read:
  :class:`UnreadableReply`), the layer looks the order up by its
  ``client_order_id``; only when the venue has no such order is it sent again, with the
  *same* id, so that a venue which did receive the first copy rejects the second as a
  duplicate, and a duplicate reply is answered by fetching the existing order.

Every client registers its API key and secret with the process-wide log redaction
(:func:`~crypto_strategy_lab.security.redaction.install_redaction`): ccxt logs request
headers, the API key among them, at DEBUG level.

Adapters implement the ``_``-prefixed primitives and raise only
:class:`~crypto_strategy_lab.core.errors.ExchangeError` subclasses.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

from crypto_strategy_lab.core.enums import (
    MarketType,
    OrderSide,
    OrderType,
    TimeInForce,
    TradingMode,
)
from crypto_strategy_lab.core.errors import (
    ExchangeError,
    ExchangeUnavailable,
    InvalidOrder,
    RateLimitExceeded,
)
from crypto_strategy_lab.core.orders import (
    AccountValue,
    Balance,
    OrderRequest,
    OrderResult,
    Position,
    PositionMark,
)
from crypto_strategy_lab.exchanges.retry import RETRYABLE, RetryPolicy, retry_read
from crypto_strategy_lab.exchanges.rules import MarketRules, apply_rules
from crypto_strategy_lab.security.audit_log import AuditLog, AuditSink, LoggingAuditSink
from crypto_strategy_lab.security.redaction import install_redaction

T = TypeVar("T")
log = logging.getLogger(__name__)


class UnreadableReply(ExchangeUnavailable):
    """The venue answered, but with a reply that cannot be read.

    A truncated or empty body, ``null``, a success envelope without the order: whether the
    action took effect is unknown, exactly as when the reply was lost.
    """


UNCERTAIN: tuple[type[ExchangeError], ...] = (ExchangeUnavailable, RateLimitExceeded)

# What reading a reply that lacks a field or holds a wrong type raises (``reply["orderId"]``,
# ``Order(**None)``, ``Decimal("")``, pydantic's ValidationError is a ValueError).
_READ_FAILURES: tuple[type[Exception], ...] = (
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    AttributeError,
    ArithmeticError,
)


async def readable(venue: str, action: str, call: Callable[[], Awaitable[T]]) -> T:
    """Await ``call()``; a reply it cannot read becomes :class:`UnreadableReply`.

    The one place where "the venue's answer could not be understood" is decided: adapters
    parse replies as if they were well formed, and every order action and read goes through
    here, so a malformed reply takes the uncertain-outcome path (look the order up by its
    client order id) or the read's retries instead of escaping as a ``KeyError``.

    Parameters
    ----------
    venue : str
        The venue, for the message.
    action : str
        What was being done, for the message.
    call : callable
        Returns the awaitable that sends the request and parses the reply.

    Returns
    -------
    Any
        What `call` returned.

    Raises
    ------
    UnreadableReply
        If parsing the reply raised a ``KeyError``, ``IndexError``, ``TypeError``,
        ``ValueError``, ``AttributeError`` or ``ArithmeticError``.
    """
    try:
        return await call()
    except _READ_FAILURES as exc:
        raise unreadable(venue, action, exc) from exc


def unreadable(venue: str, action: str, exc: Exception) -> UnreadableReply:
    """The :class:`UnreadableReply` for a reply of `venue` whose parsing raised `exc`.

    Parameters
    ----------
    venue : str
        The venue, for the message.
    action : str
        What was being done, for the message.
    exc : Exception
        What parsing raised (one of :func:`readable`'s failures); the error's cause.

    Returns
    -------
    UnreadableReply
        Naming the action, the venue and the first 120 characters of `exc`.
    """
    error = UnreadableReply(
        f"{action}: unreadable reply from {venue} ({type(exc).__name__}: {str(exc)[:120]})",
        venue=venue,
    )
    error.__cause__ = exc
    return error


class Ticker(BaseModel):
    """Best bid/ask and last trade of one instrument."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    timestamp: datetime | None
    venue: str


class Exchange(abc.ABC):
    """A trading venue behind one async interface.

    Parameters
    ----------
    mode : TradingMode
        The mode this client trades in; one of the venue's ``supported_modes``.
    audit : AuditSink or list of AuditSink, optional
        Extra audit sinks (the ``csl.audit`` logger is always one).
    secrets : list of str, optional
        The client's API key and secret, redacted from every log record and audit event.
    retry_policy : RetryPolicy, optional
        Backoff schedule for reads and for the place-order look-up.
    max_submit_attempts : int, default 3
        How many times one order may be *sent* (all with the same client id).
    default_market : MarketType, optional
        Market used when a request names none (default: the venue's).

    Raises
    ------
    ExchangeError
        If the venue has no such `mode`.
    """

    venue: str = "base"
    REFERENCE_TTL = 10.0
    supported_modes: tuple[TradingMode, ...] = ()
    markets: tuple[MarketType, ...] = ()
    # Markets on which the venue itself enforces reduce-only; elsewhere this layer does.
    native_reduce_only: tuple[MarketType, ...] = ()
    # Markets whose holdings are balances of the base asset, not positions (Bybit spot).
    balance_markets: tuple[MarketType, ...] = ()
    # Whether the venue's book lives in this process and dies with it (the simulated venue):
    # an order it received is lost with the process, so the order manager may journal the
    # order with its bar instead of committing it before sending (engine.orders).
    in_process: bool = False
    default_market: MarketType
    # The currency the account's equity is counted in; None: the first the venue lists.
    quote: str | None = None

    def __init__(
        self,
        mode: TradingMode,
        *,
        audit: AuditSink | list[AuditSink] | None = None,
        secrets: list[str] | None = None,
        retry_policy: RetryPolicy | None = None,
        max_submit_attempts: int = 3,
        default_market: MarketType | None = None,
    ) -> None:
        if mode not in self.supported_modes:
            modes = ", ".join(m.value for m in self.supported_modes)
            raise ExchangeError(
                f"{self.venue} has no {mode.value} mode (it supports: {modes})", venue=self.venue
            )
        self.mode = mode
        sinks: list[AuditSink] = [LoggingAuditSink()]
        if audit is not None:
            sinks.extend(audit if isinstance(audit, list) else [audit])
        self._secrets = [s for s in (secrets or []) if s]
        # ccxt logs request headers (the API key) at DEBUG: redact our secrets in every
        # log record of the process, whichever library writes it.
        install_redaction(self._secrets)
        self.audit = AuditLog(sinks, self._secrets)
        self.retry_policy = retry_policy or RetryPolicy()
        self.max_submit_attempts = max_submit_attempts
        self._reference_cache: dict[
            tuple[str, MarketType | None], tuple[float, Decimal | None]
        ] = {}
        if default_market is not None:
            self.default_market = self._check_market(default_market)

    # ---- context manager ----
    async def __aenter__(self) -> Exchange:
        """Enter ``async with``: the client itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Leave ``async with``: :meth:`close` the client."""
        await self.close()

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections (idempotent)."""

    # ---- helpers ----
    def _check_market(self, market: MarketType | None) -> MarketType:
        market = market or self.default_market
        if market not in self.markets:
            names = ", ".join(m.value for m in self.markets)
            raise InvalidOrder(
                f"{self.venue} does not trade the {market.value} market (it trades: {names})",
                venue=self.venue,
            )
        return market

    def _record(self, action: str, **fields: object) -> None:
        if not self.audit.listening:  # every sink muted: skip building the detail
            return
        self.audit.record(action, venue=self.venue, mode=self.mode.value, **fields)

    async def _read(self, what: str, call: Callable[..., Awaitable[T]], *args: object) -> T:
        # The first try, ``call(*args)``, is awaited here, :func:`readable`'s rule applied
        # inline: most reads succeed at once and then cost no wrapper (an in-process venue's
        # read is a few us, which a closure per read would add to).
        try:
            return await call(*args)
        except RETRYABLE as exc:
            failed: Exception = exc
        except _READ_FAILURES as exc:
            failed = unreadable(self.venue, what, exc)
        return await retry_read(
            lambda: readable(self.venue, what, lambda: call(*args)),
            self.retry_policy,
            f"{self.venue} {what}",
            failed=failed,
        )

    # ---- primitives each venue implements ----
    @abc.abstractmethod
    async def market_rules(self, symbol: str, market: MarketType) -> MarketRules:
        """Lot step, tick size and minimums of ``symbol`` on ``market``.

        Parameters
        ----------
        symbol : str
            Venue symbol.
        market : MarketType
            Its market.

        Returns
        -------
        MarketRules
            What :func:`~crypto_strategy_lab.exchanges.rules.apply_rules` rounds and checks
            against.
        """

    @abc.abstractmethod
    async def _submit(self, request: OrderRequest) -> OrderResult:
        """Send one order (already rounded, ``market`` set). One request, no retries."""

    @abc.abstractmethod
    async def _find_by_client_id(self, request: OrderRequest) -> OrderResult | None:
        """The venue's order with ``request.client_order_id``, or ``None`` if it has none."""

    @abc.abstractmethod
    def _is_duplicate(self, exc: ExchangeError) -> bool:
        """Whether ``exc`` is the venue's "this client order id already exists" reply."""

    async def _reference_price(self, request: OrderRequest) -> Decimal | None:
        """Price used to value a market order for the minimum-notional check.

        Cached for :attr:`REFERENCE_TTL` seconds: the check needs the order of magnitude,
        not a fresh quote, and a ticker request per order would halve order throughput.
        """
        if request.order_type is not OrderType.MARKET:
            return None
        key = (request.symbol, request.market)
        now = time.monotonic()
        cached = self._reference_cache.get(key)
        if cached is not None and now - cached[0] < self.REFERENCE_TTL:
            return cached[1]
        ticker = await self.get_ticker(request.symbol, market=request.market)
        price = ticker.last or ticker.ask or ticker.bid
        self._reference_cache[key] = (now, price)
        return price

    # ---- orders ----
    async def prepare_order(self, request: OrderRequest) -> OrderRequest:
        """``request`` with its market resolved, rounded to the venue's rules and checked.

        Parameters
        ----------
        request : OrderRequest
            The order as our code means it.

        Returns
        -------
        OrderRequest
            The order as it will be sent: quantity rounded down to the lot step, a limit
            price to the tick in the order's favour (buys down, sells up), trigger prices to
            the nearest tick. A reduce-only order on a market outside
            ``native_reduce_only`` is capped at the position and sent without the flag.

        Raises
        ------
        InvalidOrder
            If the venue does not trade the market, the rounded order breaks the venue's
            minimum or maximum quantity or minimum notional (a market order is valued at a
            last price cached for ``REFERENCE_TTL`` seconds), or a reduce-only order would
            not reduce the position.
        """
        market = self._check_market(request.market)
        if request.market is not market:  # an enum member: no re-validation needed
            request = request.model_copy(update={"market": market})
        if request.reduce_only and market not in self.native_reduce_only:
            request = await self._reduce_only_here(request, market)
        rules = await self.market_rules(request.symbol, market)
        reference = await self._reference_price(request) if rules.min_notional > 0 else None
        return apply_rules(request, rules, reference, venue=self.venue)

    async def _reduce_only_here(self, request: OrderRequest, market: MarketType) -> OrderRequest:
        """`request` as a plain order that only reduces what the venue holds (:meth:`holding`).

        The holding is read just before sending; a fill between the read and the order (a
        stop at the venue) can leave the order larger than what is then held, which the
        venue refuses where shorting is impossible (fractional shares, spot) and otherwise
        fills.
        """
        held = await self.holding(request.symbol, market=market)
        if request.side.sign * held >= 0:
            raise InvalidOrder(
                f"{request.symbol}: reduce-only order would not reduce the position ({held})",
                venue=self.venue,
            )
        return request.model_copy(
            update={"reduce_only": False, "quantity": min(request.quantity, abs(held))}
        )

    async def holding(self, symbol: str, *, market: MarketType | None = None) -> Decimal:
        """What the account holds of `symbol`, signed (long positive).

        Parameters
        ----------
        symbol : str
            Venue symbol.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        Decimal
            The net of the positions the venue lists; on a market in ``balance_markets``
            (spot, where holdings are balances) the *free* balance of the base asset, the
            most a sell can deliver.
        """
        market = self._check_market(market)
        if market in self.balance_markets:
            base = (await self.market_rules(symbol, market)).base
            balance = (await self.get_balance()).get(base)
            return balance.free if balance is not None else Decimal(0)
        return sum(
            (p.quantity for p in await self.get_positions(symbol, market=market)), Decimal(0)
        )

    def closing_request(self, symbol: str, held: Decimal, market: MarketType) -> OrderRequest:
        """The order that closes a signed holding `held`: the one closing rule of every venue.

        A reduce-only market order on the other side for ``|held|``; ``DAY`` for US
        equities (Alpaca closes fractional positions only with DAY orders), ``GTC``
        elsewhere. :meth:`close_position` and the engine's flatten (the kill switch) both
        build their orders here; :meth:`prepare_order` enforces the reduce-only cap.

        Parameters
        ----------
        symbol : str
            Venue symbol.
        held : Decimal
            The signed holding to close (long > 0).
        market : MarketType
            Market of the symbol.

        Returns
        -------
        OrderRequest
            The closing order: a sell for a long holding, a buy otherwise.
        """
        return OrderRequest(
            symbol=symbol,
            side=OrderSide.SELL if held > 0 else OrderSide.BUY,
            order_type=OrderType.MARKET,
            quantity=abs(held),
            market=market,
            reduce_only=True,
            time_in_force=TimeInForce.DAY if market is MarketType.STOCK else TimeInForce.GTC,
        )

    async def closing_order(
        self, symbol: str, ours: Decimal, *, market: MarketType | None = None
    ) -> OrderRequest | None:
        """The order that closes the holding `ours` (signed) of a run, never more.

        Parameters
        ----------
        symbol : str
            Venue symbol.
        ours : Decimal
            What the caller's journal says it holds (the net of its fills).
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        OrderRequest or None
            :meth:`closing_request` for ``ours`` capped at what the account holds on the
            same side (:meth:`holding`), or ``None`` when that is nothing. The cap keeps a
            close from opening the other way when the venue holds less (a stop filled, a
            spot fee paid in the base coin), and leaves alone what the account held beyond
            ``ours`` (coins or shares that were there before).
        """
        market = self._check_market(market)
        held = await self.holding(symbol, market=market)
        if ours == 0 or ours * held <= 0:
            return None
        quantity = min(abs(ours), abs(held))
        return self.closing_request(symbol, quantity if ours > 0 else -quantity, market)

    async def place_order(self, request: OrderRequest) -> OrderResult:
        """Send an order safely; see the module docstring for the idempotency protocol.

        Parameters
        ----------
        request : OrderRequest
            The order; :meth:`prepare_order` rounds and checks it first. Every attempt uses
            its ``client_order_id``.

        Returns
        -------
        OrderResult
            The venue's acknowledgement (status ``SUBMITTED`` unless the venue reported
            more), or the order found by its client id after an uncertain outcome or a
            duplicate reply; call :meth:`get_order` for fills.

        Raises
        ------
        ExchangeError
            A definite refusal at once; after ``max_submit_attempts`` uncertain outcomes
            with no order found, the last error.
        """
        request = await self.prepare_order(request)
        cid = request.client_order_id
        if self.audit.listening:
            self._record(
                "order.request",
                client_order_id=cid,
                symbol=request.symbol,
                detail=request.model_dump(mode="json"),
            )
        last_error: ExchangeError | None = None
        for attempt in range(1, self.max_submit_attempts + 1):
            try:
                result = await readable(self.venue, "place order", lambda: self._submit(request))
            except ExchangeError as exc:
                last_error = exc
                self._record(
                    "order.error",
                    client_order_id=cid,
                    symbol=request.symbol,
                    detail={
                        "error": type(exc).__name__,
                        "code": exc.code,
                        "message": str(exc),
                        "attempt": attempt,
                    },
                )
                if self._is_duplicate(exc):
                    found = await self._read(
                        "order lookup", lambda: self._find_by_client_id(request)
                    )
                    if found is not None:
                        self._record_reply("order.reply", found, duplicate=True)
                        return found
                    raise
                if not isinstance(exc, UNCERTAIN):
                    raise
                found = await self._read("order lookup", lambda: self._find_by_client_id(request))
                self._record(
                    "order.lookup",
                    client_order_id=cid,
                    symbol=request.symbol,
                    detail={"found": found is not None},
                )
                if found is not None:
                    self._record_reply("order.reply", found)
                    return found
                if attempt < self.max_submit_attempts:
                    await asyncio.sleep(self.retry_policy.delay(attempt))
                    self._record(
                        "order.resend",
                        client_order_id=cid,
                        symbol=request.symbol,
                        detail={"attempt": attempt + 1},
                    )
                continue
            self._record_reply("order.reply", result)
            return result
        assert last_error is not None
        raise last_error

    def _record_reply(self, action: str, result: OrderResult, **extra: object) -> None:
        if not self.audit.listening:
            return
        detail: dict[str, object] = {
            "status": result.status,
            "order_type": result.order_type,
            "side": result.side,
            "quantity": result.quantity,
            "filled_quantity": result.filled_quantity,
            "average_price": result.average_price,
            "price": result.price,
            "stop_price": result.stop_price,
            "venue_reply": result.raw,
            **extra,
        }
        self._record(
            action,
            client_order_id=result.client_order_id,
            order_id=result.order_id,
            symbol=result.symbol,
            detail=detail,
        )

    async def cancel_order(
        self, order_id: str, symbol: str, *, market: MarketType | None = None
    ) -> OrderResult:
        """Cancel one order.

        Parameters
        ----------
        order_id : str
            Venue order id.
        symbol : str
            Its symbol.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        OrderResult
            The order as the venue reports it afterwards.

        Raises
        ------
        ExchangeError
            As the venue reports it (not retried: a cancel is an order action).
        """
        market = self._check_market(market)
        self._record(
            "order.cancel", order_id=order_id, symbol=symbol, detail={"market": market.value}
        )
        try:
            result = await readable(
                self.venue, "cancel order", lambda: self._cancel(order_id, symbol, market)
            )
        except ExchangeError as exc:
            self._record(
                "order.error",
                order_id=order_id,
                symbol=symbol,
                detail={"error": type(exc).__name__, "code": exc.code, "message": str(exc)},
            )
            raise
        self._record_reply("order.cancel_reply", result)
        return result

    async def cancel_all_orders(
        self, symbol: str | None = None, *, market: MarketType | None = None
    ) -> list[str]:
        """Cancel every open order, of ``symbol`` when given.

        Parameters
        ----------
        symbol : str, optional
            Only this symbol's orders.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        list of str
            The cancelled order ids.
        """
        market = self._check_market(market)
        self._record("order.cancel_all", symbol=symbol, detail={"market": market.value})
        ids = await readable(
            self.venue, "cancel all orders", lambda: self._cancel_all(symbol, market)
        )
        self._record("order.cancel_all_reply", symbol=symbol, detail={"order_ids": ids})
        return ids

    async def close_position(
        self, symbol: str, *, market: MarketType | None = None
    ) -> list[OrderResult]:
        """Flatten ``symbol`` at the account: one reduce-only market order per open position.

        Every position the venue lists for `symbol` is closed, not only the first: a venue
        may list several (hedge-mode legs). This is the account-wide close a trader asks for
        by hand; the engine's kill switch closes what its runs hold instead
        (:meth:`closing_order`), through the same :meth:`closing_request`. Spot holdings
        are balances, not positions (``balance_markets``): nothing is sold for them here,
        since coins the account held before cannot be told from a run's.

        Parameters
        ----------
        symbol : str
            Venue symbol.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        list of OrderResult
            The closing orders' acknowledgements (via :meth:`place_order`), in the venue's
            order of the positions; empty if flat.
        """
        market = self._check_market(market)
        positions = [p for p in await self.get_positions(symbol, market=market) if p.quantity != 0]
        results = []
        for position in positions:
            self._record(
                "position.close",
                symbol=symbol,
                detail={"quantity": str(position.quantity), "market": market.value},
            )
            request = self.closing_request(symbol, position.quantity, market)
            results.append(await self.place_order(request))
        return results

    # ---- reads (retried) ----
    async def get_order(
        self, order_id: str, symbol: str, *, market: MarketType | None = None
    ) -> OrderResult:
        """One order by venue id, with its fills (retried read).

        Parameters
        ----------
        order_id : str
            Venue order id.
        symbol : str
            Its symbol.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        OrderResult
            The order as the venue reports it now.
        """
        market = self._check_market(market)
        return await self._read("get_order", lambda: self._fetch_order(order_id, symbol, market))

    async def get_order_by_client_id(
        self, client_order_id: str, symbol: str, *, market: MarketType | None = None
    ) -> OrderResult | None:
        """The order with our ``client_order_id``, or ``None`` (reconciliation after restarts).

        Parameters
        ----------
        client_order_id : str
            Our idempotency key.
        symbol : str
            Its symbol.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        OrderResult or None
            The venue's order, or ``None`` if it has none with that id.
        """
        market = self._check_market(market)
        probe = OrderRequest(
            symbol=symbol,
            side="BUY",
            order_type=OrderType.MARKET,
            quantity=Decimal(1),
            market=market,
            client_order_id=client_order_id,
        )
        return await self._read("order lookup", lambda: self._find_by_client_id(probe))

    async def get_open_orders(
        self, symbol: str | None = None, *, market: MarketType | None = None
    ) -> list[OrderResult]:
        """Open orders, of ``symbol`` when given (retried read).

        Parameters
        ----------
        symbol : str, optional
            Only this symbol's orders.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        list of OrderResult
            The open orders.
        """
        market = self._check_market(market)
        return await self._read("get_open_orders", lambda: self._fetch_open_orders(symbol, market))

    async def get_balance(self) -> dict[str, Balance]:
        """Balances by currency/asset (retried read).

        Returns
        -------
        dict of str to Balance
            Currency or asset -> its total, free and used amounts.
        """
        return await self._read("get_balance", self._fetch_balance)

    async def get_positions(
        self, symbol: str | None = None, *, market: MarketType | None = None
    ) -> list[Position]:
        """Open positions, of ``symbol`` when given (retried read).

        Parameters
        ----------
        symbol : str, optional
            Only this symbol's positions.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        list of Position
            Net positions with signed quantities.
        """
        market = self._check_market(market)
        return await self._read("get_positions", self._fetch_positions, symbol, market)

    async def get_account_value(
        self, symbol: str, *, market: MarketType | None = None
    ) -> AccountValue:
        """The account marked to market: its equity and the positions of ``symbol`` (retried read).

        What the engine reads on every bar (equity snapshot) and before every order (sizing,
        risk): one read instead of a balance and a position query.

        Parameters
        ----------
        symbol : str
            Venue symbol whose positions are given.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        AccountValue
            The ``total`` of the account's quote currency (:attr:`quote`, else the first
            currency the venue lists; 0 when there is no such balance) and the non-zero
            positions of ``symbol``.
        """
        market = self._check_market(market)
        return await self._read("get_account_value", self._fetch_account_value, symbol, market)

    async def get_ticker(self, symbol: str, *, market: MarketType | None = None) -> Ticker:
        """Best bid/ask and last trade of ``symbol`` (retried read).

        Parameters
        ----------
        symbol : str
            Venue symbol.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        Ticker
            The quote; fields the venue does not report are ``None``.
        """
        market = self._check_market(market)
        return await self._read("get_ticker", lambda: self._fetch_ticker(symbol, market))

    async def get_ohlcv(
        self,
        symbol: str,
        timeframe: str = "1h",
        *,
        since: datetime | None = None,
        limit: int | None = None,
        market: MarketType | None = None,
    ) -> pd.DataFrame:
        """Bars as a frame valid under :func:`crypto_strategy_lab.data.schema.validate_ohlcv`.

        Parameters
        ----------
        symbol : str
            Venue symbol.
        timeframe : str, default "1h"
            Bar size.
        since : datetime.datetime, optional
            First bar's open time.
        limit : int, optional
            Maximum number of bars.
        market : MarketType, optional
            Market of the symbol; default the client's ``default_market``.

        Returns
        -------
        pandas.DataFrame
            OHLCV bars on a UTC ``DatetimeIndex`` of bar open times.
        """
        market = self._check_market(market)
        return await self._read(
            "get_ohlcv", lambda: self._fetch_ohlcv(symbol, timeframe, since, limit, market)
        )

    async def set_leverage(
        self, symbol: str, leverage: Decimal | int, *, market: MarketType | None = None
    ) -> None:
        """Set the leverage of a perpetual (a no-op reply from the venue counts as success).

        Parameters
        ----------
        symbol : str
            Venue symbol.
        leverage : Decimal or int
            Leverage, > 0.
        market : MarketType, optional
            Must resolve to the linear perpetual market.

        Raises
        ------
        InvalidOrder
            If the market is not linear perpetuals or `leverage` is not positive.
        """
        market = self._check_market(market)
        if market is not MarketType.LINEAR:
            raise InvalidOrder(
                f"leverage applies to linear perpetuals, not the {market.value} market",
                venue=self.venue,
            )
        leverage = Decimal(leverage)
        if leverage <= 0:
            raise InvalidOrder(f"leverage must be positive, got {leverage}", venue=self.venue)
        self._record("leverage.set", symbol=symbol, detail={"leverage": str(leverage)})
        await self._set_leverage(symbol, leverage, market)

    # ---- venue primitives behind the reads ----
    @abc.abstractmethod
    async def _cancel(self, order_id: str, symbol: str, market: MarketType) -> OrderResult: ...

    @abc.abstractmethod
    async def _cancel_all(self, symbol: str | None, market: MarketType) -> list[str]: ...

    @abc.abstractmethod
    async def _fetch_order(self, order_id: str, symbol: str, market: MarketType) -> OrderResult: ...

    @abc.abstractmethod
    async def _fetch_open_orders(
        self, symbol: str | None, market: MarketType
    ) -> list[OrderResult]: ...

    @abc.abstractmethod
    async def _fetch_balance(self) -> dict[str, Balance]: ...

    @abc.abstractmethod
    async def _fetch_positions(self, symbol: str | None, market: MarketType) -> list[Position]: ...

    async def _fetch_account_value(self, symbol: str, market: MarketType) -> AccountValue:
        # Composed from the two primitives every venue implements (a remote venue has no one
        # call for both); an in-process venue answers from its own state instead.
        balances = await self._fetch_balance()
        quote = self.quote or next(iter(balances), None)
        balance = balances.get(quote) if quote else None
        positions = await self._fetch_positions(symbol, market)
        return AccountValue(
            balance.total if balance is not None else Decimal(0),
            tuple(PositionMark.of(p) for p in positions if p.quantity != 0),
        )

    @abc.abstractmethod
    async def _fetch_ticker(self, symbol: str, market: MarketType) -> Ticker: ...

    @abc.abstractmethod
    async def _fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str,
        since: datetime | None,
        limit: int | None,
        market: MarketType,
    ) -> pd.DataFrame: ...

    @abc.abstractmethod
    async def _set_leverage(self, symbol: str, leverage: Decimal, market: MarketType) -> None: ...
