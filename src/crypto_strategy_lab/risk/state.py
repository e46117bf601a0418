"""What the risk engine looks at: the order intent, the portfolio and the market."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.core.orders import OrderRequest


def asset_class_of(market: MarketType | None) -> str:
    """``equity`` for stocks, ``crypto`` for spot and perpetuals (and unspecified markets)."""
    return "equity" if market is MarketType.STOCK else "crypto"


class ReturnDistribution(BaseModel):
    """A strategy's per-period return distribution (from its validated backtest)."""

    model_config = ConfigDict(frozen=True)

    mean: float
    variance: float = Field(gt=0)


class OrderIntent(BaseModel):
    """An order a strategy wants, before risk: the request plus where and why."""

    model_config = ConfigDict(frozen=True)

    request: OrderRequest
    venue: str
    asset_class: str = ""
    returns: ReturnDistribution | None = None

    @model_validator(mode="before")
    @classmethod
    def _asset_class(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("asset_class"):
            request = data.get("request")
            market = (
                request.market
                if isinstance(request, OrderRequest)
                else (request or {}).get("market")
            )
            data = {**data, "asset_class": asset_class_of(MarketType(market) if market else None)}
        return data

    @property
    def strategy(self) -> str | None:
        return self.request.strategy


class PositionExposure(BaseModel):
    """One open position: signed ``quantity`` (long > 0) marked at ``price``."""

    model_config = ConfigDict(frozen=True)

    strategy: str | None
    venue: str
    symbol: str
    asset_class: str = "crypto"
    quantity: Decimal
    price: Decimal = Field(gt=0)

    @property
    def notional(self) -> Decimal:
        return abs(self.quantity) * self.price


class PortfolioState(BaseModel):
    """Account equity, its peak and its value at the start of the current UTC day."""

    model_config = ConfigDict(frozen=True)

    equity: Decimal = Field(gt=0)
    peak_equity: Decimal = Field(gt=0)
    day_start_equity: Decimal = Field(gt=0)
    positions: tuple[PositionExposure, ...] = ()

    def position(self, strategy: str | None, venue: str, symbol: str) -> PositionExposure | None:
        for pos in self.positions:
            if (pos.strategy, pos.venue, pos.symbol) == (strategy, venue, symbol):
                return pos
        return None


class MarketState(BaseModel):
    """The latest market data for the order's symbol.

    ``volatility`` is a short-horizon estimate and ``baseline_volatility`` its long-run level
    (same units); their ratio drives the volatility-spike pause.
    """

    model_config = ConfigDict(frozen=True)

    symbol: str
    last_price: Decimal = Field(gt=0)
    timestamp: datetime
    bid: Decimal | None = None
    ask: Decimal | None = None
    volatility: float | None = None
    baseline_volatility: float | None = None

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("market timestamp must be timezone-aware (UTC)")
        return value
