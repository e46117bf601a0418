"""A replayed bar's statistics: the finite numbers of the strategy's prepared row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.engine.runner import StrategyRunner

N = 60


def _by_row(frame: pd.DataFrame, index: int) -> dict[str, float]:
    """The definition, one cell at a time: every finite number of the row but ``signal``."""
    out = {}
    for column in frame.columns.drop("signal"):
        value = frame[column].to_numpy(dtype=object)[index]
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            continue
        if np.isfinite(value):
            out[str(column)] = float(value)
    return out


def test_statistics_are_the_finite_numbers_of_the_prepared_row() -> None:
    rng = np.random.default_rng(3)
    idx = pd.date_range("2024-01-01", periods=N, freq="h", tz="UTC", name="timestamp")
    frame = pd.DataFrame(
        {
            "signal": rng.choice([-1.0, 0.0, 1.0], N),
            "z": np.where(rng.random(N) < 0.2, np.nan, rng.normal(size=N)),
            "edge": np.where(rng.random(N) < 0.3, np.inf, -np.inf),
            "count": rng.integers(0, 9, N),
            "f32": rng.normal(size=N).astype("float32"),
            "flag": rng.random(N) < 0.5,
            "mixed": np.array([1.5, "x", True, None, 2, np.nan] * 10, dtype=object),
            "when": idx,
        },
        index=idx,
    )

    class Prepared:
        name, warmup = "prepared", 0

        def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
            return frame

    runner = StrategyRunner(Prepared(), "BTCUSDT", MarketType.LINEAR)
    assert runner.statistics_at(0) == {}  # before prepare
    runner.prepare(pd.DataFrame({"close": np.ones(N)}, index=idx))
    seen = set()
    for i in range(N):
        stats = runner.statistics_at(i)
        assert stats == _by_row(frame, i), i
        seen |= set(stats)
    assert seen == {"z", "count", "f32", "mixed"}  # never inf, a bool, a time or a string
