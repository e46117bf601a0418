"""Numerical kernels: pure functions on numpy arrays, each with a one-shot form ``f(x)`` and a
trailing-window form ``rolling_f(x, window, ...)`` (NaN until the window fills).

A flat list of re-exports; each module documents its formula and reference.
"""

from crypto_strategy_lab.stats._windows import (
    StatsInputError,
    as_series,
    check_window,
    constant_windows,
    rolling_lagged_sum,
    rolling_sum,
    sliding_windows,
    window_batches,
)
from crypto_strategy_lab.stats.autocorrelation import (
    AutocorrelationTest,
    LjungBox,
    autocorrelation_test,
    autocorrelations,
    autocovariances,
    ljung_box,
    rolling_autocorrelation_test,
    rolling_autocorrelations,
    rolling_autocovariances,
    rolling_ljung_box,
)

__all__ = [
    "AutocorrelationTest",
    "LjungBox",
    "StatsInputError",
    "as_series",
    "autocorrelation_test",
    "autocorrelations",
    "autocovariances",
    "check_window",
    "constant_windows",
    "ljung_box",
    "rolling_autocorrelation_test",
    "rolling_autocorrelations",
    "rolling_autocovariances",
    "rolling_lagged_sum",
    "rolling_ljung_box",
    "rolling_sum",
    "sliding_windows",
    "window_batches",
]
