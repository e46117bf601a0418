"""Simulated venue: fills priced by the shared CostModel, checked against closed forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pandas as pd
import pandas.testing as pd_testing
import pytest

from crypto_strategy_lab.core.costs import CostModel, SlippageModel
from crypto_strategy_lab.core.errors import InsufficientFunds, InvalidOrder
from crypto_strategy_lab.core.orders import Fill, Position
from crypto_strategy_lab.exchanges import (
    ExchangeFactory,
    MarketType,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TradingMode,
)
from crypto_strategy_lab.exchanges.simulated.client import SimulatedExchange
from tests.conftest import make_random_walk_bars

D100 = Decimal("100")
T0 = datetime(2024, 1, 1, 1, tzinfo=UTC)  # 01:00, not a funding hour


def bar(o: float, h: float, lo: float, c: float, v: float = 100.0) -> dict[str, float]:
    return {"open": o, "high": h, "low": lo, "close": c, "volume": v}


def venue(**kw) -> SimulatedExchange:
    ex = ExchangeFactory.create_exchange("simulated", TradingMode.SIMULATED, **kw)
    assert isinstance(ex, SimulatedExchange)
    ex.on_bar("BTCUSDT", T0, bar(100, 101, 99, 100))
    return ex


def order(**fields) -> OrderRequest:
    base = {
        "symbol": "BTCUSDT",
        "side": OrderSide.BUY,
        "order_type": OrderType.MARKET,
        "quantity": Decimal("2"),
    }
    base.update(fields)
    return OrderRequest(**base)


async def test_market_order_fills_next_open_with_fixed_slippage_and_taker_fee() -> None:
    costs = CostModel(taker_fee_bps=5.5, slippage_bps=2.0)
    ex = venue(cost_model=costs, cash="10000")
    placed = await ex.place_order(order())
    assert placed.status is OrderStatus.NEW  # nothing fills before the next bar
    [fill] = ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(110, 112, 108, 111))
    expected_price = 110 * (1 + 2.0 / 1e4)  # open x (1 + s)
    assert float(fill.price) == pytest.approx(expected_price, rel=1e-12)
    assert float(fill.fee) == pytest.approx(2 * expected_price * 5.5 / 1e4, rel=1e-12)
    result = await ex.get_order(placed.order_id, "BTCUSDT")
    assert result.status is OrderStatus.FILLED and result.fills == (fill,)
    # equity = cash - fee + q (close - entry)
    equity = 10000 - float(fill.fee) + 2 * (111 - expected_price)
    assert float((await ex.get_balance())["USDT"].total) == pytest.approx(equity, rel=1e-12)


async def test_range_slippage_matches_the_backtest_formula() -> None:
    costs = CostModel(slippage=SlippageModel.RANGE, range_fraction=0.25, taker_fee_bps=0)
    ex = venue(cost_model=costs, cash="10000")
    await ex.place_order(order(side=OrderSide.SELL))
    [fill] = ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 104, 96, 101))
    s = 0.25 * (104 - 96) / 100
    assert float(fill.price) == pytest.approx(100 * (1 - s), rel=1e-12)


async def test_limit_fills_at_its_price_as_maker_and_stop_gaps_to_open() -> None:
    costs = CostModel(maker_fee_bps=2.0, taker_fee_bps=5.5, slippage_bps=0)
    ex = venue(cost_model=costs, cash="10000")
    limit = await ex.place_order(order(order_type=OrderType.LIMIT, price=Decimal("98")))
    stop = await ex.place_order(
        order(order_type=OrderType.STOP, stop_price=Decimal("103"), quantity=Decimal("1"))
    )
    assert ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 102, 99, 101)) == []
    fills = ex.on_bar("BTCUSDT", T0 + timedelta(hours=2), bar(105, 106, 97, 99))
    by_order = {f.order_id: f for f in fills}
    assert by_order[limit.order_id].price == Decimal("98")
    assert float(by_order[limit.order_id].fee) == pytest.approx(2 * 98 * 2.0 / 1e4)
    assert float(by_order[stop.order_id].price) == 105.0  # gapped through 103: fills at open


async def test_stop_limit_triggers_then_rests_as_a_limit() -> None:
    ex = venue(cost_model=CostModel(slippage_bps=0, taker_fee_bps=0, maker_fee_bps=0), cash="10000")
    placed = await ex.place_order(
        order(order_type=OrderType.STOP_LIMIT, stop_price=Decimal("105"), price=Decimal("104"))
    )
    # reaches the stop, but trades above the limit afterwards: triggered, not filled
    assert ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(104.5, 106, 104.5, 105.5)) == []
    assert (await ex.get_order(placed.order_id, "BTCUSDT")).status is OrderStatus.NEW
    [fill] = ex.on_bar("BTCUSDT", T0 + timedelta(hours=2), bar(105, 105.5, 103, 104))
    assert fill.price == Decimal("104")  # maker fill at the limit


async def test_attached_stop_loss_exits_and_cancels_take_profit() -> None:
    ex = venue(cost_model=CostModel(slippage_bps=0, taker_fee_bps=0, maker_fee_bps=0), cash="10000")
    await ex.place_order(order(stop_loss=Decimal("95"), take_profit=Decimal("110")))
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 101, 99, 100))
    assert len(await ex.get_open_orders()) == 2  # the exit pair
    # one bar touches both: the stop is assumed first
    fills = ex.on_bar("BTCUSDT", T0 + timedelta(hours=2), bar(100, 111, 94, 100))
    assert [f.price for f in fills] == [Decimal("95.0")]
    assert await ex.get_positions() == [] and await ex.get_open_orders() == []
    assert ex.cash == Decimal("10000") + 2 * (Decimal("95") - Decimal("100"))


async def test_funding_settles_at_the_instant_on_the_position_carried_into_it() -> None:
    """Bybit: the 08:00 funding is paid on the position held at 08:00, valued at the mark
    then; on bars that is the close of the bar ending at 08:00 (the backtest's convention)."""
    costs = CostModel(funding_rate_8h=0.001, slippage_bps=0, taker_fee_bps=0)
    ex = venue(cost_model=costs, cash="10000")
    await ex.place_order(order())
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 100, 100, 100))  # 02:00-03:00
    hour = timedelta(hours=1)
    seven = datetime(2024, 1, 1, 7, tzinfo=UTC)
    before = ex.cash
    ex.on_bar("BTCUSDT", seven, bar(100, 121, 99, 120), close_time=seven + hour)
    assert float(before - ex.cash) == pytest.approx(2 * 120 * 0.001)  # q x close x rate
    # a position opened on the bar that opens at the instant did not hold it: the bar that
    # opens at 08:00 pays nothing (and nothing without close_time: spacing gives 09:00)
    await ex.place_order(order(side=OrderSide.SELL, quantity=Decimal("4")))
    before = ex.cash
    ex.on_bar("BTCUSDT", seven + hour, bar(120, 120, 120, 120))
    assert ex.cash - before == 2 * (Decimal("120") - Decimal("100"))  # realised PnL only
    # the short now receives at 16:00; a bar spanning several instants pays each of them
    position = (await ex.get_positions())[0].quantity
    assert position == Decimal("-2")
    before = ex.cash
    ex.on_bar(
        "BTCUSDT",
        datetime(2024, 1, 1, 9, tzinfo=UTC),
        bar(120, 120, 100, 100),
        close_time=datetime(2024, 1, 2, 9, tzinfo=UTC),  # contains 16:00, 00:00, 08:00
    )
    assert float(ex.cash - before) == pytest.approx(3 * 2 * 100 * 0.001)


