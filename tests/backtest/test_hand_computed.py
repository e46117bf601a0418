"""Small backtests computed by hand, every number written out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core.costs import CostModel


def _bars(rows: list[tuple[float, float, float, float]], start: str = "2024-01-01") -> pd.DataFrame:
    idx = pd.date_range(start, periods=len(rows), freq="1h", tz="UTC", name="timestamp")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=idx, dtype=float)
    frame["volume"] = 1_000.0
    return frame


def test_long_round_trip_with_fees_and_slippage() -> None:
    bars = _bars(
        [
            (100.0, 101.0, 99.0, 100.0),
            (100.0, 102.0, 99.5, 101.0),
            (102.0, 103.0, 101.0, 102.0),
            (101.0, 101.5, 100.0, 100.0),
            (99.0, 100.0, 98.0, 99.0),
        ]
    )
    signal = pd.Series([1.0, 1.0, 0.0, 0.0, 0.0], index=bars.index)
    costs = CostModel(taker_fee_bps=10, slippage_bps=10, funding_rate_8h=0.0)
    res = run_backtest(
        signal,
        bars,
        costs=costs,
        stop_loss=None,
        take_profit=None,
        initial_capital=1000.0,
        market="spot",
    )
    # bar 0: signal 1 formed at the close; nothing filled yet -> equity 1000.
    # bar 1: buy at open 100 * (1 + 0.001) = 100.1; q = 1000 / (100.1 * 1.001) = 9.98002996...
    #        fee = q * 100.1 * 0.001 = 0.999000999; cash = 0; equity = q * 101 = 1007.98302597
    # bar 2: equity = q * 102 = 1017.96305593; the signal drops to 0 at this close.
    # bar 3: sell at open 101 * (1 - 0.001) = 100.899; fee = q * 100.899 * 0.001 = 1.00697504;
    #        cash = q * 100.899 * 0.999 = 1005.96806790 = equity (flat) for bars 3 and 4.
    q = 9.980029960049942
    assert res.positions.tolist() == pytest.approx([0.0, q, q, 0.0, 0.0], rel=1e-12)
    expected_equity = [
        1000.0,
        1007.9830259650441,
        1017.9630559250941,
        1005.96806789614,
        1005.96806789614,
    ]
    np.testing.assert_allclose(res.equity.to_numpy(), expected_equity, rtol=1e-12)
    expected_returns = [
        0.0,
        0.0079830259650441,
        1017.9630559250941 / 1007.9830259650441 - 1,
        1005.96806789614 / 1017.9630559250941 - 1,
        0.0,
    ]
    np.testing.assert_allclose(res.returns.to_numpy(), expected_returns, rtol=1e-10, atol=1e-14)
    assert len(res.trades) == 1
    trade = res.trades.iloc[0]
    assert trade["entry_time"] == bars.index[1]
    assert trade["exit_time"] == bars.index[3]
    assert trade["direction"] == 1
    assert trade["entry_price"] == pytest.approx(100.1)
    assert trade["exit_price"] == pytest.approx(100.899)
    assert trade["fees"] == pytest.approx(0.9990009990009991 + 1.0069750429390791)
    # pnl = q * (100.899 - 100.1) - fees = 7.97408... - 2.00597... = 5.96806789614
    assert trade["pnl"] == pytest.approx(5.968067896139891, rel=1e-10)
    assert trade["pnl"] == pytest.approx(res.equity.iloc[-1] - 1000.0, rel=1e-10)
    assert trade["exit_reason"] == "signal"


STOP_CASES = [
    # (bar 2 OHLC, exit price, reason): entry at bar 1's open 100, no costs,
    # stop-loss level 100 * 0.98 = 98, take-profit level 100 * 1.04 = 104.
    ((99.0, 99.5, 97.5, 99.0), 98.0, "stop_loss"),  # low touches 98 -> filled at the level
    ((97.0, 97.5, 96.0, 97.0), 97.0, "stop_loss"),  # opens below 98 (gap) -> filled at the open
    ((101.0, 104.5, 101.0, 104.0), 104.0, "take_profit"),  # high touches 104
    ((105.0, 106.0, 104.5, 105.5), 105.0, "take_profit"),  # gaps above 104 -> at the open
    ((100.0, 104.5, 97.9, 101.0), 98.0, "stop_loss"),  # both touched: the stop is assumed first
]


@pytest.mark.parametrize(("bar2", "exit_price", "reason"), STOP_CASES)
def test_stops_on_the_bar_path(
    bar2: tuple[float, float, float, float], exit_price: float, reason: str
) -> None:
    bars = _bars(
        [
            (100.0, 100.5, 99.5, 100.0),
            (100.0, 100.5, 99.5, 100.0),
            bar2,
            (100.0, 100.0, 100.0, 100.0),
        ]
    )
    signal = pd.Series([1.0, 1.0, 1.0, 1.0], index=bars.index)
    costs = CostModel(taker_fee_bps=0, maker_fee_bps=0, slippage_bps=0, funding_rate_8h=0.0)
    res = run_backtest(signal, bars, costs=costs, initial_capital=1000.0, market="spot")
    # q = 1000 / 100 = 10 units; after the exit the book is flat and stays flat because the
    # signal never changes (no re-entry without a new signal).
    assert res.trades["exit_reason"].tolist() == [reason]
    assert res.trades["exit_price"].iloc[0] == pytest.approx(exit_price)
    assert res.equity.iloc[2] == pytest.approx(10 * exit_price)
    assert res.positions.tolist() == [0.0, 10.0, 0.0, 0.0]


def test_short_perp_pays_funding_at_the_bar_that_closes_on_the_funding_time() -> None:
    # hourly bars from 22:00: the 23:00 bar closes at 00:00 UTC, a funding time.
    bars = _bars(
        [(100.0, 100.0, 100.0, 100.0)] * 2
        + [(100.0, 110.0, 100.0, 110.0)]
        + [(110.0, 110.0, 110.0, 110.0)],
        start="2024-01-01 21:00",
    )
    signal = pd.Series([-1.0, -1.0, -1.0, -1.0], index=bars.index)
    costs = CostModel(taker_fee_bps=0, slippage_bps=0, funding_rate_8h=0.0)
    res = run_backtest(
        signal,
        bars,
        costs=costs,
        market="perp",
        funding=0.001,
        stop_loss=None,
        take_profit=None,
        initial_capital=1000.0,
    )
    # short q = -1000 / 100 = -10 at the 22:00 open; the 23:00 bar closes at 110 and its
    # funding (rate 0.001) is paid on notional -10 * 110 = -1100 -> the short receives 1.10.
    # equity at 23:00 = 1000 + (-10) * (110 - 100) + 1.10 = 901.10
    assert res.positions.iloc[1] == pytest.approx(-10.0)
    assert res.equity.iloc[1] == pytest.approx(1000.0)
    assert res.equity.iloc[2] == pytest.approx(901.10)
    assert res.equity.iloc[3] == pytest.approx(901.10)
    assert res.trades["funding"].iloc[0] == pytest.approx(-1.10)
    assert res.trades["exit_reason"].iloc[0] == "open"


def test_spot_cannot_short() -> None:
    bars = _bars([(100.0, 101.0, 99.0, 100.0)] * 3)
    res = run_backtest(pd.Series([-1.0, -1.0, -1.0], index=bars.index), bars, market="spot")
    assert (res.positions == 0).all()
    assert res.trades.empty
    assert (res.equity == 10_000.0).all()


def _fills(res):  # type: ignore[no-untyped-def]
    return res.fills.reset_index(drop=True)


def test_small_rebalances_never_fill_in_the_traders_favour() -> None:
    # the target creeps up 0.5 -> 0.5035 -> ...: sized at the close, the trade's side is the
    # side whose slippage it was priced with (the old kernel sized from the pre-fee change
    # and then sold at open + 2 bp after a rise of the target)
    gen = np.random.default_rng(3)
    n = 400
    close = 100 * np.exp(np.cumsum(gen.normal(0, 0.002, n)))
    open_ = np.concatenate([[100.0], close[:-1] * (1 + gen.normal(0, 0.0005, n - 1))])
    bars = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": 1_000.0,
        },
        index=pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC", name="timestamp"),
    )
    signal = pd.Series(0.5 + 0.0035 * (np.arange(n) % 7), index=bars.index)
    costs = CostModel(slippage_bps=2.0, funding_rate_8h=0.0)
    res = run_backtest(signal, bars, costs=costs, market="perp", stop_loss=None, take_profit=None)
    fills = _fills(res)
    assert len(fills) > 100
    opens = bars["open"].reindex(fills["time"]).to_numpy()
    np.testing.assert_allclose(fills["price"], opens * (1 + fills["side"] * 2e-4), rtol=1e-14)
    # the side is the sign of the position change, and the quantity its size
    change = res.positions.diff().fillna(res.positions).reindex(fills["time"]).to_numpy()
    np.testing.assert_allclose(fills["side"] * fills["quantity"], change, rtol=1e-12)


def test_maker_signal_fees_but_stop_exits_pay_taker() -> None:
    bars = _bars(
        [
            (100.0, 100.5, 99.5, 100.0),
            (100.0, 100.5, 99.5, 100.0),
            (100.0, 100.5, 99.5, 100.0),
            (99.0, 99.5, 97.5, 99.0),  # touches the stop at 98
        ]
    )
    signal = pd.Series(1.0, index=bars.index)
    costs = CostModel(taker_fee_bps=10, maker_fee_bps=2, slippage_bps=0, funding_rate_8h=0.0)
    res = run_backtest(
        signal, bars, costs=costs, fee_side="maker", initial_capital=1000.0, market="spot"
    )
    fills = _fills(res)
    q = 1000 / (100 * 1.0002)
    assert fills["kind"].tolist() == ["signal", "stop_loss"]
    assert fills["fee"].tolist() == pytest.approx([q * 100 * 0.0002, q * 98 * 0.001], rel=1e-12)


def test_stop_level_follows_the_held_quantitys_average_cost() -> None:
    # buy ~10 @ 100, halve @ 110, back to ~full @ 120: the stop (2 %) sits at 0.98 times the
    # held quantity's average cost (~110 -> ~107.8), not the average of all buys (~106.7 ->
    # ~104.5); bar 7 dips to 106 and takes it out
    rows = [
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0, 100.0),
        (110.0, 110.0, 110.0, 110.0),
        (110.0, 120.0, 110.0, 120.0),
        (120.0, 120.0, 120.0, 120.0),
        (120.0, 120.0, 120.0, 120.0),
        (120.0, 120.0, 120.0, 120.0),
        (112.0, 112.0, 106.0, 110.0),
        (110.0, 110.0, 110.0, 110.0),
    ]
    bars = _bars(rows)
    signal = pd.Series([1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], index=bars.index)
    costs = CostModel(taker_fee_bps=0, maker_fee_bps=0, slippage_bps=0, funding_rate_8h=0.0)
    res = run_backtest(
        signal, bars, costs=costs, take_profit=None, initial_capital=1000.0, market="spot"
    )
    fills = _fills(res)
    buys = fills[fills["side"] > 0]
    held, avg = 0.0, 0.0
    for row in fills.itertuples():
        if row.kind != "signal":
            break
        d = row.side * row.quantity
        avg = (held * avg + d * row.price) / (held + d) if d > 0 else avg
        held += d
    assert avg > (buys["quantity"] * buys["price"]).sum() / buys["quantity"].sum() + 2
    assert fills["kind"].iloc[-1] == "stop_loss"
    assert fills["time"].iloc[-1] == bars.index[7]
    assert fills["price"].iloc[-1] == pytest.approx(avg * 0.98, rel=1e-12)


def test_leveraged_long_is_liquidated_at_the_liquidation_price() -> None:
    # 3x long of 1000: q = 30 (no costs); P_liq = 2000 / (30 (1 - 0.005)) = 67.0017 reached
    # by bar 3's low; equity then = maintenance margin 0.005 * 30 * 67.0017 and stays there
    bars = _bars(
        [
            (100.0, 100.0, 100.0, 100.0),
            (100.0, 100.0, 100.0, 100.0),
            (90.0, 90.0, 80.0, 80.0),
            (75.0, 76.0, 60.0, 62.0),
            (62.0, 63.0, 61.0, 62.0),
        ]
    )
    signal = pd.Series(1.0, index=bars.index)
    costs = CostModel(taker_fee_bps=0, maker_fee_bps=0, slippage_bps=0, funding_rate_8h=0.0)
    res = run_backtest(
        signal,
        bars,
        costs=costs,
        market="perp",
        sizing=3.0,
        stop_loss=None,
        take_profit=None,
        initial_capital=1000.0,
    )
    p_liq = 2000 / (30 * 0.995)
    assert res.trades["exit_reason"].tolist() == ["liquidation"]
    assert res.trades["exit_price"].iloc[0] == pytest.approx(p_liq, rel=1e-12)
    assert res.positions.tolist() == pytest.approx([0.0, 30.0, 30.0, 0.0, 0.0])
    assert res.equity.iloc[3] == pytest.approx(0.005 * 30 * p_liq, rel=1e-9)
    assert (res.equity >= 0).all()


def test_a_gap_through_the_bankruptcy_price_leaves_zero_equity() -> None:
    bars = _bars(
        [(100.0, 100.0, 100.0, 100.0)] * 2 + [(50.0, 50.0, 40.0, 45.0), (45.0, 45.0, 45.0, 45.0)]
    )
    costs = CostModel(taker_fee_bps=0, maker_fee_bps=0, slippage_bps=0, funding_rate_8h=0.0)
    res = run_backtest(
        pd.Series(1.0, index=bars.index),
        bars,
        costs=costs,
        market="perp",
        sizing=3.0,
        stop_loss=None,
        take_profit=None,
        initial_capital=1000.0,
    )
    assert res.trades["exit_price"].iloc[0] == 50.0  # liquidated at the open of the gap
    assert res.equity.iloc[2:].tolist() == [0.0, 0.0]
    # the account loses everything once, then earns nothing (not 0 / 0)
    assert res.returns.tolist() == [0.0, 0.0, -1.0, 0.0]


def test_hourly_bars_beyond_2262_need_no_periods_per_year() -> None:
    idx = pd.date_range("2300-01-01", periods=500, freq="1h", tz="UTC", unit="s", name="timestamp")
    bars = _bars([(100.0, 101.0, 99.0, 100.0)] * 500).set_axis(idx)
    res = run_backtest(pd.Series(0.5, index=idx), bars, market="perp")
    assert res.settings["periods_per_year"] == pytest.approx(8760.0)
    # funding instants are exact there too: 500 hourly bars from 00:00 pay 62 instants
    # (08:00, 16:00, 24:00, ... up to the last bar's close at 20:00 on day 21)
    assert res.trades["funding"].iloc[0] != 0.0
