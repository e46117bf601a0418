"""A local venue for paper trading and replay: fills against bars, costs from :class:`CostModel`.

Accounting (one margin account in the quote currency, e.g. USDT):

* a position holds a signed quantity ``q`` and an average entry ``a``; cash changes only by
  realised PnL (``closed * (p - a) * sign(q)``), fees and funding;
* equity ``E = cash + sum q (mark - a)``; margin in use ``M = sum |q| a / leverage`` plus the
  margin of open orders; ``free = E - M``; an order needs margin for the part that opens
  exposure only (one-way position mode: the part closing the held position releases its
  margin ``closed x a / leverage``), plus its fee;
* spot and stock markets use leverage 1 and refuse sales beyond the holding (no shorting);
  linear perpetuals may go short and pay funding (``CostModel.funding_payment``).

Funding (Bybit's convention, the backtest's too, see ``backtest.funding``): at each 00:00,
08:00 and 16:00 UTC instant ``f`` a linear position pays ``q x P x r`` (received when
negative), ``q`` being the position held at that instant — the one carried into the bar that
opens at ``f`` — and ``P`` the last price before it. On bars, ``f`` belongs to the bar whose
interval ``(open, close]`` contains it: it is settled at the end of that bar's
:meth:`SimulatedExchange.on_bar`, after the bar's fills, at the bar's close (several instants
in one bar add up). The bar's close time is ``close_time`` when given (the engine passes it),
else the open plus the spacing to the previous bar (no funding on a first bar of unknown
length).

Matching (:mod:`.matching`): orders live when a bar opens are matched against that bar.
``fill_policy="next_open"`` (default) gives the backtest's timing; ``"last_close"`` fills
market orders at once against the last close (interactive paper sessions without a feed).
Attached stop-loss / take-profit become a reduce-only exit pair (stop and limit), checked
stop first when one bar touches both (the conservative assumption). Within a bar, orders sent
after the previous close fill first (at the open), then the resting reduce-only exits on the
bar's path (a reduce-only exit fills at most the position it finds, so an exit resting
across a rebalance closes the whole new position), then a liquidation: a linear position
whose equity reaches maintenance margin (``CostModel.maintenance_margin_rate``) is closed at
the liquidation price (the open on a gap) with the taker fee, and equity is floored at zero
(:func:`~crypto_strategy_lab.core.execution.liquidation_price`, Bybit's cross-margin rule).
The backtest kernel runs the same steps in the same order with the same functions.

Identifiers: venue order ids (``sim-00000001``) count per instance, i.e. per account, like a
real venue's. A fill's trade id is ``"<client order id>:<n>"`` (the order's n-th fill): a
journal holds fills of many simulated accounts and runs under the one venue name
``simulated`` with ``(venue, trade_id)`` unique, so trade ids must be unique across accounts
and runs (client order ids are), and the same order replayed after a restart must give the
same trade id (the engine's client order ids are deterministic), so re-journaling is a no-op.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.core import execution
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import (
    MarketType,
    OrderSide,
    OrderStatus,
    OrderType,
    TradingMode,
)
from crypto_strategy_lab.core.epoch import EPOCH
from crypto_strategy_lab.core.errors import (
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
)
from crypto_strategy_lab.core.orders import (
    AccountMarks,
    AccountValue,
    Balance,
    Fill,
    OrderRequest,
    OrderResult,
    Position,
    PositionMark,
)
from crypto_strategy_lab.data.schema import validate_ohlcv
from crypto_strategy_lab.data.timeframes import as_timedelta, grid_origin
from crypto_strategy_lab.exchanges.base import Exchange, Ticker
from crypto_strategy_lab.exchanges.rules import MarketRules
from crypto_strategy_lab.exchanges.simulated.history import BarHistory
from crypto_strategy_lab.exchanges.simulated.matching import Bar, match_order, quiet_band

D0 = Decimal(0)
D1 = Decimal(1)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)
_US = timedelta(microseconds=1)
DUPLICATE = "duplicate-client-order-id"
FILL_POLICIES = ("next_open", "last_close")


@dataclass
class _Order:
    request: OrderRequest
    order_id: str
    created_at: datetime
    status: OrderStatus = OrderStatus.NEW
    filled: Decimal = D0
    average: Decimal | None = None
    updated_at: datetime | None = None
    fills: list[Fill] = field(default_factory=list)
    triggered: bool = False
    oco_with: str | None = None
    # matching.quiet_band of a resting order: a bar inside it cannot fill the order
    quiet: tuple[float, float] = (float("inf"), float("-inf"))


@dataclass
class _Position:
    market: MarketType
    quantity: Decimal = D0
    average: Decimal = D0
    last_order: str = ""  # client id of the last order that filled on it (_liquidation_id)


def _liquidation_id(position: _Position, order_id: str) -> str:
    """The client id of the venue's liquidation order ``order_id`` of ``position``.

    Deterministic, so a replay re-lived after a restart gives the liquidation, and its fill's
    trade id, the ids of the first time (the journal then knows the fill, instead of booking
    it twice); and unique per run and sleeve, as the trade ids of one venue name must be
    across a journal: it is derived from the client id of the order that last filled on the
    position (a run's and sleeve's own, :mod:`crypto_strategy_lab.engine.ids`), which no
    other liquidation follows (a liquidation leaves the position flat).
    """
    digest = hashlib.sha256(f"{position.last_order}|{order_id}".encode()).hexdigest()
    return f"liq-{digest[:32]}"


def _close_mark(close: float) -> Decimal:
    """A bar's close as the mark: the exact decimal of its shortest repr (``0.1`` -> ``0.1``)."""
    return Decimal(repr(close))


