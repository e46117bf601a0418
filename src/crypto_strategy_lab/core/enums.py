"""Enumerations of the trading vocabulary (string-valued so they serialise as themselves)."""

from enum import StrEnum


class OrderSide(StrEnum):
    """Side of an order: ``BUY`` or ``SELL``."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return 1 if self is OrderSide.BUY else -1

    def opposite(self) -> "OrderSide":
        """The other side.

        Returns
        -------
        OrderSide
            ``SELL`` for ``BUY`` and ``BUY`` for ``SELL``.
        """
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderType(StrEnum):
    """Order type: ``MARKET``, ``LIMIT``, ``STOP`` (stop-market) or ``STOP_LIMIT``."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


class TimeInForce(StrEnum):
    """How long an order rests: ``GTC``, ``IOC``, ``FOK``, ``DAY`` or ``POST_ONLY``."""

    GTC = "GTC"  # good till cancelled
    IOC = "IOC"  # immediate or cancel
    FOK = "FOK"  # fill or kill
    DAY = "DAY"  # US equities session order
    POST_ONLY = "POST_ONLY"


class MarketType(StrEnum):
    """Which market a symbol trades on: ``spot``, ``linear`` (perpetual) or ``stock``.

    ``BTCUSDT`` exists as spot and as a linear perpetual on Bybit, so the market type
    disambiguates it.
    """

    SPOT = "spot"
    LINEAR = "linear"  # USDT-margined perpetual swap
    STOCK = "stock"


class TradingMode(StrEnum):
    """Where orders go: simulated fills, a venue sandbox (Bybit testnet, Alpaca paper) or live."""

    SIMULATED = "simulated"  # local fills against market data, no venue account
    TESTNET = "testnet"  # Bybit testnet
    PAPER = "paper"  # Alpaca paper
    LIVE = "live"  # real money


class OrderStatus(StrEnum):
    """Lifecycle status of an order (transitions: ``core.orders.ALLOWED_TRANSITIONS``)."""

    NEW = "new"
    SUBMITTED = "submitted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Whether the status is final: filled, cancelled, rejected or expired."""
        # asked for every resting order on every bar: one set, built once
        return self in _TERMINAL_STATUSES


_TERMINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class SignalAction(StrEnum):
    """A signal's decision: ``BUY``, ``SELL`` or ``HOLD``."""

    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"
