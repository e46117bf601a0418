"""Causal MODWT vs PyWavelets' stationary transform; energy identity; rolling == one-shot;
white-noise shares 2^-j; tilt power and size."""

from __future__ import annotations

import numpy as np
import pytest
import pywt

from crypto_strategy_lab.data.synthetic import ar_returns
from crypto_strategy_lab.stats._windows import StatsInputError
from crypto_strategy_lab.stats.wavelets import (
    causal_modwt,
    energy_shares,
    filter_length,
    rolling_wavelet_variance,
    wavelet_tilt,
    wavelet_variance,
)


@pytest.mark.parametrize("wavelet", ["haar", "db2", "sym4"])
def test_coefficients_equal_pywt_swt_up_to_its_circular_shift(rng, wavelet):
    n, level = 256, 3
    x = rng.standard_normal(n)
    swt = pywt.swt(x, wavelet, level=level, trim_approx=True, norm=True)  # [A_J, D_J..D_1]
    # energy identity of the undecimated, normalised transform
    assert sum((c**2).sum() for c in swt) == pytest.approx((x**2).sum(), rel=1e-12)
    # ours on the periodically extended series, in one period, equals pywt shifted by its
    # centring delay (L/2)(2^j - 1)
    ours = causal_modwt(np.tile(x, 3), wavelet, level)[:, n : 2 * n]
    half = pywt.Wavelet(wavelet).dec_len // 2
    for j in range(1, level + 1):
        shift = half * (2**j - 1)
        np.testing.assert_allclose(ours[j - 1], np.roll(swt[level - j + 1], shift), atol=1e-12)
    np.testing.assert_allclose(ours[level], np.roll(swt[0], half * (2**level - 1)), atol=1e-12)


def test_causal_coefficients_only_see_the_past(rng):
    x = rng.standard_normal(600)
    full = causal_modwt(x, "sym4", 4)
    part = causal_modwt(x[:400], "sym4", 4)
    np.testing.assert_array_equal(part, full[:, :400])
    assert np.isnan(full[3, : filter_length("sym4", 4) - 1]).all()


def test_rolling_equals_one_shot(rng):
    x = rng.standard_normal(2000)
    out = rolling_wavelet_variance(x, 512, "sym4", 4)
    assert np.isnan(out[:511]).all()
    for t in range(511, 2000, 97):
        np.testing.assert_allclose(
            out[t], wavelet_variance(x[t - 511 : t + 1], "sym4", 4), rtol=1e-10
        )


def test_white_noise_shares_are_powers_of_two(rng):
    shares = energy_shares(wavelet_variance(rng.standard_normal(200_000), "sym4", 4))
    np.testing.assert_allclose(shares, [1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 16], atol=0.006)


def test_tilt_power_on_ar():
    trend = [
        wavelet_tilt(wavelet_variance(ar_returns(512, 0.3, seed=s), "sym4", 4), 512)[1]
        for s in range(30)
    ]
    revert = [
        wavelet_tilt(wavelet_variance(ar_returns(512, -0.3, seed=s), "sym4", 4), 512)[1]
        for s in range(30)
    ]
    assert np.mean(np.array(trend) > 1.96) >= 0.9
    assert np.mean(np.array(revert) < -1.96) >= 0.9


def test_tilt_size_on_iid_noise():
    z = np.array(
        [
            wavelet_tilt(
                wavelet_variance(np.random.default_rng(s).standard_normal(512), "sym4", 4), 512
            )[1]
            for s in range(400)
        ]
    )
    # conservative by construction (EDOF bound): measured ~1.6% at 5%, sd(z) ~0.83
    rate = (np.abs(z) > 1.96).mean()
    assert 0.003 <= rate <= 0.07
    assert abs(z.mean()) < 0.15


def test_bad_input():
    with pytest.raises(StatsInputError, match="too short"):
        wavelet_variance(np.ones(50), "sym4", 4)
    with pytest.raises(StatsInputError, match="unknown wavelet"):
        causal_modwt(np.ones(50), "nope", 2)
    with pytest.raises(StatsInputError, match="not orthogonal"):
        causal_modwt(np.ones(50), "bior2.2", 2)
