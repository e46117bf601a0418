"""alpaca-py models <-> our value types (Alpaca sends numbers as strings; Decimals stay exact)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from alpaca.trading.enums import OrderClass
from alpaca.trading.enums import OrderSide as AlpacaSide
from alpaca.trading.enums import TimeInForce as AlpacaTIF
from alpaca.trading.models import Order, TradeAccount
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
)

from crypto_strategy_lab.core.enums import (
    MarketType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from crypto_strategy_lab.core.errors import InvalidOrder
from crypto_strategy_lab.core.orders import Balance, OrderRequest, OrderResult, Position
from crypto_strategy_lab.data.schema import validate_ohlcv

VENUE = "alpaca"

STATUS = {
    "new": OrderStatus.NEW,
    "accepted": OrderStatus.NEW,
    "pending_new": OrderStatus.NEW,
    "accepted_for_bidding": OrderStatus.NEW,
    "held": OrderStatus.NEW,
    "calculated": OrderStatus.NEW,
    "pending_replace": OrderStatus.NEW,
    "pending_cancel": OrderStatus.NEW,
    "stopped": OrderStatus.NEW,
    "suspended": OrderStatus.NEW,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "done_for_day": OrderStatus.CANCELLED,
    "replaced": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
TYPES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop_limit": OrderType.STOP_LIMIT,
}
TIF = {
    TimeInForce.GTC: AlpacaTIF.GTC,
    TimeInForce.DAY: AlpacaTIF.DAY,
    TimeInForce.IOC: AlpacaTIF.IOC,
    TimeInForce.FOK: AlpacaTIF.FOK,
}


def _dec(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def to_alpaca_request(request: OrderRequest, fractionable: bool) -> Any:
    """The alpaca-py request model for ``request`` (already rounded).

    Alpaca's rules checked here, before sending: no reduce-only/post-only; fractional
    quantities only for fractionable assets, as simple DAY orders; extended hours only for
    DAY limit orders; stop-loss + take-profit make a bracket, one of them an OTO order.
    Quantities and prices go out as floats (the request models are typed ``float``); they
    were rounded to the lot/tick first, so the float is the exact decimal's nearest double.

    Parameters
    ----------
    request : OrderRequest
        The rounded order.
    fractionable : bool
        Whether the asset trades in fractions of a share.

    Returns
    -------
    Any
        A ``MarketOrderRequest``, ``LimitOrderRequest``, ``StopOrderRequest`` or
        ``StopLimitOrderRequest``.

    Raises
    ------
    InvalidOrder
        If the order breaks one of Alpaca's rules above.
    """

    def reject(why: str) -> InvalidOrder:
        return InvalidOrder(f"{request.symbol}: {why}", venue=VENUE)

    if request.reduce_only or request.post_only:
        raise reject("Alpaca has no reduce-only or post-only orders")
    if request.time_in_force not in TIF:
        raise reject(f"Alpaca has no {request.time_in_force} time in force")
    fractional = request.quantity != request.quantity.to_integral_value()
    attached = request.stop_loss is not None or request.take_profit is not None
    if fractional:
        if not fractionable:
            raise reject("this asset trades in whole shares only")
        if request.time_in_force is not TimeInForce.DAY or attached:
            raise reject("fractional quantities need a simple DAY order (time_in_force=DAY)")
    if request.extended_hours and (
        request.order_type is not OrderType.LIMIT or request.time_in_force is not TimeInForce.DAY
    ):
        raise reject("extended-hours orders must be DAY limit orders")
    fields: dict[str, Any] = {
        "symbol": request.symbol,
        "qty": float(request.quantity),
        "side": AlpacaSide.BUY if request.side is OrderSide.BUY else AlpacaSide.SELL,
        "time_in_force": TIF[request.time_in_force],
        "client_order_id": request.client_order_id,
        "extended_hours": request.extended_hours or None,
    }
    if attached:
        both = request.stop_loss is not None and request.take_profit is not None
        fields["order_class"] = OrderClass.BRACKET if both else OrderClass.OTO
        if request.take_profit is not None:
            fields["take_profit"] = TakeProfitRequest(limit_price=float(request.take_profit))
        if request.stop_loss is not None:
            fields["stop_loss"] = StopLossRequest(stop_price=float(request.stop_loss))
    price = float(request.price) if request.price is not None else None
    stop = float(request.stop_price) if request.stop_price is not None else None
    if request.order_type is OrderType.MARKET:
        return MarketOrderRequest(**fields)
    if request.order_type is OrderType.LIMIT:
        return LimitOrderRequest(limit_price=price, **fields)
    if request.order_type is OrderType.STOP:
        return StopOrderRequest(stop_price=stop, **fields)
    return StopLimitOrderRequest(limit_price=price, stop_price=stop, **fields)


def order_from_alpaca(order: Order) -> OrderResult:
    """An alpaca-py ``Order`` as our :class:`OrderResult` (the reply kept in ``raw``).

    Parameters
    ----------
    order : alpaca.trading.models.Order
        The order.

    Returns
    -------
    OrderResult
        The order; unknown statuses read as ``SUBMITTED``.
    """
    raw = order.model_dump(mode="json")
    return OrderResult(
        order_id=str(order.id),
        client_order_id=order.client_order_id,
        symbol=order.symbol or "",
        side=OrderSide.BUY if _enum_value(order.side) == "buy" else OrderSide.SELL,
        order_type=TYPES.get(_enum_value(order.type or order.order_type), OrderType.MARKET),
        status=STATUS.get(_enum_value(order.status), OrderStatus.SUBMITTED),
        quantity=_dec(order.qty) or Decimal(0),
        filled_quantity=_dec(order.filled_qty) or Decimal(0),
        average_price=_dec(order.filled_avg_price),
        price=_dec(order.limit_price),
        stop_price=_dec(order.stop_price),
        market=MarketType.STOCK,
        venue=VENUE,
        created_at=order.created_at,
        updated_at=order.updated_at,
        raw=raw,
    )


def position_from_alpaca(position: AlpacaPosition) -> Position:
    """An alpaca-py position as our :class:`Position` (a short's quantity made negative).

    Parameters
    ----------
    position : alpaca.trading.models.Position
        The position.

    Returns
    -------
    Position
        The net position with its mark and unrealised P&L.
    """
    qty = Decimal(str(position.qty))
    if _enum_value(position.side) == "short" and qty > 0:
        qty = -qty
    return Position(
        symbol=position.symbol,
        quantity=qty,
        average_price=Decimal(str(position.avg_entry_price)),
        market=MarketType.STOCK,
        venue=VENUE,
        mark_price=_dec(position.current_price),
        unrealized_pnl=_dec(position.unrealized_pl),
    )


def balance_from_account(account: TradeAccount) -> dict[str, Balance]:
    """The account's cash: ``free`` is the buying power when below cash.

    Parameters
    ----------
    account : alpaca.trading.models.TradeAccount
        The account.

    Returns
    -------
    dict of str to Balance
        One balance, in the account currency (USD): ``total`` the cash, ``free =
        min(cash, buying_power)``, ``used = total - free``.
    """
    cash = _dec(account.cash) or Decimal(0)
    power = _dec(account.buying_power)
    free = min(cash, power) if power is not None else cash
    currency = str(account.currency or "USD")
    return {
        currency: Balance(currency=currency, total=cash, free=free, used=cash - free, venue=VENUE)
    }


def bars_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Alpaca bar dicts (``t, o, h, l, c, v``) as a validated OHLCV frame.

    Parameters
    ----------
    rows : list of dict
        Bars as Alpaca returns them.

    Returns
    -------
    pandas.DataFrame
        The bars on a UTC ``DatetimeIndex`` named ``timestamp``.
    """
    frame = pd.DataFrame(
        {
            "open": [r["o"] for r in rows],
            "high": [r["h"] for r in rows],
            "low": [r["l"] for r in rows],
            "close": [r["c"] for r in rows],
            "volume": [r["v"] for r in rows],
        },
        index=pd.DatetimeIndex(pd.to_datetime([r["t"] for r in rows], utc=True), name="timestamp"),
        dtype="float64",
    )
    return validate_ohlcv(frame)


def parse_time(value: str | datetime | None) -> datetime | None:
    """A venue timestamp (text or datetime) as a datetime.

    Parameters
    ----------
    value : str, datetime.datetime or None
        The timestamp.

    Returns
    -------
    datetime.datetime or None
        ``None`` stays ``None``; a datetime is returned as it is.
    """
    if value is None or isinstance(value, datetime):
        return value
    return pd.Timestamp(value).to_pydatetime()
