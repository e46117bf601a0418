"""One read of an account marked to market: equal to its balance and position reads."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.errors import InsufficientFunds
from crypto_strategy_lab.core.orders import AccountValue, Balance, Position, PositionMark
from crypto_strategy_lab.exchanges import (
    ExchangeFactory,
    MarketType,
    OrderRequest,
    OrderSide,
    OrderType,
    TradingMode,
)
from crypto_strategy_lab.exchanges.base import Exchange
from crypto_strategy_lab.exchanges.simulated.client import SimulatedExchange
from tests.exchanges.test_simulated import bar

T0 = datetime(2024, 1, 1, 1, tzinfo=UTC)
SYMBOLS = ("BTCUSDT", "ETHUSDT")


async def _composed(ex: Exchange, symbol: str) -> AccountValue:
    """What the two public reads say: the quote's total and the non-zero positions."""
    balances = await ex.get_balance()
    positions = await ex.get_positions(symbol, market=MarketType.LINEAR)
    quote = balances.get(ex.quote or "")
    return AccountValue(
        quote.total if quote is not None else Decimal(0),
        tuple(PositionMark.of(p) for p in positions if p.quantity != 0),
    )


async def test_the_simulated_account_value_is_its_balance_and_positions_on_every_bar() -> None:
    # seeded random trading on two symbols (one leveraged), longs, shorts, reversals and
    # closes, fees and slippage: the venue's direct answer equals what its balance and
    # position reads say, and the base class's composition of its primitives
    rng = random.Random(11)
    ex = ExchangeFactory.create_exchange(
        "simulated",
        TradingMode.SIMULATED,
        cost_model=CostModel(taker_fee_bps=5.5, slippage_bps=2.0),
        cash="100000",
    )
    assert isinstance(ex, SimulatedExchange)
    await ex.set_leverage("ETHUSDT", Decimal(3))
    prices = {"BTCUSDT": 30_000.0, "ETHUSDT": 2_000.0}
    seen = {"flat": 0, "long": 0, "short": 0}
    for i in range(400):
        ts = T0 + timedelta(minutes=i)
        for symbol in SYMBOLS:
            close = prices[symbol] = prices[symbol] * (1 + rng.gauss(0, 0.003))
            ex.on_bar(symbol, ts, bar(close, close * 1.002, close * 0.998, close))
        for symbol in SYMBOLS:
            direct = await ex.get_account_value(symbol, market=MarketType.LINEAR)
            assert direct == await _composed(ex, symbol)
            assert direct == await Exchange._fetch_account_value(ex, symbol, MarketType.LINEAR)
            for mark in direct.positions:
                [venue_position] = await ex.get_positions(symbol)
                assert mark.position() == venue_position.model_copy(update={"leverage": None})
            held = sum((p.quantity for p in direct.positions), Decimal(0))
            seen["flat" if held == 0 else "long" if held > 0 else "short"] += 1
            if rng.random() < 0.15:
                request = OrderRequest(
                    symbol=symbol,
                    side=rng.choice([OrderSide.BUY, OrderSide.SELL]),
                    order_type=OrderType.MARKET,
                    quantity=Decimal(rng.choice(["0.5", "1", "2"]))
                    * (1 if symbol == "BTCUSDT" else 10),
                    market=MarketType.LINEAR,
                )
                with contextlib.suppress(InsufficientFunds):
                    await ex.place_order(request)
    assert min(seen.values()) > 20, seen  # every kind of state was compared


class _ListedVenue(SimulatedExchange):
    """A venue whose balance and position reads are given (the composition is checked)."""

    def __init__(self, balances: dict[str, Balance], positions: list) -> None:  # type: ignore[type-arg]
        super().__init__()
        self.quote = None
        self._given = (balances, positions)

    async def _fetch_balance(self) -> dict[str, Balance]:
        return self._given[0]

    async def _fetch_positions(self, symbol, market):  # type: ignore[no-untyped-def]
        return self._given[1]

    _fetch_account_value = Exchange._fetch_account_value


def _balance(currency: str, total: str) -> Balance:
    return Balance(currency=currency, total=Decimal(total), free=Decimal(total), venue="x")


async def test_a_composed_account_value_counts_the_first_listed_currency_and_drops_flat() -> None:
    long = Position(
        symbol="BTCUSDT",
        quantity=Decimal("0.5"),
        average_price=Decimal(100),
        market=MarketType.LINEAR,
        venue="x",
        mark_price=Decimal(110),
        unrealized_pnl=Decimal(5),
        leverage=Decimal(2),
    )
    flat = long.model_copy(update={"quantity": Decimal(0)})
    venue = _ListedVenue({"USD": _balance("USD", "10"), "BTC": _balance("BTC", "3")}, [flat, long])
    value = await venue.get_account_value("BTCUSDT")
    assert value == AccountValue(
        Decimal(10),
        (
            PositionMark(
                "BTCUSDT",
                Decimal("0.5"),
                Decimal(100),
                MarketType.LINEAR,
                "x",
                Decimal(110),
                Decimal(5),
            ),
        ),
    )
    # a named quote currency is counted, and one the venue does not list counts as zero
    venue.quote = "BTC"
    assert (await venue.get_account_value("BTCUSDT")).equity == Decimal(3)
    venue.quote = "EUR"
    assert (await venue.get_account_value("BTCUSDT")).equity == Decimal(0)
    assert (await _ListedVenue({}, []).get_account_value("BTCUSDT")) == AccountValue(Decimal(0), ())
