"""VPIN: a hand-worked example, BVC vs the normal CDF, causal mapping, informed-flow power."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.data.synthetic import informed_trade_stream
from crypto_strategy_lab.data.trades import trades_to_bars
from crypto_strategy_lab.stats._windows import StatsInputError
from crypto_strategy_lab.stats.vpin import (
    bar_vpin,
    bulk_volume_classification,
    rolling_vpin,
    volume_buckets,
    vpin,
)
from tests.conftest import SHARED_DATA

TRADES = SHARED_DATA / "btcusdt_binance_spot_trades_20240808.parquet"


def test_hand_worked_example():
    # Four bars, sigma of price changes = 0.01 (given), bucket volume V = 10, n = 2 buckets.
    # dp/sigma = [+1, 0, -1, +2]: Phi = [0.841344746, 0.5, 0.158655254, 0.977249868]
    dp = np.array([0.01, 0.0, -0.01, 0.02])
    volume = np.array([4.0, 8.0, 5.0, 3.0])
    buy = bulk_volume_classification(dp, volume, 0.01)
    np.testing.assert_allclose(buy, [3.365378985, 4.0, 0.793276271, 2.931749605], atol=1e-9)
    b = volume_buckets(buy, volume, 10.0)
    # bucket 1: all of bar 0 (4) + 6 of bar 1's 8 -> buy 3.365378985 + 3.0 = 6.365378985,
    #           sell 0.634621015 + 3.0 = 3.634621015, completed at bar 1
    # bucket 2: 2 of bar 1 + bar 2 (5) + bar 3 (3) -> buy 1.0 + 0.793276271 + 2.931749605
    #           = 4.725025876, sell 1.0 + 4.206723729 + 0.068250395 = 5.274974124, at bar 3
    np.testing.assert_allclose(b.buy, [6.365378985, 4.725025876], atol=1e-9)
    np.testing.assert_allclose(b.sell, [3.634621015, 5.274974124], atol=1e-9)
    assert b.end_index.tolist() == [1, 3]
    # VPIN over both buckets: (|3.634621015 - 6.365378985| + |5.274974124 - 4.725025876|) / 20
    #                        = (2.730757970 + 0.549948248) / 20 = 0.164035311
    assert vpin(b.buy, b.sell) == pytest.approx(0.164035311, abs=1e-9)
    v, oi = rolling_vpin(b.buy, b.sell, 2)
    assert np.isnan(v[0]) and v[1] == pytest.approx(0.164035311, abs=1e-9)
    # signed imbalance: (2.730757970 - 0.549948248) / 20 = 0.109040486
    assert oi[1] == pytest.approx(0.109040486, abs=1e-9)


def test_bar_mapping_is_causal():
    close = np.array([100.0, 101.0, 100.0, 102.0, 102.0])
    volume = np.array([4.0, 8.0, 5.0, 3.0, 7.0])
    buy = np.array([2.0, 6.0, 1.0, 3.0, 7.0])  # exact (aggressor) split
    res = bar_vpin(close, volume, 10.0, n_buckets=1, buy_volume=buy)
    assert res.source == "trades"
    # bucket 0 ends at bar 1 (2 + 6*6/8 = 6.5 buy), bucket 1 at bar 3 (1.5 + 1 + 3 = 5.5 buy)
    assert res.bucket_index.tolist() == [-1, 0, 0, 1, 1]
    np.testing.assert_allclose(res.vpin, [np.nan, 0.3, 0.3, 0.1, 0.1])
    # truncating the future leaves the past unchanged
    part = bar_vpin(close[:3], volume[:3], 10.0, n_buckets=1, buy_volume=buy[:3])
    np.testing.assert_array_equal(part.vpin, res.vpin[:3])


def test_rolling_equals_one_shot(rng):
    b, s = rng.uniform(0, 10, 200), rng.uniform(0, 10, 200)
    v, _ = rolling_vpin(b, s, 25)
    for t in (24, 100, 199):
        assert v[t] == pytest.approx(vpin(b[t - 24 : t + 1], s[t - 24 : t + 1]), rel=1e-12)


def _stream_vpin(alpha: float, seed: int, classify: str) -> float:
    ts = informed_trade_stream(n_periods=300, alpha=alpha, seed=seed)
    bars = trades_to_bars(ts.trades, "1min")
    buy = bars["buy_volume"].to_numpy() if classify == "trades" else None
    res = bar_vpin(
        bars["close"].to_numpy(), bars["volume"].to_numpy(), bars["volume"].mean() * 5, 50, 30, buy
    )
    return float(np.nanmean(res.vpin))


@pytest.mark.parametrize("classify", ["trades", "bars"])
def test_higher_under_informed_flow(classify):
    informed = [_stream_vpin(0.6, s, classify) for s in range(3)]
    uninformed = [_stream_vpin(0.0, s, classify) for s in range(3)]
    assert min(informed) > max(uninformed)


def test_aggressor_vpin_tracks_pin():
    # with exact sides and buckets ~ one period, E[VPIN] ~ PIN = a mu / (a mu + 2 eps)
    ts = informed_trade_stream(n_periods=400, alpha=0.5, mu=60, eps=40, period="5min", seed=9)
    bars = trades_to_bars(ts.trades, "5min")
    res = bar_vpin(
        bars["close"].to_numpy(),
        bars["volume"].to_numpy(),
        bars["volume"].mean(),
        50,
        buy_volume=bars["buy_volume"].to_numpy(),
    )
    assert np.nanmean(res.vpin) == pytest.approx(ts.pin, abs=0.08)


@pytest.mark.skipif(not TRADES.exists(), reason="shared real trades file absent")
def test_real_binance_trades():
    raw = pd.read_parquet(TRADES)
    trades = raw.assign(timestamp=pd.to_datetime(raw["timestamp"], unit="ms", utc=True))
    bars = trades_to_bars(trades, "5s")
    assert bars["volume"].sum() == pytest.approx(raw["size"].sum())
    assert bars["buy_volume"].sum() == pytest.approx(raw.loc[raw.side == "buy", "size"].sum())
    res = bar_vpin(
        bars["close"].to_numpy(),
        bars["volume"].to_numpy(),
        bars["volume"].sum() / 100,
        20,
        buy_volume=bars["buy_volume"].to_numpy(),
    )
    v = res.vpin[np.isfinite(res.vpin)]
    assert v.size > 0 and ((v >= 0) & (v <= 1)).all()


def test_bad_input():
    with pytest.raises(StatsInputError, match="bucket_volume"):
        volume_buckets(np.ones(3), np.ones(3), 0.0)
    with pytest.raises(StatsInputError, match="buy_volume"):
        bar_vpin(np.ones(3), np.ones(3), 1.0, buy_volume=np.full(3, 2.0))
    with pytest.raises(StatsInputError, match="NaN"):
        bar_vpin(np.array([1.0, np.nan, 1.0]), np.ones(3), 1.0)
