"""True range and Wilder ATR vs pandas; divergence null law and power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.data.synthetic import bars_from_returns
from crypto_strategy_lab.stats._windows import StatsInputError
from crypto_strategy_lab.stats.true_range import (
    average_true_range,
    price_volatility_divergence,
    product_normal_sf,
    true_range,
)
from tests.conftest import make_random_walk_bars


def _pandas_atr(bars: pd.DataFrame, n: int) -> tuple[pd.Series, pd.Series]:
    prev = bars["close"].shift(1)
    tr = pd.concat(
        [bars["high"] - bars["low"], (bars["high"] - prev).abs(), (bars["low"] - prev).abs()],
        axis=1,
    ).max(axis=1)
    seeded = tr.copy()
    seeded.iloc[: n - 1] = np.nan
    seeded.iloc[n - 1] = tr.iloc[:n].mean()
    # Wilder smoothing == EWM with alpha 1/n, adjust=False, started at the SMA seed
    atr = seeded.iloc[n - 1 :].ewm(alpha=1.0 / n, adjust=False).mean()
    return tr, atr.reindex(bars.index)


def test_true_range_and_atr_match_pandas():
    bars = make_random_walk_bars(2000, seed=11)
    h, lo, c = (bars[k].to_numpy() for k in ("high", "low", "close"))
    tr_ref, atr_ref = _pandas_atr(bars, 14)
    np.testing.assert_allclose(true_range(h, lo, c), tr_ref.to_numpy(), atol=1e-12)
    atr = average_true_range(h, lo, c, 14)
    assert np.isnan(atr[:13]).all()
    np.testing.assert_allclose(atr[13:], atr_ref.to_numpy()[13:], rtol=1e-12)


def test_true_range_uses_gaps():
    h, lo, c = np.array([11.0, 13.0]), np.array([9.0, 12.0]), np.array([10.0, 12.5])
    assert true_range(h, lo, c).tolist() == [2.0, 3.0]  # gap up: 13 - prev close 10


def test_product_normal_tail_matches_simulation(rng):
    z = rng.standard_normal(400_000) * rng.standard_normal(400_000)
    for d in (0.5, 1.5, 3.0):
        assert product_normal_sf(d) == pytest.approx((np.abs(z) > d).mean(), abs=3e-3)
    assert product_normal_sf(0.0) == 1.0


def test_divergence_is_causal_prefix():
    bars = make_random_walk_bars(1500, seed=2)
    args = [bars[k].to_numpy() for k in ("high", "low", "close")]
    full = price_volatility_divergence(*args, 14, 24, 300)
    part = price_volatility_divergence(*(a[:900] for a in args), 14, 24, 300)
    np.testing.assert_array_equal(part.divergence, full.divergence[:900])
    first = 14 - 1 + 24 + 300 - 1
    assert np.isnan(full.divergence[:first]).all() and np.isfinite(full.divergence[first])


def test_divergence_power_on_volatility_expanding_trends():
    # calm random walk, then a 60-bar rally whose volatility triples: a confirmed move
    rng = np.random.default_rng(3)
    calm = rng.normal(0, 0.005, 1000)
    rally = 0.004 + rng.normal(0, 0.005, 60) * np.linspace(1, 3, 60)
    bars = bars_from_returns(np.concatenate([calm, rally]), seed=3)
    d = price_volatility_divergence(
        bars["high"].to_numpy(), bars["low"].to_numpy(), bars["close"].to_numpy(), 14, 24, 500
    )
    assert d.price_z[-1] > 3 and d.vol_z[-1] > 2
    assert d.divergence[-1] > 0 and d.pvalue[-1] < 0.01


def test_divergence_size_on_random_walks():
    seeds = 300
    p = np.array(
        [
            price_volatility_divergence(
                *(b[k].to_numpy() for k in ("high", "low", "close")), 14, 24, 500
            ).pvalue[-1]
            for b in (make_random_walk_bars(1100, seed=1000 + s) for s in range(seeds))
        ]
    )
    assert 0.02 <= (p < 0.05).mean() <= 0.10


def test_bad_input():
    with pytest.raises(StatsInputError, match="high must be >= low"):
        true_range(np.array([1.0, 2.0]), np.array([2.0, 1.0]), np.array([1.5, 1.5]))
