"""BacktestResult as a user meets it: numeric stats, a short repr, notebook HTML, a plot."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.performance.metrics import max_drawdown, sharpe_ratio
from tests.conftest import make_random_walk_bars


@pytest.fixture(scope="module")
def result():
    bars = make_random_walk_bars(800, seed=11)
    signal = np.sign(np.sin(np.arange(len(bars)) / 25.0))
    return run_backtest(signal, bars, market="perp", stop_loss=None, take_profit=None)


def test_stats_are_float64_and_support_arithmetic(result):
    stats = result.stats
    assert stats.dtype == np.float64
    scaled = stats * 100  # raised TypeError on the object-dtype Series
    assert scaled["total_return"] == pytest.approx(100 * stats["total_return"])
    assert stats["n_trades"] == len(result.trades)
    assert stats["final_equity"] == result.equity.iloc[-1]
    assert stats["sharpe"] == pytest.approx(
        sharpe_ratio(result.returns, result.settings["periods_per_year"])
    )
    assert stats["max_drawdown"] == pytest.approx(max_drawdown(result.equity))
    assert result.start == result.returns.index[0]
    assert result.end == result.returns.index[-1]


def test_stats_trades_and_fills_are_built_on_first_access_only():
    bars = make_random_walk_bars(300, seed=2)
    res = run_backtest(np.ones(len(bars)), bars, market="spot")
    assert not {"stats", "trades", "fills"} & set(vars(res))
    for name in ("fills", "trades", "stats"):
        first = getattr(res, name)
        assert getattr(res, name) is first  # cached


def test_repr_is_one_short_line_with_the_headline(result):
    text = repr(result)
    assert "\n" not in text
    assert len(text) < 200
    assert f"total return {result.stats['total_return']:.2%}" in text
    assert "perp" in text


def test_repr_html_is_a_table_with_units(result):
    page = result._repr_html_()
    assert page.count("<tr>") == len(result.stats)
    assert f"{result.stats['max_drawdown']:.2%}" in page


def test_buy_and_hold_holds_the_initial_capital_from_the_first_close(result):
    bh = result.buy_and_hold
    close = result.close
    capital = result.settings["initial_capital"]
    assert bh.iloc[0] == pytest.approx(capital)
    assert bh.iloc[-1] == pytest.approx(capital * close.iloc[-1] / close.iloc[0])
    assert bh.index.equals(result.equity.index)


def test_plot_draws_equity_benchmark_drawdown_and_position(result):
    fig = result.plot()
    names = [trace.name for trace in fig.data]
    assert names == ["strategy", "buy & hold", "drawdown", "position"]
    by_name = {trace.name: trace for trace in fig.data}
    np.testing.assert_allclose(by_name["strategy"].y, result.equity.to_numpy())
    np.testing.assert_allclose(by_name["position"].y, result.positions.to_numpy())
    dd = np.asarray(by_name["drawdown"].y, dtype=float)
    assert dd.max() <= 0.0
    assert -dd.min() == pytest.approx(result.stats["max_drawdown"])
