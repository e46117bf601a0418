"""Numerical kernels: pure functions on numpy arrays, one-shot and trailing-window forms.

Each statistic has a one-shot form ``f(x)`` and a trailing-window form
``rolling_f(x, window, ...)`` whose row ``t`` is ``f(x[t - window + 1 : t + 1])`` (NaN until
the window fills).

The package exports the tests' one-shot and rolling forms listed in ``docs/api/index.md``;
result types and helpers are imported from their modules, each of which documents its formula
and reference.
"""

from crypto_strategy_lab.stats._windows import (
    StatsInputError,
    rolling_mean_std,
    rolling_sum,
    sliding_windows,
)
from crypto_strategy_lab.stats.autocorrelation import (
    autocorrelation_test,
    autocorrelations,
    autocovariances,
    ljung_box,
    rolling_autocorrelation_test,
    rolling_autocorrelations,
    rolling_autocovariances,
    rolling_ljung_box,
)
from crypto_strategy_lab.stats.drift import drift_test, newey_west_lags, rolling_drift_test
from crypto_strategy_lab.stats.hurst import (
    expected_rescaled_range,
    hurst_dfa,
    hurst_null_moments,
    hurst_rs,
    rescaled_range,
    rolling_hurst_dfa,
    rolling_hurst_rs,
)
from crypto_strategy_lab.stats.spectral import (
    dominant_peaks,
    fisher_g_pvalue,
    fisher_g_test,
    periodogram,
    rolling_fisher_g,
    rolling_spectral_entropy,
    spectral_entropy,
    spectral_entropy_null_moments,
    welch_psd,
)
from crypto_strategy_lab.stats.variance_ratio import rolling_variance_ratio, variance_ratio

__all__ = [
    "StatsInputError",
    "autocorrelation_test",
    "autocorrelations",
    "autocovariances",
    "dominant_peaks",
    "drift_test",
    "expected_rescaled_range",
    "fisher_g_pvalue",
    "fisher_g_test",
    "hurst_dfa",
    "hurst_null_moments",
    "hurst_rs",
    "ljung_box",
    "newey_west_lags",
    "periodogram",
    "rescaled_range",
    "rolling_autocorrelation_test",
    "rolling_autocorrelations",
    "rolling_autocovariances",
    "rolling_drift_test",
    "rolling_fisher_g",
    "rolling_hurst_dfa",
    "rolling_hurst_rs",
    "rolling_ljung_box",
    "rolling_mean_std",
    "rolling_spectral_entropy",
    "rolling_sum",
    "rolling_variance_ratio",
    "sliding_windows",
    "spectral_entropy",
    "spectral_entropy_null_moments",
    "variance_ratio",
    "welch_psd",
]
