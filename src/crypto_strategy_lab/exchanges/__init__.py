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
from crypto_strategy_lab.core.orders import OrderRequest, OrderResult
from crypto_strategy_lab.exchanges.base import Exchange
from crypto_strategy_lab.exchanges.factory import ExchangeFactory
from crypto_strategy_lab.security.vault import Credentials

__all__ = [
    "Credentials",
    "Exchange",
    "ExchangeFactory",
    "MarketType",
    "OrderRequest",
    "OrderResult",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "TimeInForce",
    "TradingMode",
]
