"""The domain edges of PSR and MinTRL (cases the mutation run showed were not pinned)."""

from __future__ import annotations

import math

import pytest

from crypto_strategy_lab.validation import min_track_record_length, probabilistic_sharpe_ratio
from crypto_strategy_lab.validation.sharpe import SharpeStatisticsError


@pytest.mark.parametrize("sr", [0.01, 0.0499999, 0.05])
def test_no_track_record_is_long_enough_at_or_below_the_benchmark(sr):
    assert min_track_record_length(sr, 0.05, 0.0, 3.0) == math.inf


def test_min_track_record_length_closed_form_just_above_the_benchmark():
    # Normal returns: 1 + (1 + SR^2/2) (z_0.95 / (SR - SR*))^2 with SR = 0.06, SR* = 0.05.
    z = 1.6448536269514722
    expected = 1.0 + (1.0 + 0.06**2 / 2.0) * (z / 0.01) ** 2
    assert min_track_record_length(0.06, 0.05, 0.0, 3.0) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5, -0.1])
def test_alpha_outside_the_unit_interval_is_refused(alpha):
    with pytest.raises(SharpeStatisticsError, match="alpha"):
        min_track_record_length(0.1, 0.0, 0.0, 3.0, alpha=alpha)


def test_a_non_positive_variance_factor_is_refused():
    # 1 - skew*SR + (kurt-1)/4*SR^2 = 1 - 1.5 + 0.125 = -0.375: the SR's variance would be
    # negative, so neither PSR nor MinTRL exists (a factor in (-1, 0] must not slip through).
    with pytest.raises(SharpeStatisticsError, match="<= 0"):
        probabilistic_sharpe_ratio(0.5, 0.0, 1000, 3.0, 3.0)
    with pytest.raises(SharpeStatisticsError, match="<= 0"):
        min_track_record_length(0.5, 0.0, 3.0, 3.0)
