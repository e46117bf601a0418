"""The kill switch's flatten on the venue emulators (127.0.0.1, no network): it closes the
exposure our runs created, once, whatever the venue lists or holds.

* Two sleeves on one Alpaca account and symbol, flattened before either sell fills: each
  closes its own journaled share, so the account ends flat, not short.
* Two runs on one simulated account: each closes its share, neither cancels the other's.
* Bybit spot, where holdings are balances: the run's coins are sold, the coins the account
  held before are not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd
import pytest

from crypto_strategy_lab.core.enums import MarketType, OrderSide, OrderType, TradingMode
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.engine import Sleeve, StrategyRunner, TradingEngine
from crypto_strategy_lab.exchanges import Exchange
from crypto_strategy_lab.exchanges.simulated.client import SimulatedExchange
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import MarketState, OrderIntent, PortfolioState, RiskLimits
from tests.emulators.alpaca import AlpacaEmulator
from tests.emulators.bybit import BybitEmulator
from tests.engine.helpers import FixedSignal
from tests.exchanges.conftest import FAST_RETRY, client_for

CAPITAL = Decimal(100_000)
NOW = datetime(2026, 12, 7, 15, tzinfo=UTC)
STEP = pd.Timedelta("15min")


def _sleeve(name: str, exchange: Exchange, symbol: str, market: MarketType) -> Sleeve:
    signal = FixedSignal(pd.Series([0.0], index=pd.DatetimeIndex([NOW])))
    return Sleeve(StrategyRunner(signal, symbol, market), exchange, allocation=0.1, name=name)


async def _engine(journal: Journal, sleeves: list[Sleeve], mode: TradingMode) -> TradingEngine:
    engine = TradingEngine(
        journal,
        sleeves,
        mode=mode,
        capital=CAPITAL,
        limits=RiskLimits(),
    )
    await engine.start()
    return engine


async def _enter(
    engine: TradingEngine, sleeve: Sleeve, quantity: Decimal, price: Decimal, tag: str
) -> None:
    """A market buy of `sleeve`, through the risk engine and the journal as the loop sends."""
    assert engine.risk is not None and engine.orders is not None
    request = OrderRequest(
        symbol=sleeve.symbol,
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        quantity=quantity,
        market=sleeve.market,
        time_in_force=sleeve.time_in_force,
        client_order_id=f"entry-{tag}",
        strategy=sleeve.name,
    )
    decision = engine.risk.evaluate(
        OrderIntent(request=request, venue=sleeve.venue),
        PortfolioState(equity=CAPITAL, peak_equity=CAPITAL, day_start_equity=CAPITAL),
        MarketState(symbol=sleeve.symbol, last_price=price, timestamp=NOW),
        now=NOW,
    )
    assert decision.approved_quantity == quantity
    engine.orders.record_new(sleeve.name, request, risk_event_id=decision.risk_event_id, ts=NOW)
    await engine.orders.send(sleeve.name, sleeve.exchange, request, ts=NOW)


async def test_two_sleeves_on_one_alpaca_account_flatten_to_flat_not_short(journal) -> None:  # type: ignore[no-untyped-def]
    async with AlpacaEmulator() as emu:
        # two clients of one account: the engine cannot tell they net at the venue
        a, b = (client_for("alpaca", emu, timeout=1.0, retry_policy=FAST_RETRY) for _ in "ab")
        async with a, b:
            sleeves = [_sleeve(n, ex, "AAPL", MarketType.STOCK) for n, ex in (("a", a), ("b", b))]
            engine = await _engine(journal, sleeves, TradingMode.PAPER)
            await _enter(engine, sleeves[0], Decimal(5), Decimal(200), "a")
            await _enter(engine, sleeves[1], Decimal(5), Decimal(200), "b")
            assert emu.positions["AAPL"]["qty"] == 10
            emu.fill_at_once = False  # both sells are sent before either fills
            await engine.flatten("test kill")
            emu.fill_queued()
            sells = [o for o in emu.orders.values() if o["side"] == "sell"]
            assert sorted(Decimal(o["qty"]) for o in sells) == [5, 5]  # each its own share
            assert emu.positions.get("AAPL", {"qty": Decimal(0)})["qty"] == 0


@pytest.mark.parametrize("fee_in_base", [False, True], ids=["fee-in-usdt", "fee-in-btc"])
async def test_bybit_spot_kill_sells_the_runs_coins_and_keeps_the_accounts(
    journal, fee_in_base: bool
) -> None:  # type: ignore[no-untyped-def]
    async with BybitEmulator() as emu:
        emu.wallet["BTC"] = Decimal("0.5")  # held before the run: never ours to sell
        emu.spot_buy_fee_in_base = fee_in_base  # as Bybit does: the run received 0.00999
        ex = client_for("bybit", emu, timeout=1.0, retry_policy=FAST_RETRY)
        async with ex:
            sleeve = _sleeve("spot", ex, "BTCUSDT", MarketType.SPOT)
            engine = await _engine(journal, [sleeve], TradingMode.TESTNET)
            await _enter(engine, sleeve, Decimal("0.01"), Decimal(50_000), "spot")
            assert emu.wallet["BTC"] > Decimal("0.5")
            await engine.flatten("test kill")
            sells = [o for o in emu.orders.values() if o["side"] == "Sell"]
            received = Decimal("0.00999") if fee_in_base else Decimal("0.01")
            assert [Decimal(o["qty"]) for o in sells] == [received]
            assert emu.wallet["BTC"] == Decimal("0.5")


async def test_two_runs_on_one_simulated_account_each_close_their_share(journal) -> None:  # type: ignore[no-untyped-def]
    # Two runs (two engines, as two `csl paper` processes would be) trade one symbol at one
    # simulated account; both see the kill switch before the next bar fills either flatten.
    # Each closes its own share, and one run's cancels must not void the other's flatten.
    venue = SimulatedExchange(cash=Decimal(100_000))
    t0 = pd.Timestamp(NOW)
    bar = {"open": 50_000.0, "high": 50_000.0, "low": 50_000.0, "close": 50_000.0, "volume": 1.0}
    venue.on_bar("BTCUSDT", t0 - STEP, bar, close_time=t0)  # the venue's first price
    engines, shares = [], {"a": Decimal("0.15"), "b": Decimal("0.05")}
    for name, quantity in shares.items():
        sleeve = _sleeve(name, venue, "BTCUSDT", MarketType.LINEAR)
        engine = await _engine(journal, [sleeve], TradingMode.SIMULATED)
        await _enter(engine, sleeve, quantity, Decimal(50_000), name)
        engines.append(engine)
    for fill in venue.on_bar("BTCUSDT", t0, bar, close_time=t0 + STEP):
        for engine in engines:
            assert engine.orders is not None
            if fill.client_order_id in engine.orders.orders:
                engine.orders.record_fill(engine.sleeves[0].name, fill)
    assert sum(p.quantity for p in await venue.get_positions("BTCUSDT")) == Decimal("0.2")
    for engine in engines:
        await engine.flatten("test kill")
    closes = venue.on_bar("BTCUSDT", t0 + STEP, bar, close_time=t0 + 2 * STEP)
    assert sorted(f.quantity for f in closes) == sorted(shares.values())
    assert await venue.get_positions("BTCUSDT") == []
