"""What the risk engine looks at: the order intent, the portfolio and the market."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.core.orders import OrderRequest


def asset_class_of(market: MarketType | None) -> str:
    """The asset class of a market, for per-asset-class limits.

    Parameters
    ----------
    market : MarketType or None
        The order's market.

    Returns
    -------
    str
        ``"equity"`` for stocks, ``"crypto"`` for spot, perpetuals and unspecified markets.
    """
    return "equity" if market is MarketType.STOCK else "crypto"


class ReturnDistribution(BaseModel):
    """A strategy's per-period return distribution (from its validated backtest).

    Attributes
    ----------
    mean : float
        Mean simple return per period (per bar).
    variance : float
        Variance of the return per period, > 0.
    """

    model_config = ConfigDict(frozen=True)

    mean: float
    variance: float = Field(gt=0)


class OrderIntent(BaseModel):
    """An order a strategy wants, before risk: the request plus where and why.

    Attributes
    ----------
    request : OrderRequest
        The order.
    venue : str
        Venue it would go to (for per-venue limits and positions).
    asset_class : str
        ``equity`` or ``crypto``; default from ``request.market`` (:func:`asset_class_of`).
    returns : ReturnDistribution or None
        The strategy's return distribution, for Kelly sizing; ``None`` skips that rule.
    """

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
        """The requesting strategy (``request.strategy``)."""
        return self.request.strategy


class PositionExposure(BaseModel):
    """One open position: signed ``quantity`` (long > 0) marked at ``price``.

    Attributes
    ----------
    strategy : str or None
        Owning strategy.
    venue, symbol : str
        Where it is held.
    asset_class : str, default "crypto"
        For per-asset-class limits.
    quantity : Decimal
        Signed quantity in base units (long > 0, short < 0).
    price : Decimal
        Mark price, > 0.
    """

    model_config = ConfigDict(frozen=True)

    strategy: str | None
    venue: str
    symbol: str
    asset_class: str = "crypto"
    quantity: Decimal
    price: Decimal = Field(gt=0)

    @property
    def notional(self) -> Decimal:
        """Gross notional ``|quantity| × price``."""
        return abs(self.quantity) * self.price


class PortfolioState(BaseModel):
    """Account equity, its peak and its value at the start of the current UTC day.

    Attributes
    ----------
    equity, peak_equity, day_start_equity : Decimal
        Current equity, its running peak (drawdown de-risking) and its value at the start of
        the current UTC day (daily loss limit), all > 0 in account currency.
    positions : tuple of PositionExposure
        Open positions of the whole book.
    """

    model_config = ConfigDict(frozen=True)

    equity: Decimal = Field(gt=0)
    peak_equity: Decimal = Field(gt=0)
    day_start_equity: Decimal = Field(gt=0)
    positions: tuple[PositionExposure, ...] = ()

    def position(self, strategy: str | None, venue: str, symbol: str) -> PositionExposure | None:
        """The position of `strategy` in `symbol` at `venue`, or ``None``.

        Parameters
        ----------
        strategy : str or None
            Owning strategy.
        venue, symbol : str
            Where it is held.

        Returns
        -------
        PositionExposure or None
            The first matching position.
        """
        for pos in self.positions:
            if (pos.strategy, pos.venue, pos.symbol) == (strategy, venue, symbol):
                return pos
        return None


class MarketState(BaseModel):
    """The latest market data for the order's symbol.

    Attributes
    ----------
    symbol : str
        Must equal the order's symbol.
    last_price : Decimal
        Last traded price, > 0; exposures are marked at it.
    timestamp : datetime.datetime
        Time of `last_price`, timezone-aware; its age drives the stale-data pause.
    bid, ask : Decimal or None
        Best quotes, for the wide-spread pause (skipped when either is missing).
    volatility, baseline_volatility : float or None
        A short-horizon volatility estimate and its long-run level, in the same units;
        their ratio drives the volatility-spike pause (skipped when either is missing).
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
