"""The runner's two faces agree: precomputed replay signal == ``generate_signal`` live face."""

from __future__ import annotations

import time

import numpy as np

from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.engine import BarEvent, StrategyRunner
from crypto_strategy_lab.engine.ids import decision_order_id
from crypto_strategy_lab.strategies import get_strategy


def _event(bars, i: int) -> BarEvent:
    row = bars.iloc[i]
    stamp = bars.index[i].to_pydatetime()
    return BarEvent(
        "BTCUSDT",
        stamp,
        stamp,
        float(row.open),
        float(row.high),
        float(row.low),
        float(row.close),
        float(row.volume),
        i,
        time.perf_counter_ns(),
    )


def _active_span(signal: np.ndarray, length: int) -> int:
    """Start of the first ``length`` bars whose target weights are not all equal and not all
    zero, so the comparison cannot pass with two faces that are always flat."""
    for start in range(len(signal) - length, 0, -1):
        window = signal[start : start + length]
        if np.any(window != 0) and np.unique(window).size > 1:
            return start
    raise AssertionError("the strategy never trades on these bars")


async def test_replay_face_equals_live_face(btc_bars) -> None:  # type: ignore[no-untyped-def]
    bars = btc_bars.iloc[:1500]
    compared = 0
    for name in ("lag_autocorr", "drift_significance", "true_range_divergence"):
        for market in (MarketType.LINEAR, MarketType.SPOT):
            replay = StrategyRunner(get_strategy(name), "BTCUSDT", market)
            replay.prepare(bars)
            start = _active_span(replay.precomputed().to_numpy(), 12)
            live = StrategyRunner(get_strategy(name), "BTCUSDT", market, lookback=5000)
            live.seed_window(bars.iloc[:start])
            wants = []
            for i in range(start, start + 12):
                want = (await replay.on_bar(_event(bars, i))).strength
                got = (await live.on_bar(_event(bars, i))).strength
                assert np.isclose(got, want, rtol=0, atol=1e-12), (name, market, i)
                if market is MarketType.SPOT:
                    assert want >= 0  # long-only market: a short signal means flat
                wants.append(want)
            # the compared bars hold real decisions: a live face that is always flat fails
            assert any(w != 0 for w in wants) and len(set(wants)) > 1, (name, market, wants)
            compared += 1
    assert compared == 6


def test_decision_ids_are_deterministic_and_venue_valid(btc_bars) -> None:
    t = btc_bars.index[5].to_pydatetime()
    a = decision_order_id("run-1", "lag_autocorr", t)
    assert a == decision_order_id("run-1", "lag_autocorr", t)
    assert a != decision_order_id("run-2", "lag_autocorr", t)
    assert a != decision_order_id("run-1", "lag_autocorr", t, "stop_loss")
    assert len(a) == 36 and a.replace("-", "").isalnum()
