"""Bybit v5 wire dicts <-> our value types.

We parse Bybit's own fields (``order['info']`` in ccxt, or the raw v5 reply) rather than
ccxt's unified floats: v5 sends every number as a string, so Decimals stay exact.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd

from crypto_strategy_lab.core.enums import MarketType, OrderSide, OrderStatus, OrderType
from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.core.orders import Balance, Fill, OrderRequest, OrderResult, Position
from crypto_strategy_lab.data.schema import validate_ohlcv
from crypto_strategy_lab.exchanges.rules import MarketRules

VENUE = "bybit"

V5_STATUS = {
    "Created": OrderStatus.NEW,
    "New": OrderStatus.NEW,
    "Untriggered": OrderStatus.NEW,
    "Triggered": OrderStatus.NEW,
    "Active": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Deactivated": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
}


def dec(value: Any) -> Decimal | None:
    """Decimal of a v5 string.

    Parameters
    ----------
    value : Any
        A v5 field (usually text).

    Returns
    -------
    Decimal or None
        ``None`` for ``None``, ``""`` or text that is not a number. ``"0"`` gives
        ``Decimal(0)``, which callers read as unset with ``or`` (v5 writes absent prices as
        ``"0"``).
    """
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _ms(value: Any) -> datetime | None:
    number = dec(value)
    return datetime.fromtimestamp(float(number) / 1000, tz=UTC) if number else None


def order_type_of(item: dict[str, Any]) -> OrderType:
    """Our order type of a v5 order item (a non-zero trigger price makes it a stop order).

    Parameters
    ----------
    item : dict
        One v5 order item.

    Returns
    -------
    OrderType
        ``STOP_LIMIT``/``STOP`` with a trigger price, else ``LIMIT``/``MARKET``.
    """
    trigger = dec(item.get("triggerPrice"))
    limit = item.get("orderType") == "Limit"
    if trigger:
        return OrderType.STOP_LIMIT if limit else OrderType.STOP
    return OrderType.LIMIT if limit else OrderType.MARKET


def order_from_v5(item: dict[str, Any], market: MarketType) -> OrderResult:
    """An :class:`OrderResult` from one v5 order item (``/v5/order/realtime`` list entry).

    Parameters
    ----------
    item : dict
        The order item.
    market : MarketType
        Its market (the request's category).

    Returns
    -------
    OrderResult
        The order; an unknown ``orderStatus`` reads as ``SUBMITTED``, the item is kept in
        ``raw``.
    """
    qty = dec(item.get("qty")) or Decimal(0)
    filled = dec(item.get("cumExecQty")) or Decimal(0)
    price = dec(item.get("price"))
    avg = dec(item.get("avgPrice"))
    return OrderResult(
        order_id=str(item["orderId"]),
        client_order_id=item.get("orderLinkId") or None,
        symbol=item["symbol"],
        side=OrderSide.BUY if item.get("side") == "Buy" else OrderSide.SELL,
        order_type=order_type_of(item),
        status=V5_STATUS.get(item.get("orderStatus", ""), OrderStatus.SUBMITTED),
        quantity=qty,
        filled_quantity=filled,
        average_price=avg if avg else None,
        price=price if price else None,
        stop_price=dec(item.get("triggerPrice")) or None,
        market=market,
        venue=VENUE,
        created_at=_ms(item.get("createdTime")),
        updated_at=_ms(item.get("updatedTime")),
        raw=item,
    )


def fill_from_v5(item: dict[str, Any], quote: str = "USDT") -> Fill:
    """One ``/v5/execution/list`` item as a :class:`Fill`.

    The fee is in the quote coin for linear; Bybit charges spot buy fees in the base coin,
    which ``feeCurrency`` says when present.

    Parameters
    ----------
    item : dict
        The execution item.
    quote : str, default "USDT"
        Fee currency when the item names none.

    Returns
    -------
    Fill
        The execution.
    """
    return Fill(
        order_id=str(item["orderId"]),
        client_order_id=item.get("orderLinkId") or None,
        symbol=item["symbol"],
        side=OrderSide.BUY if item.get("side") == "Buy" else OrderSide.SELL,
        quantity=dec(item.get("execQty")) or Decimal(0),
        price=dec(item.get("execPrice")) or Decimal(0),
        fee=dec(item.get("execFee")) or Decimal(0),
        fee_currency=item.get("feeCurrency") or quote,
        timestamp=_ms(item.get("execTime")) or datetime.now(UTC),
        trade_id=item.get("execId"),
    )


def acknowledgement(request: OrderRequest, reply: dict[str, Any]) -> OrderResult:
    """The result of ``/v5/order/create``: only ``orderId`` and ``orderLinkId`` come back.

    Built without re-validation: every field but the two ids comes from an already
    validated :class:`OrderRequest`, and the ids are coerced to ``str`` here.

    Parameters
    ----------
    request : OrderRequest
        The order sent.
    reply : dict
        The ``result`` of the reply.

    Returns
    -------
    OrderResult
        Status ``SUBMITTED``, nothing filled.
    """
    return OrderResult.model_construct(
        order_id=str(reply["orderId"]),
        client_order_id=str(reply.get("orderLinkId") or request.client_order_id),
        symbol=request.symbol,
        side=request.side,
        order_type=request.order_type,
        status=OrderStatus.SUBMITTED,
        quantity=request.quantity,
        price=request.price,
        stop_price=request.stop_price,
        market=request.market,
        venue=VENUE,
        filled_quantity=Decimal(0),
        average_price=None,
        created_at=None,
        updated_at=None,
        fills=(),
        raw=reply,
    )


def position_from_v5(item: dict[str, Any]) -> Position:
    """A v5 position item as our :class:`Position` (``Sell`` side: negative quantity).

    Parameters
    ----------
    item : dict
        One ``/v5/position/list`` item (linear).

    Returns
    -------
    Position
        The net position with its mark, unrealised P&L, protective levels and leverage.

    Raises
    ------
    ExchangeError
        For a hedge-mode leg (``positionIdx`` 1 or 2): orders go out in one-way mode
        (``positionIdx`` 0), which such an account refuses, so neither the position nor a
        flatten of it could be trusted.
    """
    if int(item.get("positionIdx") or 0) != 0:
        raise ExchangeError(
            f"{item.get('symbol')}: the Bybit account is in hedge mode (positionIdx "
            f"{item['positionIdx']}); only one-way position mode is supported",
            venue=VENUE,
        )
    size = dec(item.get("size")) or Decimal(0)
    signed = -size if item.get("side") == "Sell" else size
    return Position(
        symbol=item["symbol"],
        quantity=signed,
        average_price=dec(item.get("avgPrice")) or Decimal(0),
        market=MarketType.LINEAR,
        venue=VENUE,
        mark_price=dec(item.get("markPrice")),
        unrealized_pnl=dec(item.get("unrealisedPnl")),
        stop_loss=dec(item.get("stopLoss")) or None,
        take_profit=dec(item.get("takeProfit")) or None,
        leverage=dec(item.get("leverage")),
    )


def balances_from_v5(result: dict[str, Any]) -> dict[str, Balance]:
    """Unified-account wallet: ``used = locked + totalOrderIM + totalPositionIM``.

    ``availableToWithdraw`` is deprecated for unified accounts (Jan 2025), so ``free`` is
    derived as ``walletBalance - used``.

    Parameters
    ----------
    result : dict
        The ``result`` of ``/v5/account/wallet-balance``.

    Returns
    -------
    dict of str to Balance
        Coin -> balance.
    """
    out: dict[str, Balance] = {}
    for account in result.get("list", []):
        for coin in account.get("coin", []):
            total = dec(coin.get("walletBalance")) or Decimal(0)
            used = sum(
                (
                    dec(coin.get(k)) or Decimal(0)
                    for k in ("locked", "totalOrderIM", "totalPositionIM")
                ),
                Decimal(0),
            )
            out[coin["coin"]] = Balance(
                currency=coin["coin"], total=total, free=total - used, used=used, venue=VENUE
            )
    return out


def rules_from_market(market: dict[str, Any]) -> MarketRules:
    """Lot/tick/minimums from a ccxt market's raw ``instruments-info`` entry.

    Spot instruments size orders in ``basePrecision`` steps with a ``minOrderAmt`` (quote)
    minimum; linear perpetuals use ``qtyStep`` and ``minNotionalValue``.

    Parameters
    ----------
    market : dict
        A ccxt market (its ``info`` is the v5 instrument).

    Returns
    -------
    MarketRules
        The rules; a missing step or tick defaults to 1e-8.
    """
    info = market["info"]
    lot = info.get("lotSizeFilter", {})
    if market.get("spot"):
        step, min_notional = dec(lot.get("basePrecision")), dec(lot.get("minOrderAmt"))
    else:
        step, min_notional = dec(lot.get("qtyStep")), dec(lot.get("minNotionalValue"))
    return MarketRules(
        symbol=info["symbol"],
        qty_step=step or Decimal("1e-8"),
        tick_size=dec(info.get("priceFilter", {}).get("tickSize")) or Decimal("1e-8"),
        min_qty=dec(lot.get("minOrderQty")) or Decimal(0),
        min_notional=min_notional or Decimal(0),
        max_qty=dec(lot.get("maxOrderQty")),
        base=info.get("baseCoin", ""),
        quote=info.get("quoteCoin", ""),
    )


def ohlcv_frame(rows: list[list[float]]) -> pd.DataFrame:
    """Rows of ccxt OHLCV (oldest first, ms timestamps) as a validated OHLCV frame.

    Parameters
    ----------
    rows : list of list of float
        ``[timestamp_ms, open, high, low, close, volume]`` rows.

    Returns
    -------
    pandas.DataFrame
        The bars on a UTC ``DatetimeIndex`` named ``timestamp``.
    """
    frame = pd.DataFrame(rows, columns=["timestamp", "open", "high", "low", "close", "volume"])
    frame.index = pd.DatetimeIndex(
        pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True), name="timestamp"
    )
    return validate_ohlcv(frame.astype("float64"))
