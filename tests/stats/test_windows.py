"""The shared trailing-window building blocks, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.stats._windows import StatsInputError, rolling_mean_std, rolling_sum


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


def test_rolling_mean_std_is_exact_when_the_mean_dwarfs_the_spread() -> None:
    # mean 1e6, spread 1: the one-pass S2 - S1^2 / w cancels ~12 of 16 digits
    x = 1e6 + np.random.default_rng(1).normal(0.0, 1.0, 5000)
    window = 64
    mean, std = rolling_mean_std(x, window)
    view = np.lib.stride_tricks.sliding_window_view(x, window)
    assert np.isnan(mean[: window - 1]).all() and np.isnan(std[: window - 1]).all()
    np.testing.assert_allclose(mean[window - 1 :], view.mean(axis=1), rtol=1e-13)
    np.testing.assert_allclose(std[window - 1 :], view.std(axis=1, ddof=1), rtol=1e-8)


def test_rolling_mean_std_is_nan_while_a_window_holds_a_non_finite_value() -> None:
    x = np.random.default_rng(2).normal(size=40)
    x[10] = np.nan
    x[25] = np.inf
    mean, std = rolling_mean_std(x, 5)
    for t in range(4, 40):
        window = x[t - 4 : t + 1]
        if np.isfinite(window).all():
            assert mean[t] == pytest.approx(window.mean(), rel=1e-12)
            assert std[t] == pytest.approx(window.std(ddof=1), rel=1e-10)
        else:
            assert np.isnan(mean[t]) and np.isnan(std[t])
