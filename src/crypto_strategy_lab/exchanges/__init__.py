"""The unified async exchange layer: Bybit (ccxt), Alpaca (alpaca-py) and a simulated venue.

>>> exchange = ExchangeFactory.create_exchange('bybit', mode=TradingMode.TESTNET)  # doctest: +SKIP
>>> await exchange.place_order(OrderRequest(symbol='BTCUSDT', side=OrderSide.BUY,
...     order_type=OrderType.MARKET, quantity=Decimal('0.01')))  # doctest: +SKIP
"""

from crypto_strategy_lab.core.enums import (
    MarketType,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradingMode,
)
from crypto_strategy_lab.core.orders import Balance, Fill, OrderRequest, OrderResult, Position
from crypto_strategy_lab.exchanges.base import Exchange, Ticker
from crypto_strategy_lab.exchanges.factory import ExchangeFactory
from crypto_strategy_lab.exchanges.rules import MarketRules
from crypto_strategy_lab.security.vault import Credentials

__all__ = [
    "Balance",
    "Credentials",
    "Exchange",
    "ExchangeFactory",
    "Fill",
    "MarketRules",
    "MarketType",
    "OrderRequest",
    "OrderResult",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "Ticker",
    "TimeInForce",
    "TradingMode",
]