async def test_trade_ids_are_unique_across_accounts_and_repeatable() -> None:
    """Sub-accounts share the venue name ``simulated`` in a journal: trade ids must differ
    between accounts (a collision lost fills) and repeat for the same order (restart)."""

    async def one_fill(client_order_id: str) -> str:
        ex = venue(cash="10000")
        await ex.place_order(order(client_order_id=client_order_id))
        [fill] = ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 101, 99, 100))
        return fill.trade_id

    a, b = await one_fill("acct-a-1"), await one_fill("acct-b-1")
    assert a != b
    assert await one_fill("acct-a-1") == a


async def test_reversal_needs_margin_only_for_the_new_side() -> None:
    """Flipping +60 -> -60 at leverage 1 with 10,000 equity: the 60 that close release their
    margin (one-way position mode, as on Bybit), so only the 60 that open need it. Before,
    the whole 120 was charged against the free margin left beside the open long, and 18
    reversals of a 12-strategy paper run were rejected."""
    costs = CostModel(slippage_bps=0, taker_fee_bps=0)
    ex = venue(cost_model=costs, cash="10000")
    await ex.place_order(order(quantity=Decimal("60")))
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 100, 100, 100))
    flip = await ex.place_order(order(side=OrderSide.SELL, quantity=Decimal("120")))
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=2), bar(100, 100, 100, 100))
    assert (await ex.get_order(flip.order_id, "BTCUSDT")).status is OrderStatus.FILLED
    assert (await ex.get_positions())[0].quantity == Decimal("-60")
    with pytest.raises(InsufficientFunds):  # but a flip to a short beyond equity is refused
        await ex.place_order(order(quantity=Decimal("170")))


