"""The trading face of a strategy: one decision for the latest bar."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crypto_strategy_lab.core.enums import MarketType, OrderSide, OrderType, SignalAction
from crypto_strategy_lab.core.orders import OrderRequest


class Signal(BaseModel):
    """A strategy's decision at one bar.

    Attributes
    ----------
    strategy, symbol : str
        Who decided, on what.
    timestamp : datetime.datetime
        The bar the decision is for.
    action : SignalAction
        ``BUY`` when `strength` is positive, ``SELL`` when negative and ``HOLD`` at zero.
    strength : float
        The research face's ``signal`` value on that bar, finite, in [-1, 1] (a target
        weight, as a fraction of the position cap).
    price : float or None
        The price the decision was made at, when known.
    quantity : Decimal or None
        Order size in base units when the caller gave the sizing inputs (capital), else
        ``None``.
    market : MarketType or None
        The market the symbol trades on.
    statistics : dict of str to float
        The statistics behind the decision (name -> value).
    """

    model_config = ConfigDict(frozen=True)

    strategy: str
    symbol: str
    timestamp: datetime
    action: SignalAction
    strength: float
    price: float | None = None
    quantity: Decimal | None = None
    market: MarketType | None = None
    statistics: dict[str, float] = Field(default_factory=dict)

    @field_validator("strength")
    @classmethod
    def _bounded(cls, value: float) -> float:
        if not math.isfinite(value) or not -1.0 <= value <= 1.0:
            raise ValueError(f"signal strength must be finite and in [-1, 1], got {value}")
        return value

    def to_order_request(
        self,
        quantity: Decimal | None = None,
        *,
        order_type: OrderType = OrderType.MARKET,
        price: Decimal | None = None,
        **fields: Any,
    ) -> OrderRequest:
        """The order that acts on this signal.

        Parameters
        ----------
        quantity : Decimal, optional
            Base-unit quantity; default the signal's own `quantity`.
        order_type : OrderType, default MARKET
            Order type.
        price : Decimal, optional
            Limit price, for ``LIMIT`` orders.
        **fields
            Further :class:`~crypto_strategy_lab.core.orders.OrderRequest` fields.

        Returns
        -------
        OrderRequest
            A ``BUY`` for a buy signal, a ``SELL`` for a sell signal, tagged with the
            strategy and market.

        Raises
        ------
        ValueError
            For a ``HOLD`` signal (nothing to do) or when no quantity is known.
        """
        if self.action is SignalAction.HOLD:
            raise ValueError(f"{self.strategy}: a HOLD signal has no order")
        qty = quantity if quantity is not None else self.quantity
        if qty is None or qty <= 0:
            raise ValueError(
                f"{self.strategy}: no order quantity; pass quantity= or give capital in the "
                "generate_signal config so the signal can size itself"
            )
        side = OrderSide.BUY if self.action is SignalAction.BUY else OrderSide.SELL
        return OrderRequest(
            symbol=self.symbol,
            side=side,
            order_type=order_type,
            quantity=qty,
            price=price,
            market=self.market,
            strategy=self.strategy,
            **fields,
        )


def size_from_capital(
    strength: float, price: float, capital: float, max_position_size: float
) -> Decimal | None:
    """Base-unit quantity for ``|strength| * max_position_size * capital`` of notional.

    :func:`~crypto_strategy_lab.core.execution.target_quantity` from flat with weight
    ``strength``, leverage ``max_position_size``, equity ``capital`` and price ``price``,
    without a fee reserve or slippage (a signal carries no cost model; the engine sizes with
    its venue's), rounded down to 8 decimal places (venue lot rounding happens in the
    exchange layer).

    Parameters
    ----------
    strength : float
        Signal in [-1, 1]; its sign is dropped (the side comes from the signal's action).
    price : float
        Price the order is sized at.
    capital : float
        Account equity.
    max_position_size : float
        Position cap as a fraction of equity.

    Returns
    -------
    Decimal or None
        The unsigned quantity, or ``None`` when the inputs cannot size an order (zero
        strength, a price that is not finite and positive, no capital, or a quantity that
        rounds to 0).
    """
    # the compiled execution rules (numba) load when a signal is sized, not when a strategy
    # class is read (strategies/registry.py)
    from crypto_strategy_lab.core.execution import target_quantity

    if strength == 0 or not math.isfinite(price) or price <= 0 or capital <= 0:
        return None
    target = target_quantity(strength, max_position_size, capital, price, 0.0, 0.0, 0.0)
    qty = Decimal(repr(abs(float(target)))).quantize(Decimal("1e-8"), rounding=ROUND_DOWN)
    return qty if qty > 0 else None
