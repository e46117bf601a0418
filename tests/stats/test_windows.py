"""The shared trailing-window building blocks, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.stats._windows import StatsInputError, rolling_sum


@pytest.mark.parametrize("window", [0, -3, 2.5, True])
def test_rolling_sum_refuses_a_window_that_is_no_positive_integer(window) -> None:
    # window 0 gave all zeros and a negative one read outside the window: refused instead
    with pytest.raises(StatsInputError, match="window"):
        rolling_sum(np.arange(5.0), window)


def test_rolling_sum_equals_numpy_window_sums() -> None:
    x = np.random.default_rng(0).normal(size=50)
    expected = np.lib.stride_tricks.sliding_window_view(x, 7).sum(axis=1)
    out = rolling_sum(x, 7)
    assert np.isnan(out[:6]).all()
    np.testing.assert_allclose(out[6:], expected, rtol=1e-12, atol=1e-13)
    assert np.isnan(rolling_sum(x, 51)).all()
