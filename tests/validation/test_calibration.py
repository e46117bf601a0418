"""Gate calibration on searches shaped like the real one: family-wise false passes, power in
annual units checked against a closed form, data-derived noise, the cache."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, norm

from crypto_strategy_lab.validation import GateConfig, deflated_sharpe_ratio, return_moments
from crypto_strategy_lab.validation.calibration import (
    CalibrationResult,
    SearchShape,
    cached_calibration,
    calibrate_gate,
    calibration_key,
    evaluate_search,
    gate_pass_rate,
    latent_loading,
    simulate_search,
)
from tests.conftest import shared_file


def btc_hourly_returns() -> np.ndarray:
    raw = pd.read_parquet(shared_file("btcusd_cdd_1h_20180515_20220301.parquet"))
    close = raw["close"].to_numpy(dtype=float)
    return np.diff(close) / close[:-1]


def test_power_in_annual_units_matches_the_closed_form() -> None:
    """DSR alone on one configuration is a one-sided PSR(0) test: its power at an annual SR
    on T bars of P per year is Phi(SR / sqrt(P) * sqrt(T - 1) - z_0.95) (normal returns)."""
    cfg = GateConfig(criteria=("dsr",))
    shape = SearchShape(1, 1, 2000, 0.0, 8760.0)
    for annual in (2.0, 4.0):
        res = gate_pass_rate(
            n_families=400, shape=shape, edge_sr_annual=annual, df=1e6, seed=3, config=cfg
        )
        expected = norm.cdf(annual / math.sqrt(8760.0) * math.sqrt(1999) - norm.ppf(0.95))
        ci = binomtest(round(res.pass_rate * 400), 400).proportion_ci(0.999)
        assert ci.low <= expected <= ci.high, (annual, res.pass_rate, expected)
    # and power grows with the edge (a 0.5 annual SR is indistinguishable from noise here)
    low = gate_pass_rate(
        n_families=200, shape=shape, edge_sr_annual=0.5, df=1e6, seed=4, config=cfg
    )
    assert low.pass_rate < 0.3


def test_bootstrap_noise_has_the_grids_correlation_and_turnover() -> None:
    returns = btc_hourly_returns()
    shape = SearchShape(2, 6, 20_000, 0.8, 8760.0, time_in_market=0.3, bars_per_bet=12.0)
    search = simulate_search(np.random.default_rng(0), shape, noise="bootstrap", returns=returns)
    matrix, positions = search[0]
    corr = matrix.corr().to_numpy()[np.triu_indices(6, 1)]
    assert corr.mean() == pytest.approx(0.8, abs=0.05)
    assert np.abs(positions).mean() == pytest.approx(0.3, abs=0.05)
    # independent strategies do not correlate; null returns have no edge
    other = search[1][0]
    assert abs(np.corrcoef(matrix[0], other[0])[0, 1]) < 0.2  # vs 0.8 within one strategy
    assert abs(matrix.mean().mean() / matrix.std().mean()) * math.sqrt(20_000) < 4
    assert latent_loading(0.0, 0.3) == 0.0 and latent_loading(0.5, 1.0) < latent_loading(0.8, 1.0)


def test_planted_edge_on_bootstrap_noise_has_the_stated_annual_sharpe() -> None:
    returns = btc_hourly_returns()
    shape = SearchShape(1, 2, 20_000, 0.5, 8760.0, time_in_market=0.2, bars_per_bet=6.0)
    rng = np.random.default_rng(1)
    srs = []
    for _ in range(20):
        matrix, _ = simulate_search(
            rng, shape, noise="bootstrap", returns=returns, edge_sr_annual=3.0
        )[0]
        srs.append(matrix[0].mean() / matrix[0].std() * math.sqrt(8760.0))
    # 20 draws of an annual SR estimated on 2.3 years: standard error ~0.66 / sqrt(20)
    assert np.mean(srs) == pytest.approx(3.0, abs=0.5)


def test_family_wise_rate_counts_a_pass_by_any_strategy() -> None:
    """Without deflation by the whole search, picking among 12 strategies inflates false
    passes; the family-wise rate is at least the per-strategy one and grows with the count."""
    cfg = GateConfig(criteria=("track_record",))  # a criterion that noise passes sometimes
    one = gate_pass_rate(n_families=100, shape=SearchShape(1, 4, 600, 0.5), seed=5, config=cfg)
    twelve = gate_pass_rate(n_families=100, shape=SearchShape(12, 4, 600, 0.5), seed=5, config=cfg)
    assert twelve.pass_rate >= twelve.strategy_pass_rate
    assert twelve.pass_rate > one.pass_rate + 0.2


def test_calibration_is_cached_by_its_inputs(tmp_path) -> None:
    calls = []

    def compute() -> dict[str, CalibrationResult]:
        calls.append(1)
        return {"false_pass": CalibrationResult(0.01, 10, {"dsr": 0.0}, {"n_obs": 5}, 0.001)}

    key = calibration_key(shape=SearchShape(), n_families=10)
    first, hit1 = cached_calibration(tmp_path, key, compute)
    second, hit2 = cached_calibration(tmp_path, key, compute)
    assert (hit1, hit2) == (False, True) and len(calls) == 1 and first == second
    other = calibration_key(shape=SearchShape(n_obs=999), n_families=10)
    assert other != key
    cached_calibration(tmp_path, other, compute)
    assert len(calls) == 2


@pytest.mark.slow
@pytest.mark.parametrize("noise", ["t", "bootstrap"])
@pytest.mark.parametrize("rho", [0.8, 0.97])
def test_family_wise_false_pass_rate_with_12_strategies_is_at_most_5_percent(noise, rho) -> None:
    """The project's own noise families, correlated grids, 12 strategies of 6 configurations
    on 4,000 hourly bars: at most 5 % of searches let any strategy through."""
    shape = SearchShape(12, 6, 4000, rho, 8760.0, time_in_market=0.3, bars_per_bet=12.0)
    returns = btc_hourly_returns() if noise == "bootstrap" else None
    res = gate_pass_rate(
        n_families=200, shape=shape, noise=noise, returns=returns, seed=11, config=GateConfig()
    )
    print(noise, rho, res.pass_rate, res.strategy_pass_rate, res.criterion_pass_rates)
    assert res.pass_rate <= 0.05


def test_latent_loading_of_a_grid_that_never_trades_is_zero():
    # a strategy that holds no position in the data (hurst_exponent on the bundled 15m bars)
    # has an undefined grid correlation and no time in market: calibration must still run
    from crypto_strategy_lab.validation.calibration import latent_loading

    assert latent_loading(float("nan"), 0.0) == 0.0
    assert latent_loading(0.5, 0.0) == 0.0
    assert 0.0 < latent_loading(0.5, 0.2) < 1.0


def test_calibration_reports_each_simulated_search_once() -> None:
    """``on_family`` (a progress bar's advance) fires once per search of every arm, and only
    after that search is evaluated: the count matches the families the results are over."""
    calls: list[int] = []
    results = calibrate_gate(
        n_families=3,
        shape=SearchShape(1, 2, 300, 0.5),
        edges_annual=(1.0, 2.0),
        config=GateConfig(criteria=("dsr",)),
        on_family=lambda: calls.append(1),
    )
    assert len(calls) == sum(r.n_families for r in results.values()) == 3 * 3


def test_evaluate_search_ranks_a_constant_configuration_by_sharpe_ratio_rules() -> None:
    # A constant column has no risk and no reward: Sharpe 0 (sharpe_ratio), not mean / 0 = inf
    rng = np.random.default_rng(7)
    matrix = pd.DataFrame(
        {
            "flat": np.full(400, 1e-4),
            "a": rng.normal(2e-3, 0.01, 400),
            "b": rng.normal(0, 0.01, 400),
        }
    )
    [verdict] = evaluate_search([(matrix, None)], GateConfig(criteria=("dsr",)))
    assert verdict.strategy == "config 1"
    srs = [0.0, *(matrix[c].mean() / matrix[c].std(ddof=1) for c in "ab")]
    dsr = verdict.to_frame().set_index("criterion").loc["dsr", "value"]
    m = return_moments(matrix["a"])
    expected = deflated_sharpe_ratio(m.sr, m.n_obs, m.skew, m.kurtosis, 3, np.var(srs, ddof=1))
    assert dsr == pytest.approx(expected, rel=1e-12)


def test_evaluate_search_with_only_expensive_criteria_still_evaluates_them() -> None:
    rng = np.random.default_rng(8)
    matrix = pd.DataFrame(rng.normal(0, 0.01, (256, 4)))
    [verdict] = evaluate_search([(matrix, None)], GateConfig(criteria=("pbo",), pbo_splits=4))
    assert [c.name for c in verdict.criteria] == ["pbo"]
