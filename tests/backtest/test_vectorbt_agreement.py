"""The same signals and fees through vectorbt's ``Portfolio.from_signals``.

Convention mapping (documented so the agreement is not a coincidence):

* our signal at bar t's close fills at bar t+1's open -> vectorbt gets the entries/exits
  shifted by one bar and ``price=open``;
* our signal is a target state (1 = long, 0 = flat) -> vectorbt gets entries where the state
  turns on and exits where it turns off;
* our sizing reserves the fee (``q = E / (p (1 + f))``) -> vectorbt's ``size=np.inf`` (all
  cash, fees included) is the same rule;
* our stop levels are relative to the average entry price, which for these all-in / all-out
  trades is the fill price -> ``stop_entry_price="fillprice"``; our protective exits rest
  at the venue from the bar after the entry fill, and vectorbt 1.2 also starts checking on
  the next bar; both fill a stop at its level, or at the open when the bar gaps through it,
  and check the stop-loss before the take-profit.

One convention differs and is kept on purpose: our take-profit is a resting limit order, so
a touched take-profit fills at its level with the maker fee and no slippage, while vectorbt
slips it like a market order. The tests set maker = taker fee, so the one difference is the
slippage factor on touched take-profit exits: without slippage every trade, the per-bar
equity and the final equity agree to 1e-9; with slippage every trade agrees except those,
whose exit price differs by exactly ``(1 - s)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core.costs import CostModel
from tests.conftest import make_random_walk_bars

vbt = pytest.importorskip("vectorbt")

REL_TOL = 1e-9


def _vbt_portfolio(bars: pd.DataFrame, state: pd.Series, fee: float, slip: float, **stops):
    entries = (state & ~state.shift(1, fill_value=False)).shift(1, fill_value=False)
    exits = (~state & state.shift(1, fill_value=False)).shift(1, fill_value=False)
    if stops:
        stops = {
            **stops,
            "open": bars["open"],
            "high": bars["high"],
            "low": bars["low"],
            "stop_entry_price": "fillprice",
            "stop_exit_price": "stopmarket",
        }
    return vbt.Portfolio.from_signals(
        bars["close"],
        entries,
        exits,
        price=bars["open"],
        fees=fee,
        slippage=slip,
        init_cash=10_000.0,
        size=np.inf,
        freq="1h",
        **stops,
    )


@pytest.mark.parametrize(
    ("seed", "fee_bps", "slip_bps", "stop_loss", "take_profit"),
    [
        (11, 10.0, 0.0, None, None),
        (11, 10.0, 5.0, None, None),
        (12, 5.5, 2.0, 0.03, 0.06),
        (12, 5.5, 0.0, 0.05, 0.10),
        (11, 10.0, 0.0, 0.02, 0.04),
        (21, 5.5, 2.0, 0.01, 0.015),  # tight stops: exits on most trades
    ],
)
def test_final_equity_and_trade_count_agree(
    seed: int,
    fee_bps: float,
    slip_bps: float,
    stop_loss: float | None,
    take_profit: float | None,
) -> None:
    bars = make_random_walk_bars(4000, seed=seed)
    close = bars["close"]
    state = close.rolling(20).mean() > close.rolling(50).mean()
    costs = CostModel(
        taker_fee_bps=fee_bps, maker_fee_bps=fee_bps, slippage_bps=slip_bps, funding_rate_8h=0.0
    )
    ours = run_backtest(
        state.astype(float),
        bars,
        costs=costs,
        stop_loss=stop_loss,
        take_profit=take_profit,
        market="spot",
    )
    stops = {"sl_stop": stop_loss, "tp_stop": take_profit} if stop_loss else {}
    pf = _vbt_portfolio(bars, state, fee_bps / 1e4, slip_bps / 1e4, **stops)
    theirs = pf.trades.records_readable
    t = ours.trades
    assert len(t) == len(theirs)
    np.testing.assert_array_equal(t["entry_time"].to_numpy(), theirs["Entry Timestamp"])
    np.testing.assert_array_equal(t["exit_time"].to_numpy(), theirs["Exit Timestamp"])
    touched_tp = (t["exit_reason"] == "take_profit").to_numpy() & np.isclose(
        t["exit_price"], t["entry_price"] * (1 + (take_profit or 0.0)), rtol=1e-12
    )
    if stop_loss:
        assert set(t["exit_reason"]) >= {"stop_loss", "take_profit"}
    theirs_exit = theirs["Avg Exit Price"].to_numpy()
    slip = slip_bps / 1e4
    np.testing.assert_allclose(
        t["exit_price"].to_numpy() * np.where(touched_tp, 1 - slip, 1.0), theirs_exit, rtol=1e-12
    )
    if slip == 0.0 or not touched_tp.any():
        np.testing.assert_allclose(t["pnl"], theirs["PnL"], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(ours.equity.to_numpy(), pf.value().to_numpy(), rtol=REL_TOL)
        assert ours.stats["final_equity"] == pytest.approx(pf.final_value(), rel=REL_TOL)
