"""Builders for risk-engine inputs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from crypto_strategy_lab.core.enums import MarketType, OrderSide, OrderType
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.risk import (
    MarketState,
    OrderIntent,
    PortfolioState,
    PositionExposure,
    ReturnDistribution,
)

NOW = datetime(2024, 6, 3, 15, 0, tzinfo=UTC)
D = Decimal


def intent(
    qty: str | Decimal,
    side: OrderSide = OrderSide.BUY,
    *,
    symbol: str = "BTCUSDT",
    strategy: str = "s1",
    venue: str = "bybit",
    price: str | None = None,
    market: MarketType | None = None,
    returns: tuple[float, float] | None = None,
) -> OrderIntent:
    request = OrderRequest(
        symbol=symbol,
        side=side,
        order_type=OrderType.LIMIT if price else OrderType.MARKET,
        quantity=D(qty),
        price=D(price) if price else None,
        market=market,
        strategy=strategy,
    )
    dist = ReturnDistribution(mean=returns[0], variance=returns[1]) if returns else None
    return OrderIntent(request=request, venue=venue, returns=dist)


def book(
    equity: str = "10000",
    *,
    peak: str | None = None,
    day_start: str | None = None,
    positions: tuple[PositionExposure, ...] = (),
) -> PortfolioState:
    return PortfolioState(
        equity=D(equity),
        peak_equity=D(peak or equity),
        day_start_equity=D(day_start or equity),
        positions=positions,
    )


def pos(
    qty: str,
    *,
    symbol: str = "BTCUSDT",
    strategy: str | None = "s1",
    venue: str = "bybit",
    price: str = "100",
    asset_class: str = "crypto",
) -> PositionExposure:
    return PositionExposure(
        strategy=strategy,
        venue=venue,
        symbol=symbol,
        asset_class=asset_class,
        quantity=D(qty),
        price=D(price),
    )


def market(
    price: str = "100",
    *,
    symbol: str = "BTCUSDT",
    age_s: float = 0,
    bid: str | None = None,
    ask: str | None = None,
    vol: float | None = None,
    base_vol: float | None = None,
) -> MarketState:
    from datetime import timedelta

    return MarketState(
        symbol=symbol,
        last_price=D(price),
        timestamp=NOW - timedelta(seconds=age_s),
        bid=D(bid) if bid else None,
        ask=D(ask) if ask else None,
        volatility=vol,
        baseline_volatility=base_vol,
    )
