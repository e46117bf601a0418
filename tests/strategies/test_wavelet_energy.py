"""wavelet_energy strategy: follows trends on persistent returns, fades on anti-persistent."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from crypto_strategy_lab.data.synthetic import ar_bars
from crypto_strategy_lab.strategies import get_strategy
from crypto_strategy_lab.strategies.wavelet_energy.signal import WaveletEnergySignal
from tests.conftest import make_random_walk_bars


def test_defaults_and_validation():
    s = WaveletEnergySignal()
    assert s.params.timeframe == "4h" and s.params.wavelet == "sym4"
    with pytest.raises(ValidationError, match="window"):
        WaveletEnergySignal(window=100, level=5)
    with pytest.raises(ValidationError, match="orthogonal"):
        WaveletEnergySignal(wavelet="bior2.2")


def test_causal_prefix():
    bars = make_random_walk_bars(1200, seed=4)
    s = get_strategy("wavelet_energy")
    full = s.compute(bars)
    for k in (513, 800, 1199):
        assert full.iloc[:k].equals(s.compute(bars.iloc[:k]))


@pytest.mark.parametrize(("phi", "sign"), [(0.3, 1.0), (-0.3, -1.0)])
def test_rule_direction(phi, sign):
    out = get_strategy("wavelet_energy").compute(ar_bars(2000, phi, seed=6)).iloc[513:]
    assert (np.sign(out["tilt_z"]) == sign).mean() > 0.95
    active = out["signal"] != 0
    agree = np.sign(out["signal"][active]) == sign * np.sign(out["smooth"][active])
    assert active.mean() > 0.8 and agree.all()