def _unrealized(position: _Position, mark: Decimal) -> Decimal:
    """Unrealised P&L of a position at ``mark``: ``q (mark - average entry)``."""
    return position.quantity * (mark - position.average)


class SimulatedExchange(Exchange):
    """In-memory venue; feed it bars with :meth:`on_bar` (or give history in ``bars=``)."""

    venue = "simulated"
    supported_modes = (TradingMode.SIMULATED,)
    in_process = True
    markets = (MarketType.LINEAR, MarketType.SPOT, MarketType.STOCK)
    native_reduce_only = (MarketType.LINEAR, MarketType.SPOT, MarketType.STOCK)
    default_market = MarketType.LINEAR

    def __init__(
        self,
        mode: TradingMode = TradingMode.SIMULATED,
        *,
        cost_model: CostModel | None = None,
        cash: Decimal | float | str = Decimal(10_000),
        quote_currency: str = "USDT",
        bars: Mapping[str, pd.DataFrame] | None = None,
        rules: Mapping[str, MarketRules] | None = None,
        fill_policy: str = "next_open",
        **options: Any,
    ) -> None:
        super().__init__(mode, **options)
        if fill_policy not in FILL_POLICIES:
            raise InvalidOrder(
                f"fill_policy must be one of {FILL_POLICIES}, got {fill_policy!r}", venue=self.venue
            )
        self.costs = cost_model or CostModel()
        self.cash = Decimal(str(cash))
        self.quote = quote_currency
        self.fill_policy = fill_policy
        self.rules = dict(rules or {})
        self.leverage: dict[str, Decimal] = {}
        self._history: dict[str, BarHistory] = {}
        self._orders: dict[str, _Order] = {}
        self._open: dict[str, _Order] = {}  # orders not yet terminal (pruned lazily)
        self._by_client: dict[str, str] = {}
        self._positions: dict[str, _Position] = {}
        self._marks: dict[str, tuple[Bar, Decimal]] = {}  # symbol -> (its last bar, close)
        self._ids = itertools.count(1)
        # symbol -> (quantity, average, cash, costs it was computed from, side, liquidation
        # price): _liquidation_level
        self._liquidation_levels: dict[str, tuple[Any, ...]] = {}
        # the funding period [k 8h, (k + 1) 8h) that held the last bar's close: no instant
        # falls in a bar inside it (start > end: none known yet)
        self._funding_period: tuple[datetime, datetime] = (_FAR_FUTURE, EPOCH)
        # the last reads' answers (frozen models), given again while nothing they show
        # changed: _fetch_balance, _fetch_positions
        self._balance: Balance | None = None
        self._position_reads: dict[str, tuple[Any, ...]] = {}
        self._now: datetime | None = None
        for symbol, frame in (bars or {}).items():
            self._history[symbol] = BarHistory(validate_ohlcv(frame))

    async def close(self) -> None:
        """Nothing to release: the venue holds no connection."""
        return None

    # ---- market data in ----
    def on_bar(
        self,
        symbol: str,
        timestamp: datetime | pd.Timestamp,
        bar: Mapping[str, float],
        *,
        close_time: datetime | pd.Timestamp | None = None,
    ) -> list[Fill]:
        """Advance ``symbol`` by the bar that opens at ``timestamp``.

        Protective exits, then resting orders, then the funding of instants in
        ``(timestamp, close_time]``.

        Parameters
        ----------
        symbol : str
            The symbol.
        timestamp : datetime.datetime or pandas.Timestamp
            The bar's open time.
        bar : mapping of str to float
            ``open, high, low, close, volume``.
        close_time : datetime.datetime or pandas.Timestamp, optional
            The bar's close, bounding the funding instants charged.

        Returns
        -------
        list of Fill
            The fills this bar produced.
        """
        ts = _utc(timestamp)
        b = Bar(
            float(bar["open"]),
            float(bar["high"]),
            float(bar["low"]),
            float(bar["close"]),
            float(bar["volume"]),
        )
        self._now = ts.to_pydatetime() if isinstance(ts, pd.Timestamp) else ts
        fills: list[Fill] = []
        if self._open:  # else no order rests anywhere: nothing to match
            live = self._live_orders(symbol)
            low, high = b.low, b.high
            for order in live:
                lower, upper = order.quiet
                if not (low > lower and high < upper):
                    break
            else:  # every order rests on through this bar (a position's resting exits)
                live = []
            # time order of one bar (the backtest kernel's): the orders sent after the last
            # close fill at the open first, then the resting reduce-only exits on the bar's
            # path, the stop before the take-profit when one bar reaches both
            live.sort(
                key=lambda o: (o.request.reduce_only, o.request.order_type is not OrderType.STOP)
            )
            for order in live:
                if order.status.is_terminal:  # cancelled by its OCO sibling on this bar
                    continue
                fill = self._match(order, b)
                if fill is not None:
                    fills.append(fill)
        history = self._history.get(symbol)
        if history is None:
            history = self._history[symbol] = BarHistory()
        if close_time is not None:
            close = _utc(close_time)
        else:
            close = ts + (ts - history.last_time()) if len(history) else ts
        liquidation = self._liquidate(symbol, b)
        if liquidation is not None:
            fills.append(liquidation)
        history.append(ts, b)
        self._settle_funding(symbol, ts, close, b.close)
        return fills

    def quiet_bars(
        self,
        symbol: str,
        open_us: np.ndarray,
        close_us: np.ndarray,
        high: np.ndarray,
        low: np.ndarray,
    ) -> int:
        """How many of the next bars of ``symbol`` leave the account as it is.

        The bars on which :meth:`on_bar` would fill nothing, liquidate nothing and charge no
        funding, given the account now: each live order of ``symbol`` rests inside its
        :func:`~.matching.quiet_band` (``low > lower`` and ``high < upper``); a linear
        position's adverse extreme stays short of its liquidation level (``low > liq`` long,
        ``high < liq`` short: :meth:`_liquidate`'s test); and the bar's open and close lie in
        the funding period of the last bar (:meth:`_settle_funding`'s test; a position whose
        period is not known yet has no quiet bar). Such bars change only the bar history,
        which :meth:`skip_quiet_bars` appends in one step.

        Parameters
        ----------
        symbol : str
            The symbol.
        open_us, close_us : numpy.ndarray
            int64 open and close times of the next bars (µs since the epoch, UTC).
        high, low : numpy.ndarray
            Their float64 highs and lows.

        Returns
        -------
        int
            The length of the leading run of quiet bars (0 to ``len(high)``).
        """
        n = len(high)
        if not n:
            return 0
        loud = np.zeros(n, dtype=bool)
        for order in self._live_orders(symbol) if self._open else ():
            lower, upper = order.quiet
            loud |= (low <= lower) | (high >= upper)
        position = self._positions.get(symbol)
        if position is not None and position.quantity and position.market is MarketType.LINEAR:
            direction, liq = self._liquidation_level(symbol, position)
            if liq > 0.0:
                loud |= (low <= liq) if direction > 0 else (high >= liq)
            lo, hi = self._funding_period
            loud |= (open_us < (lo - EPOCH) // _US) | (close_us >= (hi - EPOCH) // _US)
        first = int(np.argmax(loud))
        return first if loud[first] else n

    def skip_quiet_bars(
        self, symbol: str, open_us: np.ndarray, ohlcv: np.ndarray, last_open: datetime
    ) -> None:
        """Append bars that :meth:`quiet_bars` found quiet, as :meth:`on_bar` would.

        Parameters
        ----------
        symbol : str
            The symbol.
        open_us : numpy.ndarray
            int64 open times (µs since the epoch, UTC), increasing, after the last bar's.
        ohlcv : numpy.ndarray
            float64 rows of ``open, high, low, close, volume``.
        last_open : datetime
            The last bar's open time (UTC), as :meth:`on_bar` would have been given it.
        """
        ts = _utc(last_open)
        self._now = ts.to_pydatetime() if isinstance(ts, pd.Timestamp) else ts
        history = self._history.get(symbol)
        if history is None:
            history = self._history[symbol] = BarHistory()
        history.extend(open_us * 1000, ohlcv, ts)

    def account_values_at(self, symbol: str, closes: Sequence[float]) -> AccountMarks:
        """What :meth:`get_account_value` answers after each of the closes of quiet bars.

        Parameters
        ----------
        symbol : str
            The symbol the bars are of.
        closes : sequence of float
            Their closes, in order; the account does not change between them (no fill, no
            funding: :meth:`quiet_bars`).

        Returns
        -------
        AccountMarks
            One point per close, ``symbol`` marked at its :func:`_close_mark`; its position's
            unrealised P&L ``q (mark - a)`` computed once per close for both columns.
        """
        marks = [_close_mark(close) for close in closes]
        pos = self._positions.get(symbol)
        if not marks:
            return AccountMarks((), (), (), ())
        if pos is None or pos.quantity == 0:
            return AccountMarks([self._equity_marked(symbol, None)] * len(marks), (), (), ())
        unrealized = [_unrealized(pos, mark) for mark in marks]
        if any(p.quantity for s, p in self._positions.items() if s != symbol):
            # other positions: equity() adds them in the account's order
            equity = [self._equity_marked(symbol, mark) for mark in marks]
        else:
            cash = self.cash
            equity = [cash + u for u in unrealized]  # equity(): cash, then the one position
        first = PositionMark(
            symbol, pos.quantity, pos.average, pos.market, self.venue, marks[0], unrealized[0]
        )
        return AccountMarks(equity, (first,), (marks,), (unrealized,))

    def _liquidate(self, symbol: str, bar: Bar) -> Fill | None:
        """Close a linear position whose equity reached maintenance margin on ``bar``.

        At the price of :func:`~crypto_strategy_lab.core.execution.liquidation_price`, at the
        open on a gap, with the taker fee; the account's equity is floored at zero.
        """
        position = self._positions.get(symbol)
        if position is None or not position.quantity or position.market is not MarketType.LINEAR:
            return None
        direction, liq = self._liquidation_level(symbol, position)
        # liquidation_fill triggers a long at ``low <= liq`` and a short at ``high >= liq``
        # (a stop on the closing side): a bar whose adverse extreme stays short of the level
        # cannot liquidate, and most bars of a position are such bars
        if liq <= 0.0 or (bar.low > liq if direction > 0 else bar.high < liq):
            return None
        price = execution.liquidation_fill(direction, liq, bar.open, bar.high, bar.low)
        if price < 0:
            return None
        q = float(position.quantity)
        side = OrderSide.SELL if q > 0 else OrderSide.BUY
        order_id = self._next_order_id()
        order = self._new_order(
            OrderRequest(
                symbol=symbol,
                side=side,
                order_type=OrderType.MARKET,
                quantity=abs(position.quantity),
                market=position.market,
                reduce_only=True,
                client_order_id=_liquidation_id(position, order_id),
            ),
            order_id,
        )
        fill_px = Decimal(repr(price))
        fee = Decimal(repr(abs(q) * price * self.costs.fee_rate(maker=False)))
        fill = self._fill(order, abs(position.quantity), fill_px, fee)
        self.cash = max(self.cash, D0)  # the insurance fund takes the loss beyond the account
        for other in self._live_orders(symbol):
            other.status = OrderStatus.CANCELLED
        return fill

    def _liquidation_level(self, symbol: str, position: _Position) -> tuple[int, float]:
        """The side (+1 long, -1 short) and liquidation price of ``symbol``'s position.

        :func:`~crypto_strategy_lab.core.execution.liquidation_price` of the position and the
        cash, remembered until one of the objects it is computed from (position quantity and
        average, cash, cost model) is replaced: Decimals are immutable, so the same objects
        give the same price.
        """
        c = self._liquidation_levels.get(symbol)
        if (
            c is not None
            and c[0] is position.quantity
            and c[1] is position.average
            and c[2] is self.cash
            and c[3] is self.costs
        ):
            return c[4], c[5]
        q = float(position.quantity)
        cash_net = float(self.cash) - q * float(position.average)
        liq = execution.liquidation_price(q, cash_net, self.costs.maintenance_margin_rate)
        direction = 1 if q > 0 else -1
        self._liquidation_levels[symbol] = (
            position.quantity, position.average, self.cash, self.costs, direction, liq,
        )  # fmt: skip
        return direction, liq

    def _settle_funding(
        self, symbol: str, opened: datetime, closed: datetime, price: float
    ) -> None:
        """Pay ``q P r`` once per funding instant in ``(opened, closed]``."""
        position = self._positions.get(symbol)
        if position is None or not position.quantity or position.market is not MarketType.LINEAR:
            return
        lo, hi = self._funding_period
        if lo <= opened and closed < hi:
            # both ends in one funding period [k 8h, (k + 1) 8h): their whole seconds divide
            # to the same k, funding_instants would give 0
            return
        closed_s = int(closed.timestamp())
        instants = execution.funding_instants(int(opened.timestamp()), closed_s)
        # The period is trusted only where the seconds the reference computes are exact
        # floors: from the epoch (int() truncates towards zero) until 2**32 s (year 2106; a
        # float timestamp still resolves the microsecond before a period's end).
        if 0 <= closed_s < 2**32:
            start = closed_s - closed_s % execution.FUNDING_INTERVAL_SECONDS
            self._funding_period = (
                EPOCH + timedelta(seconds=start),
                EPOCH + timedelta(seconds=start + execution.FUNDING_INTERVAL_SECONDS),
            )
        if instants > 0:
            payment = execution.funding_payment(
                float(position.quantity), price, self.costs.funding_rate_8h * instants
            )
            self.cash -= Decimal(repr(float(payment)))

    def _last_bar(self, symbol: str) -> Bar:
        history = self._history.get(symbol)
        last = history.last() if history is not None else None
        if last is None:
            raise InvalidOrder(
                f"no market data for {symbol} yet: feed bars with on_bar()", venue=self.venue
            )
        return last

    def _mark(self, symbol: str) -> Decimal:
        last = self._last_bar(symbol)
        cached = self._marks.get(symbol)
        if cached is None or cached[0] is not last:
            # the exact decimal of the close, made once per bar (equity, margin and every
            # position read need it)
            cached = self._marks[symbol] = (last, _close_mark(last.close))
        return cached[1]

    # ---- matching and accounting ----
    def _match(self, order: _Order, bar: Bar) -> Fill | None:
        req = order.request
        order_type = req.order_type
        if order_type is OrderType.STOP_LIMIT and order.triggered:
            order_type = OrderType.LIMIT
        remaining = req.quantity - order.filled
        if req.reduce_only:
            # a reduce-only order fills at most the position it finds (and is priced and
            # charged for that quantity only)
            held = self._positions.get(req.symbol)
            held_qty = held.quantity if held is not None else D0
            remaining = min(remaining, max(D0, -req.side.sign * held_qty))
        quote = match_order(
            order_type,
            req.side,
            remaining,
            bar,
            self.costs,
            price=req.price,
            stop_price=req.stop_price,
        )
        if quote is None:
            if req.order_type is OrderType.STOP_LIMIT and (
                bar.high >= float(req.stop_price)
                if req.side is OrderSide.BUY  # type: ignore[arg-type]
                else bar.low <= float(req.stop_price)  # type: ignore[arg-type]
            ):
                order.triggered = True
            if req.time_in_force.value in ("IOC", "FOK"):
                order.status = OrderStatus.CANCELLED
            return None
        if remaining == 0:  # a reduce-only order with nothing left to reduce
            order.status = OrderStatus.CANCELLED
            return None
        return self._fill(order, remaining, quote.price, quote.fee)

    def _fill(self, order: _Order, qty: Decimal, price: Decimal, fee: Decimal) -> Fill:
        req = order.request
        market = req.market or self.default_market
        position = self._positions.setdefault(req.symbol, _Position(market))
        delta = req.side.sign * qty
        old = position.quantity
        # the average-cost ledger of core.execution (the backtest's stop levels use it too)
        args = (float(old), float(position.average), float(delta), float(price))
        self.cash += Decimal(repr(execution.realised_pnl(*args)))
        position.average = Decimal(repr(execution.average_entry(*args)))
        position.quantity = old + delta
        position.last_order = req.client_order_id
        if position.quantity == 0:
            position.average = D0
        self.cash -= fee
        when = self._now or datetime.now(UTC)
        fill = Fill(
            order_id=order.order_id,
            client_order_id=req.client_order_id,
            symbol=req.symbol,
            side=req.side,
            quantity=qty,
            price=price,
            fee=fee,
            fee_currency=self.quote,
            timestamp=when,
            trade_id=f"{req.client_order_id}:{len(order.fills) + 1}",
        )
        order.fills.append(fill)
        total = order.filled + qty
        order.average = ((order.average or D0) * order.filled + price * qty) / total
        order.filled = total
        order.status = OrderStatus.FILLED
        order.updated_at = when
        if order.oco_with is not None:
            sibling = self._orders.get(order.oco_with)
            if sibling is not None and not sibling.status.is_terminal:
                sibling.status = OrderStatus.CANCELLED
        if req.stop_loss is not None or req.take_profit is not None:
            self._attach_exits(order)
        return fill

    def _attach_exits(self, entry: _Order) -> None:
        """Reduce-only stop (stop-loss) and limit (take-profit) exits, one-cancels-other."""
        req = entry.request
        exits = []
        for order_type, price_field, value in (
            (OrderType.STOP, "stop_price", req.stop_loss),
            (OrderType.LIMIT, "price", req.take_profit),
        ):
            if value is None:
                continue
            child = OrderRequest(
                symbol=req.symbol,
                side=req.side.opposite(),
                order_type=order_type,
                quantity=entry.filled,
                market=req.market,
                reduce_only=True,
                strategy=req.strategy,
                **{price_field: value},
            )
            exits.append(self._new_order(child))
        if len(exits) == 2:
            exits[0].oco_with, exits[1].oco_with = exits[1].order_id, exits[0].order_id

    def _next_order_id(self) -> str:
        return f"sim-{next(self._ids):08d}"

    def _new_order(self, request: OrderRequest, order_id: str | None = None) -> _Order:
        order = _Order(
            request=request,
            order_id=order_id or self._next_order_id(),
            created_at=self._now or datetime.now(UTC),
            quiet=quiet_band(
                request.order_type,
                request.side,
                request.time_in_force,
                price=request.price,
                stop_price=request.stop_price,
            ),
        )
        self._orders[order.order_id] = order
        self._open[order.order_id] = order
        self._by_client[request.client_order_id] = order.order_id
        return order

    def _live_orders(self, symbol: str | None = None) -> list[_Order]:
        """Non-terminal orders (of ``symbol``), in placement order.

        O(open orders), not O(every order ever placed).
        """
        for order_id in [i for i, o in self._open.items() if o.status.is_terminal]:
            del self._open[order_id]
        return [o for o in self._open.values() if symbol in (None, o.request.symbol)]

    def _margin(self) -> Decimal:
        used = D0
        for symbol, pos in self._positions.items():
            used += abs(pos.quantity) * pos.average / self._leverage_of(symbol, pos.market)
        for order in self._live_orders() if self._open else ():
            req = order.request
            if req.reduce_only:
                continue
            price = req.price or req.stop_price or self._mark(req.symbol)
            used += (
                (req.quantity - order.filled)
                * price
                / self._leverage_of(req.symbol, req.market or self.default_market)
            )
        return used

    def _leverage_of(self, symbol: str, market: MarketType) -> Decimal:
        return self.leverage.get(symbol, D1) if market is MarketType.LINEAR else D1

    def equity(self) -> Decimal:
        """Cash plus unrealised PnL at the last close of each symbol.

        Returns
        -------
        Decimal
            Account equity in the quote currency.
        """
        return self._equity_marked(None, None)

    def _equity_marked(self, symbol: str | None, mark: Decimal | None) -> Decimal:
        """Cash plus each position's unrealised P&L, ``symbol``'s at ``mark`` if given."""
        total = self.cash
        for sym, pos in self._positions.items():
            if pos.quantity:
                total += _unrealized(
                    pos, mark if mark is not None and sym == symbol else self._mark(sym)
                )
        return total

    # ---- Exchange primitives ----
    async def market_rules(self, symbol: str, market: MarketType) -> MarketRules:
        """The configured rules of ``symbol``, else a 1e-8 lot step and tick, no minimums.

        Parameters
        ----------
        symbol : str
            The symbol.
        market : MarketType
            Its market (the rules do not depend on it here).

        Returns
        -------
        MarketRules
            The rules.
        """
        return self.rules.get(symbol) or MarketRules(
            symbol=symbol, qty_step=Decimal("1e-8"), tick_size=Decimal("1e-8"), quote=self.quote
        )

    async def _submit(self, request: OrderRequest) -> OrderResult:
        if request.client_order_id in self._by_client:
            raise InvalidOrder("client order id already used", venue=self.venue, code=DUPLICATE)
        market = request.market or self.default_market
        last = self._last_bar(request.symbol)
        held = self._positions.get(request.symbol, _Position(market)).quantity
        if request.reduce_only and request.side.sign * held >= 0:
            raise InvalidOrder(
                f"{request.symbol}: reduce-only order would not reduce the position ({held})",
                venue=self.venue,
            )
        if market is not MarketType.LINEAR and request.side is OrderSide.SELL:
            if request.quantity > held:
                raise InsufficientFunds(
                    f"{request.symbol}: selling {request.quantity} but "
                    f"holding {held} (no shorting on {market.value})",
                    venue=self.venue,
                )
        elif not request.reduce_only:
            # one-way position mode: the part of the order that closes the held position
            # releases that position's margin, only the part that opens needs new margin
            price = request.price or request.stop_price or Decimal(repr(last.close))
            leverage = self._leverage_of(request.symbol, market)
            closing = min(request.quantity, abs(held)) if request.side.sign * held < 0 else D0
            average = self._positions[request.symbol].average if closing else D0
            need = (request.quantity - closing) * price / leverage
            need += Decimal(repr(float(self.costs.fee(float(request.quantity * price)))))
            free = self.equity() - self._margin() + closing * average / leverage
            if need > free:
                raise InsufficientFunds(
                    f"{request.symbol}: order needs {need:.2f} {self.quote} of margin, "
                    f"{free:.2f} free",
                    venue=self.venue,
                )
        order = self._new_order(request)
        if self.fill_policy == "last_close" and request.order_type is OrderType.MARKET:
            c = last.close
            self._match(order, Bar(c, c, c, c, last.volume))
        return self._result(order)

    def _is_duplicate(self, exc: ExchangeError) -> bool:
        return exc.code == DUPLICATE

    def _result(self, order: _Order) -> OrderResult:
        req = order.request
        return OrderResult(
            order_id=order.order_id,
            client_order_id=req.client_order_id,
            symbol=req.symbol,
            side=req.side,
            order_type=req.order_type,
            status=order.status,
            quantity=req.quantity,
            filled_quantity=order.filled,
            average_price=order.average,
            price=req.price,
            stop_price=req.stop_price,
            market=req.market,
            venue=self.venue,
            created_at=order.created_at,
            updated_at=order.updated_at,
            fills=tuple(order.fills),
        )

    async def _find_by_client_id(self, request: OrderRequest) -> OrderResult | None:
        order_id = self._by_client.get(request.client_order_id)
        return self._result(self._orders[order_id]) if order_id else None

    def _get(self, order_id: str) -> _Order:
        order = self._orders.get(order_id)
        if order is None:
            raise OrderNotFound(f"no order {order_id}", venue=self.venue)
        return order

    async def _cancel(self, order_id: str, symbol: str, market: MarketType) -> OrderResult:
        order = self._get(order_id)
        if order.status.is_terminal:
            raise OrderNotFound(
                f"order {order_id} is already {order.status.value}", venue=self.venue
            )
        order.status = OrderStatus.CANCELLED
        order.updated_at = self._now or datetime.now(UTC)
        return self._result(order)

    async def _cancel_all(self, symbol: str | None, market: MarketType) -> list[str]:
        ids = []
        for order in self._live_orders(symbol):
            order.status = OrderStatus.CANCELLED
            ids.append(order.order_id)
        return ids

    async def _fetch_order(self, order_id: str, symbol: str, market: MarketType) -> OrderResult:
        return self._result(self._get(order_id))

    async def _fetch_open_orders(self, symbol: str | None, market: MarketType) -> list[OrderResult]:
        return [self._result(o) for o in self._live_orders(symbol)]

    async def _fetch_balance(self) -> dict[str, Balance]:
        equity, used = self.equity(), self._margin()
        # A read of an unchanged account gives the last (frozen) Balance again: the same
        # amounts down to their representation (compare_total is 0 only for identical
        # decimals, 1.0 vs 1.00 differ), so the same fields; building one costs ~1 us.
        last = self._balance
        if (
            last is None
            or last.currency != self.quote
            or last.total.compare_total(equity)
            or last.used.compare_total(used)
        ):
            last = self._balance = Balance(
                currency=self.quote, total=equity, free=equity - used, used=used, venue=self.venue
            )
        return {self.quote: last}

    async def _fetch_account_value(self, symbol: str, market: MarketType) -> AccountValue:
        # What the composition of _fetch_balance's total and _fetch_positions gives (held
        # equal by a test), from the account itself: the engine reads it on every bar, and
        # the two validated models cost ~2.8 us.
        return self._account_value(symbol, None)

    def _account_value(self, symbol: str, mark: Decimal | None) -> AccountValue:
        """The account with ``symbol`` marked at ``mark`` (None: its last close)."""
        equity = self._equity_marked(symbol, mark)
        pos = self._positions.get(symbol)
        if pos is None or pos.quantity == 0:
            return AccountValue(equity, ())
        if mark is None:
            mark = self._mark(symbol)
        unrealized = _unrealized(pos, mark)
        return AccountValue(
            equity,
            (
                PositionMark(
                    symbol, pos.quantity, pos.average, pos.market, self.venue, mark, unrealized
                ),
            ),
        )

    async def _fetch_positions(self, symbol: str | None, market: MarketType) -> list[Position]:
        out = []
        for sym, pos in self._positions.items():
            if pos.quantity == 0 or symbol not in (None, sym):
                continue
            mark = self._mark(sym)
            leverage = self._leverage_of(sym, pos.market)
            # the last Position of `sym` again while the (immutable) objects it was built
            # from are the same: position quantity and average, market, mark, leverage
            c = self._position_reads.get(sym)
            if (
                c is None
                or c[0] is not pos.quantity
                or c[1] is not pos.average
                or c[2] is not pos.market
                or c[3] is not mark
                or c[4] is not leverage
            ):
                position = Position(
                    symbol=sym,
                    quantity=pos.quantity,
                    average_price=pos.average,
                    market=pos.market,
                    venue=self.venue,
                    mark_price=mark,
                    unrealized_pnl=_unrealized(pos, mark),
                    leverage=leverage,
                )
                c = self._position_reads[sym] = (
                    pos.quantity, pos.average, pos.market, mark, leverage, position,
                )  # fmt: skip
            out.append(c[5])
        return out

    async def _fetch_ticker(self, symbol: str, market: MarketType) -> Ticker:
        last = self._mark(symbol)
        stamp = self._history[symbol].last_time().to_pydatetime()
        return Ticker(
            symbol=symbol, bid=last, ask=last, last=last, timestamp=stamp, venue=self.venue
        )

    async def _fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str,
        since: datetime | None,
        limit: int | None,
        market: MarketType,
    ) -> pd.DataFrame:
        self._last_bar(symbol)
        frame = self._history[symbol].frame()
        rule = as_timedelta(timeframe)
        if len(frame) > 1 and rule > frame.index[1] - frame.index[0]:
            frame = (
                frame.resample(rule, label="left", closed="left", origin=grid_origin(rule))
                .agg(
                    {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
                )
                .dropna()
            )
        if since is not None:
            frame = frame[frame.index >= pd.Timestamp(since)]
        if limit is not None:
            frame = frame.iloc[-limit:]
        return validate_ohlcv(frame)

    async def _set_leverage(self, symbol: str, leverage: Decimal, market: MarketType) -> None:
        self.leverage[symbol] = leverage


def _utc(stamp: datetime | pd.Timestamp) -> datetime:
    """``stamp`` in UTC, a naive one taken as UTC.

    A pandas ``Timestamp`` stays one (it may carry nanoseconds); a ``datetime`` stays a
    ``datetime``: the replay hands one per bar, and the pandas conversions cost more than the
    rest of the bar's matching.
    """
    if stamp.tzinfo is UTC and type(stamp) is datetime:  # what the replay hands
        return stamp
    if isinstance(stamp, pd.Timestamp):
        return stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp if stamp.tzinfo is UTC else stamp.astimezone(UTC)
