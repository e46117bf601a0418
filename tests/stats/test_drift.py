"""Drift test against scipy's t-test and statsmodels' HAC OLS; rolling == one-shot; power/size."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from crypto_strategy_lab.data.synthetic import gbm_returns
from crypto_strategy_lab.stats import (
    StatsInputError,
    drift_test,
    newey_west_lags,
    rolling_drift_test,
    sliding_windows,
)


def test_mle_crlb_and_t_match_closed_forms(rng):
    r = rng.standard_normal(250) * 0.02 + 0.003
    res = drift_test(r)
    assert res.mu == pytest.approx(r.mean(), rel=1e-14)
    assert res.crlb_se == pytest.approx(np.sqrt(r.var(ddof=0) / r.size), rel=1e-12)
    ref = stats.ttest_1samp(r, 0.0)
    assert res.t == pytest.approx(ref.statistic, rel=1e-12)
    assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-10)


@pytest.mark.parametrize("lags", [0, 3, 12])
def test_hac_matches_statsmodels_ols(lags, rng):
    r = np.convolve(rng.standard_normal(600), [1, 0.5, 0.25], "same") * 0.01 + 0.001
    ols = sm.OLS(r, np.ones_like(r)).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    res = drift_test(r, hac_lags=lags)
    assert res.hac_se == pytest.approx(ols.bse[0], rel=1e-10)
    assert res.hac_z == pytest.approx(ols.tvalues[0], rel=1e-10)
    assert res.hac_pvalue == pytest.approx(ols.pvalues[0], rel=1e-8)


def test_default_lags_is_newey_west_rule():
    assert newey_west_lags(100) == 4 and newey_west_lags(1000) == 6


def test_rolling_equals_one_shot(rng):
    r = rng.standard_normal(300) * 0.01 + 0.0005
    roll = np.array(rolling_drift_test(r, 60, hac_lags=4))
    ref = np.array([drift_test(w, hac_lags=4) for w in sliding_windows(r, 60)]).T
    assert np.isnan(roll[:, :59]).all()
    np.testing.assert_allclose(roll[:, 59:], ref, rtol=1e-8, atol=1e-13)


def test_constant_and_bad_input():
    assert np.isnan(drift_test(np.full(20, 0.01)).t)
    with pytest.raises(StatsInputError, match="at least"):
        drift_test(np.array([0.01, 0.02]))
    with pytest.raises(StatsInputError, match="hac_lags"):
        rolling_drift_test(np.zeros(50), 10, hac_lags=10)


def test_power_drift_detected():
    # mu / sigma = 0.1 per bar over 2000 bars: E[z] = 0.1 sqrt(2000) = 4.5, power ~ 0.99.
    hits = [
        drift_test(gbm_returns(2000, mu=0.001 + 0.5e-4, sigma=0.01, seed=s)).hac_pvalue < 0.05
        for s in range(20)
    ]
    assert np.mean(hits) >= 0.9


def test_size_on_iid_noise():
    x = np.random.default_rng(9).standard_normal(500 * 200)
    res = rolling_drift_test(x, 200)
    for p in (res.pvalue[199::200], res.hac_pvalue[199::200]):
        assert abs(np.mean(p < 0.05) - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 500) + 0.01