async def test_margin_spot_shorting_duplicates_and_reduce_only() -> None:
    ex = venue(cash="100")
    with pytest.raises(InsufficientFunds):
        await ex.place_order(order())  # 2 x 100 notional at leverage 1 > 100 cash
    await ex.set_leverage("BTCUSDT", 5)
    request = order()
    first = await ex.place_order(request)
    assert (await ex.place_order(request)).order_id == first.order_id  # same client id
    with pytest.raises(InsufficientFunds, match="no shorting"):
        await ex.place_order(order(side=OrderSide.SELL, market=MarketType.SPOT, symbol="BTCUSDT"))
    with pytest.raises(InvalidOrder, match="reduce"):
        await ex.place_order(order(side=OrderSide.SELL, reduce_only=True))


async def test_last_close_policy_close_position_and_ohlcv() -> None:
    bars = make_random_walk_bars(48, seed=3, freq="1h")
    ex = SimulatedExchange(
        fill_policy="last_close",
        bars={"BTCUSDT": bars},
        cost_model=CostModel(slippage_bps=0, taker_fee_bps=0),
        cash="10000",
    )
    placed = await ex.place_order(order(quantity=Decimal("1")))
    assert placed.status is OrderStatus.FILLED
    assert float(placed.average_price) == pytest.approx(bars["close"].iloc[-1])
    [closing] = await ex.close_position("BTCUSDT")
    assert closing.status is OrderStatus.FILLED
    assert await ex.get_positions() == []
    daily = await ex.get_ohlcv("BTCUSDT", "1D")
    assert len(daily) == 2
    assert daily["high"].iloc[0] == pytest.approx(bars["high"].iloc[:24].max())
    assert daily["volume"].iloc[1] == pytest.approx(bars["volume"].iloc[24:].sum())


def test_simulated_has_no_live_mode() -> None:
    from crypto_strategy_lab.core.errors import ConfigError

    with pytest.raises(ConfigError, match="simulated has no live mode"):
        ExchangeFactory.create_exchange("simulated", TradingMode.LIVE)


async def test_bar_history_grows_past_its_capacity_and_rebuilds_the_frame() -> None:
    """The venue keeps bars in growing numpy columns (no O(n^2) DataFrame appends): every
    appended bar comes back from get_ohlcv exactly, and the last bar prices orders."""
    from crypto_strategy_lab.data.schema import DataValidationError
    from crypto_strategy_lab.exchanges.simulated.history import BarHistory

    bars = make_random_walk_bars(3000, seed=5, freq="1min")  # > initial capacity of 1024
    warm, live = bars.iloc[:10], bars.iloc[10:]
    ex = SimulatedExchange(bars={"BTCUSDT": warm}, cash="10000")
    for ts, row in live.iterrows():
        ex.on_bar("BTCUSDT", ts, row.to_dict())
    frame = await ex.get_ohlcv("BTCUSDT", "1m")
    expected = bars[["open", "high", "low", "close", "volume"]]
    pd_testing.assert_frame_equal(frame, expected, check_freq=False)
    ticker = await ex.get_ticker("BTCUSDT")
    assert float(ticker.last) == bars.close.iloc[-1] and ticker.timestamp == bars.index[-1]
    with pytest.raises(DataValidationError, match="strictly increasing"):
        ex.on_bar("BTCUSDT", bars.index[-1], live.iloc[-1].to_dict())
    assert len(BarHistory()) == 0 and BarHistory().last() is None


