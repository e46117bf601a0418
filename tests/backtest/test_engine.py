"""Causality, sweep/single agreement, slippage models and input errors of the engine."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.backtest import BacktestError, run_backtest, run_backtest_sweep
from crypto_strategy_lab.backtest.funding import funding_per_bar
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.strategies.base import Strategy, StrategyParams
from tests.conftest import make_random_walk_bars


class _CrossParams(StrategyParams):
    fast: int = 10
    slow: int = 30


class _Crossover(Strategy):
    """A causal long/short moving-average crossover used only by these tests."""

    name = "test_crossover"
    params_model = _CrossParams

    @property
    def warmup(self) -> int:
        return self.params.slow

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        c = bars["close"]
        fast = c.rolling(self.params.fast).mean()
        slow = c.rolling(self.params.slow).mean()
        return pd.DataFrame({"signal": np.sign(fast - slow).fillna(0.0)}, index=bars.index)


@pytest.mark.parametrize("fill", ["next_open", "next_close"])
def test_truncating_bars_does_not_change_past_returns(fill: str) -> None:
    bars = make_random_walk_bars(1500, seed=5)
    full = run_backtest(_Crossover(), bars, market="perp", fill=fill)
    for cut in (400, 777, 1200):
        part = run_backtest(_Crossover(), bars.iloc[:cut], market="perp", fill=fill)
        np.testing.assert_allclose(
            part.returns.to_numpy(), full.returns.iloc[:cut].to_numpy(), rtol=0, atol=1e-15
        )
        np.testing.assert_array_equal(part.positions.to_numpy(), full.positions.iloc[:cut])
    assert len(full.trades) > 10


def test_a_signal_cannot_profit_from_its_own_bar() -> None:
    # A perfect-foresight signal (sign of the current bar's return) earns nothing special
    # when it can only trade at the next open; trading it on the same bar would be lookahead.
    bars = make_random_walk_bars(3000, seed=9)
    oracle = np.sign(bars["close"] - bars["open"])
    res = run_backtest(
        oracle,
        bars,
        market="perp",
        stop_loss=None,
        take_profit=None,
        costs=CostModel(taker_fee_bps=0, slippage_bps=0, funding_rate_8h=0),
    )
    assert abs(res.stats["sharpe_per_period"]) < 0.06  # ~ 3 standard errors of 1/sqrt(3000)


def test_sweep_columns_equal_single_backtests() -> None:
    bars = make_random_walk_bars(2000, seed=13)
    c = bars["close"]
    cols = {
        (f, s): np.sign(c.rolling(f).mean() - c.rolling(s).mean()).fillna(0.0)
        for f, s in [(5, 20), (10, 40), (20, 80)]
    }
    signals = pd.DataFrame(cols)
    kwargs = {"market": "perp", "funding": 0.0002, "stop_loss": 0.01, "take_profit": 0.03}
    sweep = run_backtest_sweep(signals, bars, **kwargs)
    for key in cols:
        single = run_backtest(signals[key], bars, **kwargs)
        np.testing.assert_allclose(sweep.returns[key], single.returns, rtol=1e-12, atol=1e-15)
        assert sweep.stats.loc[key, "n_trades"] == len(single.trades)
        assert sweep.stats.loc[key, "final_equity"] == pytest.approx(single.stats["final_equity"])
        assert sweep.stats.loc[key, "sharpe"] == pytest.approx(single.stats["sharpe"])
        assert sweep.stats.loc[key, "max_drawdown"] == pytest.approx(single.stats["max_drawdown"])
    int8 = run_backtest_sweep(
        signals.to_numpy().astype(np.int8), bars, keep_returns=False, **kwargs
    )
    np.testing.assert_allclose(int8.stats["final_equity"], sweep.stats["final_equity"])
    assert int8.returns is None
    # a frame's values are column-major; a row-major matrix gives the same sweep
    row_major = run_backtest_sweep(np.ascontiguousarray(signals.to_numpy()), bars, **kwargs)
    assert row_major.stats.to_numpy().tolist() == sweep.stats.to_numpy().tolist()
    assert row_major.returns.to_numpy().tolist() == sweep.returns.to_numpy().tolist()


@pytest.mark.parametrize("model", ["range", "volume"])
def test_kernel_slippage_matches_the_cost_model(model: str) -> None:
    bars = make_random_walk_bars(50, seed=2)
    costs = CostModel(
        taker_fee_bps=0, slippage=model, slippage_bps=3, impact_coefficient=5.0, funding_rate_8h=0.0
    )
    signal = pd.Series(0.0, index=bars.index)
    signal.iloc[10:] = 1.0
    res = run_backtest(signal, bars, costs=costs, stop_loss=None, take_profit=None, market="spot")
    b = bars.iloc[11]
    q_ref = 10_000.0 / b["open"]  # participation is measured on the quantity at the open
    s = costs.slippage_fraction(b["open"], b["high"], b["low"], b["volume"], q_ref)
    assert res.trades["entry_price"].iloc[0] == pytest.approx(b["open"] * (1 + float(s)))
    assert float(s) > 3e-4


def test_funding_series_maps_to_the_bar_closing_at_or_after_the_instant() -> None:
    idx = pd.date_range("2024-01-01 06:00", periods=4, freq="1h", tz="UTC")
    rates = pd.Series(
        [0.001, 0.002], index=pd.to_datetime(["2024-01-01 08:00", "2024-01-01 08:30"], utc=True)
    )
    # 08:00 closes the 07:00 bar; 08:30 falls inside the 08:00 bar (closes 09:00)
    np.testing.assert_allclose(funding_per_bar(idx, rates), [0.0, 0.001, 0.002, 0.0])
    daily = pd.date_range("2024-01-01", periods=3, freq="1D", tz="UTC")
    # three 8-hourly instants per daily bar: (00:00, 24:00] holds 08:00, 16:00 and 24:00
    np.testing.assert_allclose(funding_per_bar(daily, 0.0001), [0.0003] * 3)


def test_bad_inputs_raise_clear_errors() -> None:
    bars = make_random_walk_bars(100)
    with pytest.raises(BacktestError, match="index"):
        run_backtest(
            pd.Series(1.0, index=bars.index[::-1][::-1].shift(1, "h")), bars, market="spot"
        )
    with pytest.raises(BacktestError, match=r"\[-1, 1\]"):
        run_backtest(np.full(100, 2.0), bars, market="spot")
    with pytest.raises(BacktestError, match="cannot borrow"):
        run_backtest(np.ones(100), bars, sizing=2.0, market="spot")
    with pytest.raises(BacktestError, match="market"):
        run_backtest(np.ones(100), bars, market="futures")
    with pytest.raises(BacktestError, match="perpetuals only"):
        run_backtest(np.ones(100), bars, funding=0.001, market="spot")
    with pytest.raises(BacktestError, match="NaN"):
        run_backtest(np.full(100, np.nan), bars, market="spot")


def test_target_weights_clip_rounding_and_count_the_shorts() -> None:
    from crypto_strategy_lab.backtest.inputs import target_weights

    values = np.array([1 + 1e-13, -0.5, -1 - 1e-13, 0.25, 0.0])
    spot, shorts = target_weights(values, long_only=True)
    assert spot.tolist() == [1.0, 0.0, 0.0, 0.25, 0.0]
    assert shorts == 2
    perp, shorts = target_weights(values, long_only=False)
    assert perp.tolist() == [1.0, -0.5, -1.0, 0.25, 0.0]
    assert shorts == 2
    assert values[0] == 1 + 1e-13  # the caller's array is left alone
    with pytest.raises(BacktestError, match=r"\[-1, 1\]"):
        target_weights(np.array([0.0, 1 + 1e-11]), long_only=False)
    with pytest.raises(BacktestError, match="NaN or infinite"):
        target_weights(np.array([np.inf, 2.0]), long_only=False)


def test_the_sweep_matrix_is_checked_like_the_signal() -> None:
    from crypto_strategy_lab.backtest.inputs import target_matrix

    ints = np.array([[1, 0], [-1, 1]], dtype=np.int8)
    assert target_matrix(ints, long_only=False) is ints  # nothing to clip: no copy
    assert target_matrix(ints, long_only=True).tolist() == [[1, 0], [0, 1]]
    flags = ints > 0
    assert target_matrix(flags, long_only=True) is flags
    rounded = np.asfortranarray([[1 + 1e-13, 0.5], [-0.5, -1 - 1e-13]])
    assert target_matrix(rounded, long_only=False).tolist() == [[1.0, 0.5], [-0.5, -1.0]]
    with pytest.raises(BacktestError, match=r"\[-1, 1\]"):
        target_matrix(np.array([[0, 2]], dtype=np.int64), long_only=False)
    with pytest.raises(BacktestError, match=r"\[-1, 1\]"):
        target_matrix(np.array([[0.0], [1 + 1e-11]]), long_only=True)
    with pytest.raises(BacktestError, match="NaN or infinite"):
        target_matrix(np.array([[0.0, np.nan]]).T, long_only=False)
    with pytest.raises(BacktestError, match="numeric"):
        target_matrix(np.array([["a"]]), long_only=False)


def test_constant_funding_pays_every_instant_on_long_spans() -> None:
    # 200 days of hourly bars: every 8 h instant in (first open, last close] is paid once
    # (the old np.arange with a float length dropped the last one past ~104 days)
    from crypto_strategy_lab.backtest.funding import funding_per_bar

    idx = pd.date_range("2021-01-01", periods=200 * 24, freq="1h", tz="UTC")
    per_bar = funding_per_bar(idx, 0.0001)
    assert per_bar.sum() == pytest.approx(200 * 3 * 0.0001, rel=1e-12)
    assert per_bar[-1] == pytest.approx(0.0001)  # the 23:00 bar closes on the 00:00 instant


def test_funding_inside_a_data_gap_is_not_charged() -> None:
    # hourly bars with 05:00-09:00 missing: the 08:00 instant lies in no bar's interval
    from crypto_strategy_lab.backtest.funding import funding_per_bar

    idx = pd.date_range("2021-04-25", periods=24, freq="1h", tz="UTC")
    idx = idx[(idx.hour < 5) | (idx.hour >= 9)]
    per_bar = funding_per_bar(idx, 0.001)
    assert per_bar.sum() == pytest.approx(0.001 * 2)  # 16:00 and 24:00, never 08:00
    assert per_bar[idx.get_loc(pd.Timestamp("2021-04-25 04:00", tz="UTC"))] == 0.0


def test_a_long_only_market_says_when_it_drops_shorts(random_walk_bars):
    from crypto_strategy_lab.backtest.engine import LongOnlyWarning

    signal = pd.Series(np.where(np.arange(len(random_walk_bars)) % 50 < 25, 1.0, -1.0),
                       index=random_walk_bars.index)  # fmt: skip
    with pytest.warns(LongOnlyWarning, match=r"market='spot' is long-only: 1000 short"):
        spot = run_backtest(signal, random_walk_bars, market="spot")
    assert (spot.positions >= 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", LongOnlyWarning)  # a perp trades both sides: no warning
        perp = run_backtest(signal, random_walk_bars, market="perp")
    assert (perp.positions < 0).any()


def test_without_a_market_the_calendar_decides_and_the_backtest_says_so():
    from crypto_strategy_lab.backtest import BacktestError
    from crypto_strategy_lab.backtest.engine import MarketInferredWarning

    rng = np.random.default_rng(8)

    def bars(index: pd.DatetimeIndex) -> pd.DataFrame:
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(index))))
        ohlc = {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close}
        return pd.DataFrame(ohlc | {"volume": 1.0}, index=index.rename("timestamp"))

    crypto = bars(pd.date_range("2024-01-01", periods=24 * 30, freq="1h", tz="UTC"))
    signal = pd.Series(np.where(np.arange(len(crypto)) % 48 < 24, 1.0, -1.0), index=crypto.index)
    with pytest.warns(MarketInferredWarning, match=r"market: perp \(inferred from the calendar"):
        inferred = run_backtest(signal, crypto)
    pd.testing.assert_series_equal(
        inferred.equity, run_backtest(signal, crypto, market="perp").equity
    )
    assert (inferred.positions < 0).any()  # the shorts are traded, not dropped
    sessions = bars(pd.bdate_range("2024-01-01", periods=60, tz="UTC"))
    with pytest.warns(MarketInferredWarning, match="market: stock"):
        assert (
            run_backtest(pd.Series(1.0, index=sessions.index), sessions).settings["market"]
            == "stock"
        )
    with pytest.raises(BacktestError, match=r"cannot infer the market .*pass market='perp'"):
        run_backtest(signal.iloc[:48], crypto.iloc[:48])
