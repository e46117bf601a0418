"""Volatility-scaled stops: levels in ATR units, from the ATR known when the entry fill is.

The reference ATR is written out here from Wilder's definition (true range, SMA seed over the
first n bars, then ``ATR_t = ((n - 1) ATR_{t-1} + TR_t) / n``), independently of
``stats.true_range``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.backtest import BacktestError, run_backtest, run_backtest_sweep
from crypto_strategy_lab.core.costs import CostModel

FREE = CostModel(taker_fee_bps=0, maker_fee_bps=0, slippage_bps=0, funding_rate_8h=0.0)


def _wilder_atr(bars: pd.DataFrame, n: int) -> np.ndarray:
    h, lo, c = (bars[k].to_numpy() for k in ("high", "low", "close"))
    tr = [h[0] - lo[0]] + [max(h[t], c[t - 1]) - min(lo[t], c[t - 1]) for t in range(1, len(c))]
    atr = [np.nan] * len(c)
    atr[n - 1] = sum(tr[:n]) / n
    for t in range(n, len(c)):
        atr[t] = ((n - 1) * atr[t - 1] + tr[t]) / n
    return np.asarray(atr)


def _walk(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0.0, 0.002, n))
    wick = np.abs(rng.normal(0.0, 0.006, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": 1e3}, index=idx
    )


def _stop_exits(res) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return res.fills[res.fills["kind"] != "signal"]


def test_long_stop_sits_k_atr_below_the_entry_and_fills_on_the_first_touch() -> None:
    bars = _walk(400, seed=1)
    n, k_sl, k_tp = 14, 1.5, 3.0
    signal = pd.Series(0.0, index=bars.index)
    signal.iloc[30:] = 1.0  # one entry: filled at bar 31's open, never re-entered
    res = run_backtest(
        signal, bars, costs=FREE, stop_unit="atr", stop_loss=k_sl, take_profit=k_tp,
        atr_period=n, initial_capital=1_000.0, market="spot",
    )  # fmt: skip
    atr = _wilder_atr(bars, n)
    entry = bars["open"].iloc[31]
    stop, target = entry - k_sl * atr[31], entry + k_tp * atr[31]
    after = bars.iloc[32:]
    touched = after.index[(after["low"] <= stop) | (after["high"] >= target)]
    assert len(touched), "the walk must reach a level for this test to say anything"
    first = touched[0]
    exits = _stop_exits(res)
    assert len(exits) == 1
    exit_fill = exits.iloc[0]
    assert exit_fill["time"] == first
    bar = bars.loc[first]
    if exit_fill["kind"] == "stop_loss":
        assert exit_fill["price"] == pytest.approx(min(bar["open"], stop), rel=1e-12)
    else:
        assert exit_fill["kind"] == "take_profit"
        assert exit_fill["price"] == pytest.approx(max(bar["open"], target), rel=1e-12)


def test_short_levels_mirror_and_differ_from_fraction_stops() -> None:
    bars = _walk(600, seed=7)
    signal = pd.Series(np.where(np.arange(600) % 50 < 25, -1.0, 1.0), index=bars.index)
    atr_run = run_backtest(
        signal, bars, costs=FREE, market="perp", stop_unit="atr", stop_loss=1.0, take_profit=2.0
    )
    atr = _wilder_atr(bars, 14)
    # every stop-loss exit of a short is a buy at (or gapped above) entry + 1 ATR of its entry bar
    entries = atr_run.fills[atr_run.fills["kind"] == "signal"]
    stops = atr_run.fills[atr_run.fills["kind"] == "stop_loss"]
    assert len(stops) > 3
    for _, fill in stops.iterrows():
        entry = entries[entries["time"] < fill["time"]].iloc[-1]
        t = bars.index.get_loc(entry["time"])
        level = entry["price"] + fill["side"] * 1.0 * atr[t]
        o = bars.loc[fill["time"], "open"]  # a gap through the level fills at the open
        expected = max(o, level) if fill["side"] > 0 else min(o, level)
        assert fill["price"] == pytest.approx(expected, rel=1e-12)
    frac_run = run_backtest(
        signal, bars, costs=FREE, market="perp", stop_loss=0.01, take_profit=0.02
    )
    assert not atr_run.fills.equals(frac_run.fills)


def test_atr_stops_are_causal_a_truncated_history_gives_the_same_prefix() -> None:
    bars = _walk(500, seed=3)
    signal = pd.Series(np.sign(np.sin(np.arange(500) / 9.0)), index=bars.index)
    kw = {"market": "perp", "stop_unit": "atr", "stop_loss": 1.0, "take_profit": 2.0}
    full = run_backtest(signal, bars, **kw)
    for m in (120, 333):
        cut = run_backtest(signal.iloc[:m], bars.iloc[:m], **kw)
        np.testing.assert_array_equal(cut.equity.to_numpy(), full.equity.to_numpy()[:m])


def test_during_the_atr_warm_up_a_position_carries_no_level() -> None:
    bars = _walk(60, seed=5)
    signal = pd.Series(1.0, index=bars.index)  # entered at bar 1, the ATR(40) is NaN there
    tight = {"costs": FREE, "stop_unit": "atr", "stop_loss": 0.1, "take_profit": 0.1}
    res = run_backtest(signal, bars, atr_period=40, market="spot", **tight)
    assert _stop_exits(res).empty
    # the same tight levels from a measurable ATR (period 1 = the entry bar's true range) exit
    res1 = run_backtest(signal, bars, atr_period=1, market="spot", **tight)
    assert not _stop_exits(res1).empty


def test_sweep_column_equals_the_single_backtest_with_atr_stops() -> None:
    bars = _walk(300, seed=11)
    sig = np.stack([np.sign(np.sin(np.arange(300) / p)) for p in (5.0, 13.0)], axis=1)
    kw = {"market": "perp", "stop_unit": "atr", "stop_loss": 2.0, "take_profit": 4.0}
    sweep = run_backtest_sweep(sig, bars, **kw)
    for j in range(2):
        one = run_backtest(sig[:, j], bars, **kw)
        np.testing.assert_allclose(
            sweep.returns.iloc[:, j].to_numpy(), one.returns.to_numpy(), rtol=0, atol=1e-15
        )


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"stop_unit": "pct"}, "stop_unit"),
        ({"stop_unit": "atr", "stop_loss": float("nan")}, "multiple of the ATR"),
        ({"stop_unit": "atr", "stop_loss": -1.0}, "multiple of the ATR"),
        ({"stop_unit": "atr", "atr_period": 0}, "atr_period"),
        ({"stop_loss": 2.0}, "fraction in [0, 1)"),
    ],
)
def test_bad_stop_settings_are_refused_with_their_name(kw: dict, words: str) -> None:
    bars = _walk(30, seed=2)
    with pytest.raises(BacktestError, match=words.replace("[", r"\[").replace(")", r"\)")):
        run_backtest(pd.Series(1.0, index=bars.index), bars, market="perp", **kw)


def test_a_flat_history_places_no_atr_level_not_a_fraction_of_the_entry() -> None:
    # 20 bars on one price: the ATR at the entry is exactly 0. A stop 0.5 ATR away is no
    # distance at all, so the position trades unprotected; read as a fraction of the entry it
    # would sit at 50 % of the price and fire when the price later halves.
    n = 60
    close = np.r_[np.full(20, 100.0), np.linspace(100.0, 40.0, n - 20)]
    open_ = np.r_[close[:1], close[:-1]]
    idx = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC", name="timestamp")
    bars = pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close), "low": np.minimum(open_, close),
         "close": close, "volume": 1e3},
        index=idx,
    )  # fmt: skip
    signal = pd.Series(0.0, index=idx)
    signal.iloc[15:] = 1.0  # filled at bar 16's open, inside the flat stretch
    res = run_backtest(
        signal, bars, costs=FREE, stop_unit="atr", stop_loss=0.5, take_profit=0.8,
        atr_period=5, initial_capital=1_000.0, market="spot",
    )  # fmt: skip
    assert _wilder_atr(bars, 5)[16] == 0.0
    assert _stop_exits(res).empty
    unprotected = run_backtest(
        signal, bars, costs=FREE, stop_loss=None, take_profit=None,
        initial_capital=1_000.0, market="spot",
    )  # fmt: skip
    np.testing.assert_array_equal(res.equity.to_numpy(), unprotected.equity.to_numpy())