async def test_datetimes_and_timestamps_give_the_same_history_and_marks() -> None:
    """The engine hands plain datetimes (naive ones are UTC, aware ones are converted), a
    caller may hand pandas Timestamps: same bars, same frame, and the mark (equity of a held
    position) follows every new bar."""
    bars = make_random_walk_bars(50, seed=3, freq="1min")
    by_stamp, by_datetime = SimulatedExchange(cash="10000"), SimulatedExchange(cash="10000")
    plus_two = timezone(timedelta(hours=2))
    for i, (ts, row) in enumerate(bars.iterrows()):
        by_stamp.on_bar("BTCUSDT", ts, row.to_dict())
        stamp = ts.to_pydatetime()
        given = [stamp, stamp.replace(tzinfo=None), stamp.astimezone(plus_two)][i % 3]
        by_datetime.on_bar("BTCUSDT", given, row.to_dict(), close_time=stamp + timedelta(minutes=1))
        if i == 0:
            for ex in (by_stamp, by_datetime):
                await ex.place_order(order(quantity=Decimal("0.5")))
        if i > 1:
            mark = Decimal(repr(float(row.close)))
            [held] = await by_datetime.get_positions()
            assert held.mark_price == mark
            assert by_datetime.equity() == by_stamp.equity()
            assert by_datetime.equity() == by_datetime.cash + held.quantity * (
                mark - held.average_price
            )
    pd_testing.assert_frame_equal(
        await by_datetime.get_ohlcv("BTCUSDT", "1m"), await by_stamp.get_ohlcv("BTCUSDT", "1m")
    )


async def test_terminal_orders_leave_the_open_book() -> None:
    ex = venue(cash="10000")
    placed = [await ex.place_order(order(quantity=Decimal("0.1"))) for _ in range(3)]
    await ex.cancel_order(placed[0].order_id, "BTCUSDT")
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 101, 99, 100))
    assert await ex.get_open_orders() == []
    assert ex._live_orders() == []  # the per-bar scan no longer visits finished orders
    assert len(ex._orders) == 3  # while every order stays queryable


async def test_a_reduce_only_exit_larger_than_the_position_pays_for_what_it_fills() -> None:
    # the engine rests exits sized for the larger target across a rebalance; the venue fills
    # the position it finds and charges the fee on that quantity only (it charged the
    # order's quantity before)
    costs = CostModel(taker_fee_bps=5.5, maker_fee_bps=2.0, slippage_bps=0.0)
    ex = venue(cost_model=costs, cash="10000")
    await ex.place_order(order())
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 100, 100, 100))
    tp = order(
        side=OrderSide.SELL,
        order_type=OrderType.LIMIT,
        price=Decimal("104"),
        quantity=Decimal("5"),
        reduce_only=True,
    )
    await ex.place_order(tp)
    [fill] = ex.on_bar("BTCUSDT", T0 + timedelta(hours=2), bar(101, 105, 101, 103))
    assert fill.quantity == Decimal("2") and fill.price == Decimal("104")
    assert float(fill.fee) == pytest.approx(2 * 104 * 2.0 / 1e4, rel=1e-12)


async def test_market_orders_fill_before_resting_exits_on_the_same_bar() -> None:
    # a rebalance bar: the order sent after the last close fills at the open, then the
    # resting stop (sized for the new position) closes the whole position on the bar's path
    costs = CostModel(taker_fee_bps=0.0, maker_fee_bps=0.0, slippage_bps=0.0)
    ex = venue(cost_model=costs, cash="10000")
    await ex.place_order(order())
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 100, 100, 100))
    stop = order(
        side=OrderSide.SELL,
        order_type=OrderType.STOP,
        stop_price=Decimal("98"),
        quantity=Decimal("3"),
        reduce_only=True,
    )
    await ex.place_order(stop)
    await ex.place_order(order(quantity=Decimal("1")))
    fills = ex.on_bar("BTCUSDT", T0 + timedelta(hours=2), bar(100, 100, 97, 97))
    assert [(f.side, f.quantity, f.price) for f in fills] == [
        (OrderSide.BUY, Decimal("1"), Decimal("100.0")),
        (OrderSide.SELL, Decimal("3"), Decimal("98.0")),
    ]
    assert await ex.get_positions("BTCUSDT") == []


