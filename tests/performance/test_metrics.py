"""Performance metrics against independent references: the standard library, hand-worked
examples and per-window recomputation (never the function under test itself)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.performance.metrics import (
    MetricsError,
    drawdown,
    infer_periods_per_year,
    max_drawdown,
    return_moments,
    rolling_sharpe,
    sharpe_ratio,
    sharpe_ratios,
    sortino_ratio,
)


@pytest.fixture
def returns() -> np.ndarray:
    return np.random.default_rng(11).standard_t(5, 500) * 0.01 + 0.0007


def test_sharpe_equals_the_standard_library(returns):
    expected = statistics.fmean(returns) / statistics.stdev(returns)
    assert sharpe_ratio(returns) == pytest.approx(expected, rel=1e-12)
    assert sharpe_ratio(pd.Series(returns), 8760) == pytest.approx(
        expected * math.sqrt(8760), rel=1e-12
    )


def test_sharpe_of_a_constant_series_is_zero():
    assert sharpe_ratio(np.full(10, 0.01)) == 0.0


def test_sortino_without_downside_is_infinite_as_in_empyrical():
    # empyrical and quantstats divide the mean by a zero downside deviation: +inf for a
    # positive mean, NaN (0 / 0) when every return is 0
    assert sortino_ratio(np.full(10, 0.01)) == math.inf
    assert sortino_ratio(np.array([0.0, 0.02, 0.01]), 365) == math.inf
    assert math.isnan(sortino_ratio(np.zeros(5)))


def test_rolling_sharpe_calls_a_window_constant_by_its_values_not_its_rounded_std():
    # pandas' online std leaves rounding noise (~1e-8 here) in a window of identical values
    # that follows large ones; sharpe_ratio's exact test makes that window NaN, not 1e5
    series = pd.Series(np.r_[np.random.default_rng(4).normal(0, 1, 100), np.full(30, 0.001)])
    roll = rolling_sharpe(series, 20)
    assert roll.iloc[119:].isna().all()
    assert roll.iloc[118] == pytest.approx(sharpe_ratio(series.iloc[99:119]), rel=1e-9)


def test_moments_are_scipys_to_the_last_bit(returns):
    from scipy import stats

    for x in (returns, returns[:7] * 1e-4 - 0.3):
        mom = return_moments(x)
        assert mom.skew == float(stats.skew(x))
        assert mom.kurtosis == float(stats.kurtosis(x, fisher=False))
    # a spread that is rounding noise next to the mean: undefined in both
    tiny = np.array([1.0, 1.0 + 2.3e-16, 1.0])
    mom = return_moments(tiny)
    assert np.isnan(mom.skew) and np.isnan(stats.skew(tiny))
    assert np.isnan(mom.kurtosis)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((3, 2)), "one-dimensional"),
        (np.array([0.01]), "at least 2"),
        (np.array([0.01, np.nan, 0.02]), "NaN"),
        (np.array([0.01, np.inf]), "NaN or infinite"),
    ],
)
def test_unusable_returns_are_refused(bad, message):
    with pytest.raises(MetricsError, match=message):
        sharpe_ratio(bad)


def test_moments_equal_the_textbook_formulas(returns):
    # Biased (population) central moments, raw kurtosis: m3 / m2^1.5 and m4 / m2^2.
    d = returns - returns.mean()
    m2, m3, m4 = (np.mean(d**k) for k in (2, 3, 4))
    mom = return_moments(returns)
    assert mom.n_obs == returns.size
    assert mom.sr == pytest.approx(sharpe_ratio(returns), rel=1e-12)
    assert mom.skew == pytest.approx(m3 / m2**1.5, rel=1e-10)
    assert mom.kurtosis == pytest.approx(m4 / m2**2, rel=1e-10)
    constant = return_moments(np.full(5, 0.002))
    assert (constant.sr, constant.skew, constant.kurtosis) == (0.0, 0.0, 3.0)


@pytest.mark.parametrize(
    ("freq", "market", "expected"),
    [
        ("1h", "crypto", 8760.0),
        ("5min", "crypto", 105_120.0),
        ("1D", "crypto", 365.0),
        ("1D", "stock", 252.0),
        ("1h", "stock", 252 * 6.5),
        ("7D", "stock", 36.0),
        ("5D", "stock", 50.4),
        # a bar of 99 % of a day or more counts sessions (vendors stamp daily bars unevenly)
        ("86000s", "stock", 252 * 86_400 / 86_000),
        ("85000s", "stock", 252 * 6.5 * 3_600 / 85_000),
    ],
)
def test_periods_per_year_follow_the_calendar(freq, market, expected):
    index = pd.date_range("2024-01-01", periods=50, freq=freq, tz="UTC")
    assert infer_periods_per_year(index, market) == pytest.approx(expected, rel=1e-12)


def test_periods_per_year_use_the_median_spacing_despite_gaps():
    index = pd.date_range("2024-01-01", periods=100, freq="1h", tz="UTC").delete(range(10, 40))
    assert infer_periods_per_year(index) == pytest.approx(8760.0)


def test_periods_per_year_need_increasing_timestamps():
    with pytest.raises(MetricsError, match="at least 2"):
        infer_periods_per_year(pd.DatetimeIndex(["2024-01-01"], tz="UTC"))
    backwards = pd.date_range("2024-01-01", periods=5, freq="1h", tz="UTC")[::-1]
    with pytest.raises(MetricsError, match="increasing"):
        infer_periods_per_year(backwards)


def test_drawdown_path_hand_worked():
    np.testing.assert_allclose(drawdown(np.array([100.0, 110.0, 99.0, 121.0])), [0, 0, 0.1, 0])


def test_max_drawdown_hand_worked():
    # Peaks 120 then 130: troughs 90 (-25 %) and 65 (-50 %).
    assert max_drawdown(np.array([100.0, 120.0, 90.0, 130.0, 65.0, 70.0])) == pytest.approx(0.5)
    assert max_drawdown(np.array([1.0, 2.0, 3.0])) == 0.0
    assert max_drawdown(np.array([])) == 0.0


def test_sortino_hand_worked():
    r = np.array([0.02, -0.01, 0.03, -0.02])
    downside = math.sqrt((0.0 + 0.01**2 + 0.0 + 0.02**2) / 4)
    assert sortino_ratio(r) == pytest.approx(0.005 / downside, rel=1e-12)
    assert sortino_ratio(r, 365) == pytest.approx(0.005 / downside * math.sqrt(365), rel=1e-12)


def test_rolling_sharpe_equals_the_per_window_sharpe(returns):
    series = pd.Series(returns)
    series.iloc[100:130] = 0.0  # a flat stretch: no volatility, NaN rather than infinity
    roll = rolling_sharpe(series, 20)
    assert roll.iloc[:19].isna().all()
    for end in (19, 57, 128, 200, 499):
        window = series.iloc[end - 19 : end + 1].to_numpy()
        if window.std() == 0.0:
            assert np.isnan(roll.iloc[end])
        else:
            assert roll.iloc[end] == pytest.approx(sharpe_ratio(window), rel=1e-9)
    annual = rolling_sharpe(series, 20, 8760)
    assert annual.iloc[200] == pytest.approx(roll.iloc[200] * math.sqrt(8760), rel=1e-12)


def test_sharpe_in_excess_of_an_annual_risk_free_rate(returns):
    # the annual rate compounds to a per-bar rate: (1 + rf) ** (1 / periods) - 1
    per_bar = 1.02 ** (1 / 8760) - 1
    excess = [r - per_bar for r in returns]
    expected = statistics.fmean(excess) / statistics.stdev(excess) * math.sqrt(8760)
    assert sharpe_ratio(returns, 8760, risk_free_rate=0.02) == pytest.approx(expected, rel=1e-9)
    assert sharpe_ratio(returns, 8760, risk_free_rate=0.0) == sharpe_ratio(returns, 8760)
    with pytest.raises(MetricsError, match="periods_per_year"):
        sharpe_ratio(returns, risk_free_rate=0.02)


def test_sharpe_ratios_of_a_matrix_are_each_columns_sharpe_ratio() -> None:
    # the column rule must equal the single-series rule (numpy's mean / std with ddof=1 as
    # the independent reference), and a constant column is 0, not inf
    rng = np.random.default_rng(11)
    matrix = pd.DataFrame(rng.normal(0.001, 0.01, (500, 4)), columns=list("abcd"))
    matrix["flat"] = 0.002
    got = sharpe_ratios(matrix)
    values = matrix[list("abcd")].to_numpy()
    expected = values.mean(axis=0) / values.std(axis=0, ddof=1)
    np.testing.assert_allclose(got[list("abcd")].to_numpy(), expected, rtol=1e-12)
    assert got["flat"] == 0.0
    for col in "abcd":
        assert got[col] == pytest.approx(sharpe_ratio(matrix[col]), rel=1e-12)
