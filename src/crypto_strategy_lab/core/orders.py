"""Orders, fills, positions and balances with exact ``Decimal`` quantities and prices.

These are the only types that cross the boundary between our code and a venue adapter:
adapters translate them to the venue's wire format and back.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crypto_strategy_lab.core.enums import (
    MarketType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)

# Bybit allows up to 36 characters from [A-Za-z0-9_-] in orderLinkId; Alpaca allows 128.
# Generating ids inside the stricter alphabet keeps one id valid on every venue.
CLIENT_ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def new_client_order_id(prefix: str = "csl") -> str:
    """A fresh client order id: ``<prefix>-<28 hex chars>``, at most 36 characters.

    Parameters
    ----------
    prefix : str, default "csl"
        Leading tag.

    Returns
    -------
    str
        A random (uuid4) id inside Bybit's ``orderLinkId`` alphabet, truncated to 36
        characters.
    """
    return f"{prefix}-{uuid.uuid4().hex[:28]}"[:36]


_TERMINAL = frozenset(s for s in OrderStatus if s.is_terminal)

# The order lifecycle: which status may follow which. NEW may jump to any later status (crash
# recovery finds an order filled or cancelled at the venue without having seen it submitted); a
# partial fill only moves forward (more fills, the rest filled, cancelled or expired; a venue
# rejects an order before any fill, never after); a terminal status is final.
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset(OrderStatus) - {OrderStatus.NEW},
    OrderStatus.SUBMITTED: _TERMINAL | {OrderStatus.PARTIALLY_FILLED},
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        }
    ),
    **{s: frozenset() for s in _TERMINAL},
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderRequest(_Frozen):
    """An order as our code means it, before any venue rounding.

    Attributes
    ----------
    symbol : str
        Venue symbol, e.g. ``BTCUSDT`` or ``AAPL``.
    side : OrderSide
        Buy or sell.
    order_type : OrderType
        ``LIMIT`` and ``STOP_LIMIT`` need `price`; ``STOP`` and ``STOP_LIMIT`` need
        `stop_price`; ``MARKET`` takes no `price`.
    quantity : Decimal
        Positive, in base units (coins, shares), not notional.
    price : Decimal or None
        Limit price.
    stop_price : Decimal or None
        Trigger price.
    market : MarketType or None
        ``None``: the venue adapter applies its documented default (Bybit: linear
        perpetual; Alpaca: stock).
    time_in_force : TimeInForce, default GTC
        How long the order rests.
    reduce_only : bool, default False
        The order may only reduce a position.
    post_only : bool, default False
        Maker-only (``LIMIT`` orders only).
    stop_loss, take_profit : Decimal or None
        Attached protective trigger prices; checked to lie on the loss / profit side of the
        limit or stop price when there is one.
    extended_hours : bool, default False
        US equities: allow trading outside regular hours.
    client_order_id : str
        Idempotency key, 1-36 characters of ``[A-Za-z0-9_-]`` (default: a fresh one).
    strategy : str or None
        The strategy that wants the order.
    """

    symbol: str = Field(min_length=1)
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None  # limit price (LIMIT, STOP_LIMIT)
    stop_price: Decimal | None = None  # trigger price (STOP, STOP_LIMIT)
    market: MarketType | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    post_only: bool = False
    stop_loss: Decimal | None = None  # attached protective stop (trigger price)
    take_profit: Decimal | None = None  # attached take-profit (trigger/limit price)
    extended_hours: bool = False  # US equities: allow outside regular hours
    client_order_id: str = Field(default_factory=new_client_order_id)
    strategy: str | None = None

    @field_validator("symbol")
    @classmethod
    def _strip_symbol(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("symbol is empty")
        return value

    @field_validator("quantity")
    @classmethod
    def _positive_quantity(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value <= 0:
            raise ValueError(f"quantity must be a positive finite number, got {value}")
        return value

    @field_validator("price", "stop_price", "stop_loss", "take_profit")
    @classmethod
    def _positive_price(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and (not value.is_finite() or value <= 0):
            raise ValueError(f"prices must be positive finite numbers, got {value}")
        return value

    @field_validator("client_order_id")
    @classmethod
    def _valid_client_id(cls, value: str) -> str:
        if not CLIENT_ORDER_ID_PATTERN.match(value):
            raise ValueError(
                "client_order_id must be 1-36 characters of letters, digits, '-' or '_' "
                f"(Bybit's orderLinkId rule), got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _prices_match_type(self) -> OrderRequest:
        needs_price = self.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_price and self.price is None:
            raise ValueError(f"{self.order_type} order needs a limit price")
        if needs_stop and self.stop_price is None:
            raise ValueError(f"{self.order_type} order needs a stop_price (trigger)")
        if self.order_type is OrderType.MARKET and self.price is not None:
            raise ValueError("a MARKET order takes no limit price")
        if self.post_only and self.order_type is not OrderType.LIMIT:
            raise ValueError("post_only applies to LIMIT orders only")
        reference = self.price or self.stop_price
        if reference is not None:
            if self.stop_loss is not None:
                wrong = (
                    self.stop_loss >= reference
                    if self.side is OrderSide.BUY
                    else self.stop_loss <= reference
                )
                if wrong:
                    raise ValueError(
                        f"stop_loss {self.stop_loss} is on the wrong side of {reference} "
                        f"for a {self.side} order"
                    )
            if self.take_profit is not None:
                wrong = (
                    self.take_profit <= reference
                    if self.side is OrderSide.BUY
                    else self.take_profit >= reference
                )
                if wrong:
                    raise ValueError(
                        f"take_profit {self.take_profit} is on the wrong side of {reference} "
                        f"for a {self.side} order"
                    )
        return self

    def with_quantities(self, **changes: Any) -> OrderRequest:
        """A copy with some fields changed, validated again (e.g. after lot-size rounding).

        Parameters
        ----------
        **changes
            Field values to replace.

        Returns
        -------
        OrderRequest
            The new request (same `client_order_id` unless changed).

        Raises
        ------
        pydantic.ValidationError
            If the changed request is invalid.
        """
        return OrderRequest.model_validate({**self.model_dump(), **changes})


class Fill(_Frozen):
    """One execution: ``quantity`` at ``price`` with ``fee`` in ``fee_currency``.

    Attributes
    ----------
    order_id : str
        Venue order id.
    client_order_id : str or None
        Our idempotency key, when known.
    symbol : str
        Venue symbol.
    side : OrderSide
        Side of the order filled.
    quantity : Decimal
        Filled quantity in base units (unsigned; the side gives the direction).
    price : Decimal
        Execution price.
    fee : Decimal, default 0
        Fee charged, in `fee_currency`.
    fee_currency : str or None
        Currency of `fee`.
    timestamp : datetime.datetime
        Execution time (default: now, UTC).
    trade_id : str or None
        Venue trade id.
    """

    order_id: str
    client_order_id: str | None = None
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    fee: Decimal = Decimal(0)
    fee_currency: str | None = None
    timestamp: datetime = Field(default_factory=_utcnow)
    trade_id: str | None = None


class OrderResult(_Frozen):
    """The venue's view of an order, translated to our types.

    Attributes
    ----------
    order_id : str
        Venue order id.
    client_order_id : str or None
        Our idempotency key, when the venue reports it.
    symbol : str
        Venue symbol.
    side : OrderSide
        Buy or sell.
    order_type : OrderType
        The order type.
    status : OrderStatus
        Lifecycle status.
    quantity : Decimal
        Ordered quantity in base units.
    filled_quantity : Decimal, default 0
        Quantity filled so far.
    average_price : Decimal or None
        Average fill price, once filled.
    price, stop_price : Decimal or None
        Limit and trigger prices.
    market : MarketType or None
        The market.
    venue : str
        The venue.
    created_at, updated_at : datetime.datetime or None
        Venue timestamps.
    fills : tuple of Fill
        Executions, when the venue reported them.
    raw : dict
        The venue's reply as received (kept for the audit log, hidden from ``repr``).
    """

    order_id: str
    client_order_id: str | None
    symbol: str
    side: OrderSide
    order_type: OrderType
    status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal = Decimal(0)
    average_price: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None
    market: MarketType | None = None
    venue: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    fills: tuple[Fill, ...] = ()
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def remaining_quantity(self) -> Decimal:
        """Quantity not filled yet, ``quantity - filled_quantity``."""
        return self.quantity - self.filled_quantity


class Position(_Frozen):
    """A net position at a venue.

    Attributes
    ----------
    symbol : str
        Venue symbol.
    quantity : Decimal
        Signed quantity in base units: positive long, negative short.
    average_price : Decimal
        Average entry price.
    market : MarketType or None
        The market it is held on.
    venue : str
        The venue.
    mark_price, unrealized_pnl : Decimal or None
        The venue's mark price and unrealised P&L, when reported.
    stop_loss, take_profit : Decimal or None
        Protective trigger prices attached at the venue, when any.
    leverage : Decimal or None
        The venue's leverage setting, when reported.
    """

    symbol: str
    quantity: Decimal
    average_price: Decimal
    market: MarketType | None = None
    venue: str
    mark_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    leverage: Decimal | None = None

    @property
    def side(self) -> OrderSide | None:
        """``BUY`` for a long, ``SELL`` for a short, ``None`` when flat."""
        if self.quantity > 0:
            return OrderSide.BUY
        if self.quantity < 0:
            return OrderSide.SELL
        return None

    @property
    def notional(self) -> Decimal:
        """Gross notional ``|quantity| × price``, at the mark price if known, else the entry."""
        price = self.mark_price if self.mark_price is not None else self.average_price
        return abs(self.quantity) * price


class Balance(_Frozen):
    """Balance of one currency/asset: ``total = free + used``."""

    currency: str
    total: Decimal
    free: Decimal
    used: Decimal = Decimal(0)
    venue: str


class PositionMark(NamedTuple):
    """A position marked to market: the fields of :class:`Position` that the journal keeps.

    A plain tuple, not a validated model: the engine marks every position on every bar, and an
    in-process venue builds it from amounts it computed itself (validating a
    :class:`Position` costs ~1.6 µs). :meth:`position` validates it when it is journaled.

    Attributes
    ----------
    symbol, quantity, average_price, market, venue, mark_price, unrealized_pnl
        As the :class:`Position` fields of the same names (``quantity`` signed, in base
        units; the mark and unrealised P&L ``None`` when the venue reports none).
    """

    symbol: str
    quantity: Decimal
    average_price: Decimal
    market: MarketType | None
    venue: str
    mark_price: Decimal | None
    unrealized_pnl: Decimal | None

    @classmethod
    def of(cls, position: Position) -> PositionMark:
        """The mark of a venue's :class:`Position` (its stop levels and leverage dropped).

        Parameters
        ----------
        position : Position
            As the venue reported it.

        Returns
        -------
        PositionMark
            The same symbol, quantity, prices, market, venue and unrealised P&L.
        """
        return cls(
            position.symbol,
            position.quantity,
            position.average_price,
            position.market,
            position.venue,
            position.mark_price,
            position.unrealized_pnl,
        )

    def position(self) -> Position:
        """The validated :class:`Position` of these fields.

        Returns
        -------
        Position
            With no stop levels and no leverage.
        """
        return Position(**self._asdict())


class AccountValue(NamedTuple):
    """A venue account marked to market: its equity and the positions of one symbol.

    Attributes
    ----------
    equity : Decimal
        The ``total`` balance of the account's quote currency (cash plus unrealised P&L on a
        margin account), 0 when it has none.
    positions : tuple of PositionMark
        The non-zero positions of the symbol asked for.
    """

    equity: Decimal
    positions: tuple[PositionMark, ...]

    @property
    def quantity(self) -> Decimal:
        """The signed net position: the sum of the positions' quantities (0 when flat)."""
        return sum((p.quantity for p in self.positions), Decimal(0))


class AccountMarks(NamedTuple):
    """An account marked to market at several points, as columns (one entry per point).

    :class:`AccountValue` of each point, for points between which only the marks move (a
    replay's quiet bars: no fill, no funding), or of a single point.

    Attributes
    ----------
    equity : sequence of Decimal
        The account's equity at each point (quote currency).
    positions : tuple of PositionMark
        The symbol's non-zero positions, marked at the first point; their quantities and
        average prices hold at every point.
    marks, unrealized : tuple of sequence of (Decimal or None)
        Per position, its mark price and unrealised P&L at each point (``None`` where the
        venue reports none).
    """

    equity: Sequence[Decimal]
    positions: tuple[PositionMark, ...]
    marks: tuple[Sequence[Decimal | None], ...]
    unrealized: tuple[Sequence[Decimal | None], ...]

    @classmethod
    def of(cls, value: AccountValue) -> AccountMarks:
        """The one point of ``value``.

        Parameters
        ----------
        value : AccountValue
            An account read.

        Returns
        -------
        AccountMarks
            Columns of length 1.
        """
        return cls(
            (value.equity,),
            value.positions,
            tuple((p.mark_price,) for p in value.positions),
            tuple((p.unrealized_pnl,) for p in value.positions),
        )