async def test_a_leveraged_long_is_liquidated_like_the_backtest() -> None:
    # 3x long of 10000 at 100: q = 300, cash net of the position = -20000;
    # P_liq = 20000 / (300 (1 - 0.005)) = 67.0017; equity then 0.005 * 300 * P_liq
    costs = CostModel(taker_fee_bps=0.0, maker_fee_bps=0.0, slippage_bps=0.0)
    ex = venue(cost_model=costs, cash="10000")
    await ex.set_leverage("BTCUSDT", Decimal(3))
    await ex.place_order(order(quantity=Decimal("300")))
    ex.on_bar("BTCUSDT", T0 + timedelta(hours=1), bar(100, 100, 100, 100))
    [fill] = ex.on_bar("BTCUSDT", T0 + timedelta(hours=2), bar(75, 76, 60, 62))
    p_liq = 20000 / (300 * 0.995)
    assert fill.side is OrderSide.SELL and fill.quantity == Decimal("300")
    assert float(fill.price) == pytest.approx(p_liq, rel=1e-12)
    equity = float((await ex.get_balance())["USDT"].total)
    assert equity == pytest.approx(0.005 * 300 * p_liq, rel=1e-9)


async def _liquidated(entry_ids: list[str]) -> Fill:
    """A 3x long entered by orders with ``entry_ids``, liquidated on a slide: the fill."""
    costs = CostModel(taker_fee_bps=0.0, maker_fee_bps=0.0, slippage_bps=0.0)
    ex = venue(cost_model=costs, cash="10000")
    await ex.set_leverage("BTCUSDT", Decimal(3))
    for k, cid in enumerate(entry_ids):
        await ex.place_order(order(quantity=Decimal(300 / len(entry_ids)), client_order_id=cid))
        ex.on_bar("BTCUSDT", T0 + timedelta(hours=1 + k), bar(100, 100, 100, 100))
    [fill] = ex.on_bar("BTCUSDT", T0 + timedelta(hours=9), bar(75, 76, 60, 62))
    return fill


async def test_a_liquidations_ids_are_the_same_on_a_replay_and_unique_per_position() -> None:
    """The venue's own liquidation order has a client id (and its fill a trade id) that the
    same replay gives again (a resumed run re-lives it: the journal must know the fill), and
    that differs for a position opened by other orders (another run or sleeve: the trade ids
    of one venue are unique across a journal)."""
    first = await _liquidated(["run-a-entry"])
    again = await _liquidated(["run-a-entry"])
    other = await _liquidated(["run-b-entry"])
    added_to = await _liquidated(["run-a-entry", "run-a-add"])
    assert first.client_order_id.startswith("liq-") and len(first.client_order_id) == 36
    assert first.trade_id == f"{first.client_order_id}:1"
    assert (again.client_order_id, again.trade_id) == (first.client_order_id, first.trade_id)
    assert len({first.trade_id, other.trade_id, added_to.trade_id}) == 3
    assert first.order_id == other.order_id  # the venue's order ids alone would clash


async def test_close_position_closes_every_position_the_venue_lists() -> None:
    # A venue may list several positions for one symbol (hedge-mode legs): each needs its own
    # reduce-only close, or the kill switch leaves the account exposed.
    ex = venue(cash="10000")
    legs = [
        Position(symbol="BTCUSDT", quantity=Decimal("2"), average_price=D100, venue="simulated"),
        Position(symbol="BTCUSDT", quantity=Decimal("-1"), average_price=D100, venue="simulated"),
    ]
    sent: list[OrderRequest] = []

    async def listed(symbol, market):
        return legs

    async def place(request):
        sent.append(request)
        return request

    ex._fetch_positions = listed
    ex.place_order = place
    assert len(await ex.close_position("BTCUSDT", market=MarketType.LINEAR)) == 2
    assert [(r.side, r.quantity, r.reduce_only) for r in sent] == [
        (OrderSide.SELL, Decimal("2"), True),
        (OrderSide.BUY, Decimal("1"), True),
    ]


async def test_weekly_ohlcv_bars_open_on_monday() -> None:
    bars = make_random_walk_bars(24 * 21, seed=4, freq="1h")
    bars.index = bars.index - bars.index[0] + pd.Timestamp("2024-01-03", tz="UTC")  # a Wednesday
    ex = SimulatedExchange(fill_policy="last_close", bars={"BTCUSDT": bars})
    weekly = await ex.get_ohlcv("BTCUSDT", "1w")
    assert list(weekly.index.day_of_week) == [0, 0, 0, 0]
    first = bars.loc[:"2024-01-07 23:00"]  # Wednesday to Sunday: the first (partial) week
    assert weekly["high"].iloc[0] == pytest.approx(first["high"].max())
