"""The simulated venue's quiet bars: bars that change nothing but its history.

``SimulatedExchange.quiet_bars`` tells the engine how many of the next bars leave the account
as it is, so that a replay can append them in one step (``skip_quiet_bars``) and mark the
account at their closes (``account_values_at``). Checked against the venue itself: bar by
bar through ``on_bar`` on a copy of the venue, every bar called quiet fills nothing, charges
nothing and marks the account as ``account_values_at`` says; and the bars that end a quiet
run include each kind of event (a fill, a liquidation, a funding charge).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import OrderSide, OrderType
from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.core.orders import AccountMarks, AccountValue, OrderRequest
from crypto_strategy_lab.data.schema import DataValidationError
from crypto_strategy_lab.exchanges import ExchangeFactory, MarketType, TradingMode
from crypto_strategy_lab.exchanges.simulated.history import BarHistory
from crypto_strategy_lab.exchanges.simulated.matching import Bar
from crypto_strategy_lab.journal.equity import EquityBuffer, epoch_us
from crypto_strategy_lab.journal.types import JournalError

SYMBOL = "BTCUSDT"
STEP = timedelta(minutes=5)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
AHEAD = 48


def _path(rng: np.random.Generator, n: int) -> pd.DataFrame:
    close = 100 + np.cumsum(0.5 * rng.integers(-2, 3, n))
    close = np.maximum(close, 20.0)
    open_ = np.concatenate([[close[0]], close[:-1]])
    high = np.maximum(open_, close) + 0.5 * rng.integers(0, 3, n)
    low = np.minimum(open_, close) - 0.5 * rng.integers(0, 3, n)
    index = pd.date_range(T0, periods=n, freq=STEP, tz="UTC")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 50.0}, index=index
    )


def _arrays(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    open_us = frame.index.as_unit("ns").asi8 // 1000
    step_us = STEP // timedelta(microseconds=1)
    return open_us, open_us + step_us, frame["high"].to_numpy(), frame["low"].to_numpy()


def _feed(ex, frame: pd.DataFrame, i: int):  # type: ignore[no-untyped-def]
    row = frame.iloc[i]
    ts = frame.index[i].to_pydatetime()
    return ex.on_bar(SYMBOL, ts, row.to_dict(), close_time=ts + STEP)


async def _order(ex, rng: np.random.Generator, price: float, i: int) -> None:  # type: ignore[no-untyped-def]
    side = [OrderSide.BUY, OrderSide.SELL][int(rng.integers(2))]
    kind = [OrderType.MARKET, OrderType.STOP, OrderType.LIMIT][int(rng.integers(3))]
    level = Decimal(repr(price + 0.5 * int(rng.integers(-8, 9))))
    request = OrderRequest(
        symbol=SYMBOL,
        side=side,
        order_type=kind,
        quantity=Decimal(int(rng.integers(1, 30))),
        market=MarketType.LINEAR,
        price=level if kind is OrderType.LIMIT else None,
        stop_price=level if kind is OrderType.STOP else None,
        reduce_only=bool(rng.random() < 0.4) and kind is not OrderType.MARKET,
        client_order_id=f"o{i}",
    )
    with contextlib.suppress(ExchangeError):
        await ex.place_order(request)


def _by_point(columns: AccountMarks) -> list[AccountValue]:
    """The AccountValue of each point of ``columns``."""
    return [
        AccountValue(
            equity,
            tuple(
                p._replace(mark_price=columns.marks[i][j], unrealized_pnl=columns.unrealized[i][j])
                for i, p in enumerate(columns.positions)
            ),
        )
        for j, equity in enumerate(columns.equity)
    ]


def _account(ex) -> tuple:  # type: ignore[no-untyped-def, type-arg]
    return ex.cash, {s: (p.quantity, p.average) for s, p in ex._positions.items()}


def test_a_bar_called_quiet_changes_nothing_but_the_history() -> None:
    """Random leveraged trading with funding: every quiet run, replayed bar by bar, is quiet."""
    rng = np.random.default_rng(11)
    frame = _path(rng, 3000)
    open_us, close_us, high, low = _arrays(frame)
    ex = ExchangeFactory.create_exchange(
        "simulated",
        TradingMode.SIMULATED,
        cost_model=CostModel(taker_fee_bps=5.5, maker_fee_bps=2.0, funding_rate_8h=0.0005),
        cash="2000",
    )
    ex.leverage[SYMBOL] = Decimal(20)
    checked = quiet_bars = 0
    ends: set[str] = set()

    async def run() -> None:
        nonlocal checked, quiet_bars
        for i in range(len(frame) - AHEAD):
            if i % 7 == 0:
                end = i + AHEAD
                k = ex.quiet_bars(SYMBOL, open_us[i:end], close_us[i:end], high[i:end], low[i:end])
                checked += 1
                quiet_bars += k
                twin, skipped = copy.deepcopy(ex), copy.deepcopy(ex)
                before = _account(twin)
                marks = []
                for j in range(i, i + k):
                    assert _feed(twin, frame, j) == [], (i, j)
                    marks.append(await twin.get_account_value(SYMBOL, market=MarketType.LINEAR))
                assert _account(twin) == before
                columns = skipped.account_values_at(SYMBOL, frame["close"].iloc[i : i + k])
                assert _by_point(columns) == marks
                if k:
                    values = frame[["open", "high", "low", "close", "volume"]].to_numpy()[i : i + k]
                    skipped.skip_quiet_bars(
                        SYMBOL, open_us[i : i + k], values, frame.index[i + k - 1].to_pydatetime()
                    )
                    assert skipped._history[SYMBOL].frame().equals(twin._history[SYMBOL].frame())
                    assert skipped._now == twin._now
                if k < AHEAD:  # the bar that ends the run: what happens on it?
                    cash = twin.cash
                    fills = _feed(twin, frame, i + k)
                    if fills:
                        ends.add("fill")
                    elif twin.cash != cash:
                        ends.add("funding")
            _feed(ex, frame, i)
            if rng.random() < 0.08:
                await _order(ex, rng, float(frame["close"].iloc[i]), i)
            if rng.random() < 0.03:
                for order in await ex.get_open_orders(SYMBOL):
                    await ex.cancel_order(order.order_id, SYMBOL)
                    break

    asyncio.run(run())
    assert checked > 300 and quiet_bars > 2000  # not vacuous: most bars are quiet
    assert {"fill", "funding"} <= ends, ends  # runs end where something happens


def test_a_crossed_liquidation_level_or_a_funding_instant_ends_the_quiet_run() -> None:
    ex = ExchangeFactory.create_exchange(
        "simulated",
        TradingMode.SIMULATED,
        cost_model=CostModel(funding_rate_8h=0.001),
        cash="1000",
    )
    ex.leverage[SYMBOL] = Decimal(50)
    frame = _path(np.random.default_rng(0), 400)
    frame[["open", "high", "low", "close"]] = 100.0
    for i in range(3):
        _feed(ex, frame, i)
    request = OrderRequest(
        symbol=SYMBOL,
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal(400),
        market=MarketType.LINEAR,
        client_order_id="long",
    )
    asyncio.run(ex.place_order(request))
    _feed(ex, frame, 3)  # filled at this open
    _feed(ex, frame, 4)  # the funding period is known from here
    assert ex._positions[SYMBOL].quantity == 400
    open_us, close_us, high, low = _arrays(frame)
    # the first 8-hour funding instant after the fill: 2024-01-01 08:00
    funding = int(
        np.argmax(close_us >= int(pd.Timestamp("2024-01-01 08:00", tz="UTC").value // 1000))
    )
    assert ex.quiet_bars(SYMBOL, open_us[5:], close_us[5:], high[5:], low[5:]) == funding - 5
    # a low reaching the liquidation level, 20 bars ahead, ends the run there
    _, liq = ex._liquidation_level(SYMBOL, ex._positions[SYMBOL])
    assert 90 < liq < 100
    low = low.copy()
    low[25] = liq
    assert ex.quiet_bars(SYMBOL, open_us[5:], close_us[5:], high[5:], low[5:]) == 20
    low[25] = liq + 0.01
    assert ex.quiet_bars(SYMBOL, open_us[5:], close_us[5:], high[5:], low[5:]) == funding - 5


def test_history_extend_is_the_appends() -> None:
    frame = _path(np.random.default_rng(5), 3000)
    values = frame.to_numpy()
    one, many = BarHistory(), BarHistory()
    times = [t.to_pydatetime() for t in frame.index]
    for t, row in zip(times, values, strict=True):
        one.append(t, Bar(*row.tolist()))
    ns = frame.index.as_unit("ns").asi8
    many.append(times[0], Bar(*values[0].tolist()))
    many.extend(ns[1:1500], values[1:1500], times[1499])
    for t, row in zip(times[1500:1700], values[1500:1700], strict=True):
        many.append(t, Bar(*row.tolist()))
    many.extend(ns[1700:], values[1700:], times[-1])
    assert many.frame().equals(one.frame())
    assert many.last() == one.last() and many.last_time() == one.last_time()
    with pytest.raises(DataValidationError):
        many.extend(ns[-1:], values[-1:], times[-1])


def _point(x: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(x) + k for k in range(6))


def _columns(points: list[tuple[Decimal, ...]]) -> list[tuple[Decimal, ...]]:
    return list(zip(*points, strict=True))


def test_equity_extend_is_add_one_by_one_and_holds_all_or_none() -> None:
    times = [T0 + k * STEP for k in range(5)]
    stamps = [epoch_us(t) for t in times]
    points = [_point(x) for x in ("1.5", "1.5", "2.25", "1E-19", "3")]
    one, many = EquityBuffer(), EquityBuffer()
    for t, p in zip(times, points, strict=True):
        one.add("run", t, p)
    many.extend("run", stamps[:2], _columns(points[:2]))
    columns = _columns(points[2:])
    columns[3] = columns[2]  # a column given as an earlier one's object: its texts
    many.extend("run", stamps[2:], columns)

    def rows(buffer: EquityBuffer) -> list[tuple]:  # type: ignore[type-arg]
        return [(r.first_ts, r.ts, r.n_points, r.points) for r, *_ in buffer.drain()]

    expected = [(*p[:3], p[2], *p[4:]) if k >= 2 else p for k, p in enumerate(points)]
    check = EquityBuffer()
    for t, p in zip(times, expected, strict=True):
        check.add("run", t, p)
    assert rows(many) == rows(check)
    assert rows(one) != rows(check)  # the shared column is not the given net column
    bad = [*points[:2], (Decimal("NaN"),) * 6]
    with pytest.raises(JournalError):
        many.extend("run", stamps[:3], _columns(bad))
    assert not many  # nothing of the refused call is held
    with pytest.raises(JournalError):
        many.extend("run", stamps[:1], _columns([points[0][:5]]))
    with pytest.raises(JournalError):
        many.extend("run", stamps[:2], _columns(points[:1]))
    with pytest.raises(JournalError, match="integer microseconds"):
        many.extend("run", [stamps[0], times[1]], _columns(points[:2]))  # type: ignore[list-item]
    assert not many
