"""The same signals and fees through vectorbt's ``Portfolio.from_signals``.

Convention mapping (documented so the agreement is not a coincidence):

* our signal at bar t's close fills at bar t+1's open -> vectorbt gets the entries/exits
  shifted by one bar and ``price=open``;
* our signal is a target state (1 = long, 0 = flat) -> vectorbt gets entries where the state
  turns on and exits where it turns off;
* our sizing reserves the fee (``q = E / (p (1 + f))``) -> vectorbt's ``size=np.inf`` (all
  cash, fees included) is the same rule;
* our stop levels are relative to the fill price -> ``stop_entry_price="fillprice"``;
  vectorbt also fills a stop at its level, or at the open when the bar gaps through it, and
  checks the stop-loss before the take-profit.

Two conventions differ and are kept on purpose, because ours follow the bar's time order:

(a) we evaluate stops on the entry bar's path after the opening fill (everything after the open
    happens after the entry); vectorbt 1.2 starts checking on the next bar;
(b) when a signal exit fills at the open and the same bar later touches a stop level, we exit
    at the open (the open comes first); vectorbt gives the stop priority and fills at the level.

So: without stops, per-bar equity, final equity and every trade's P&L agree to 1e-9 relative.
With stops, trade counts are equal, every trade whose entry/exit time or exit price differs is
explained by (a) or (b), and when no trade is affected final equity agrees to 1e-9.
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
    ("seed", "fee_bps", "slip_bps", "stop_loss", "take_profit", "untouched"),
    [
        (11, 10.0, 0.0, None, None, True),
        (11, 10.0, 5.0, None, None, True),
        (12, 5.5, 2.0, 0.03, 0.06, True),  # no trade meets (a) or (b): exact agreement
        (12, 5.5, 2.0, 0.05, 0.10, True),
        (11, 10.0, 0.0, 0.02, 0.04, False),  # stops on entry bars: (a)
        (21, 5.5, 2.0, 0.01, 0.015, False),  # tight stops: many (a) and (b)
    ],
)
def test_final_equity_and_trade_count_agree(
    seed: int,
    fee_bps: float,
    slip_bps: float,
    stop_loss: float | None,
    take_profit: float | None,
    untouched: bool,
) -> None:
    bars = make_random_walk_bars(4000, seed=seed)
    close = bars["close"]
    state = close.rolling(20).mean() > close.rolling(50).mean()
    costs = CostModel(taker_fee_bps=fee_bps, slippage_bps=slip_bps, funding_rate_8h=0.0)
    ours = run_backtest(
        state.astype(float), bars, costs=costs, stop_loss=stop_loss, take_profit=take_profit
    )
    stops = {"sl_stop": stop_loss, "tp_stop": take_profit} if stop_loss else {}
    pf = _vbt_portfolio(bars, state, fee_bps / 1e4, slip_bps / 1e4, **stops)
    theirs = pf.trades.records_readable
    assert len(ours.trades) == len(theirs)
    same = (
        (ours.trades["entry_time"].to_numpy() == theirs["Entry Timestamp"].to_numpy())
        & (ours.trades["exit_time"].to_numpy() == theirs["Exit Timestamp"].to_numpy())
        & np.isclose(ours.trades["exit_price"], theirs["Avg Exit Price"], rtol=1e-12)
    )
    if not stop_loss:
        assert same.all()
        np.testing.assert_allclose(ours.equity.to_numpy(), pf.value().to_numpy(), rtol=1e-9)
        np.testing.assert_allclose(ours.trades["pnl"], theirs["PnL"], rtol=1e-7, atol=1e-9)
    else:
        assert set(ours.trades["exit_reason"]) >= {"stop_loss", "take_profit"}
        t = ours.trades
        exit_bar = bars.loc[t["exit_time"]]
        entry_bar_stop = (t["entry_time"] == t["exit_time"]).to_numpy()
        touched = (exit_bar["low"].to_numpy() <= t["entry_price"].to_numpy() * (1 - stop_loss)) | (
            exit_bar["high"].to_numpy() >= t["entry_price"].to_numpy() * (1 + take_profit)
        )
        signal_exit_then_stop = (t["exit_reason"] == "signal").to_numpy() & touched
        assert not (~same & ~entry_bar_stop & ~signal_exit_then_stop).any()
    assert same.all() == untouched
    if untouched:
        assert ours.stats["final_equity"] == pytest.approx(pf.final_value(), rel=REL_TOL)
