"""The shared output-frame builder: one float64 block, leading NaN rows, the signal contract."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.strategies.return_signals import on_bars, strategy_frame


def test_strategy_frame_is_one_block_with_the_signal_contract_applied():
    index = pd.date_range("2024-01-01", periods=5, freq="h", name="timestamp")
    stat = np.array([0.5, 1.0, 2.0, 3.0])
    signal = np.array([np.nan, 2.0, -np.inf, 0.25])
    frame = on_bars({"stat": stat, "signal": signal}, pd.DataFrame(index=index))
    assert frame.index.equals(index)
    assert list(frame.columns) == ["stat", "signal"]
    assert (frame.dtypes == np.float64).all()
    assert frame._mgr.nblocks == 1  # built once: no per-column blocks to consolidate
    np.testing.assert_array_equal(frame["stat"], [np.nan, 0.5, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(frame["signal"], [0.0, 0.0, 1.0, -1.0, 0.25])


def test_strategy_frame_without_leading_rows_keeps_values_in_place():
    index = pd.RangeIndex(3)
    frame = strategy_frame({"a": [1, 2, 3], "signal": [0.1, -0.2, 0.3]}, index)
    np.testing.assert_array_equal(frame.to_numpy(), [[1, 0.1], [2, -0.2], [3, 0.3]])
