"""Gate calibration: false passes on pure noise <= 5 %, power reported for a planted edge."""

from __future__ import annotations

import pytest

from crypto_strategy_lab.validation import GateConfig, calibrate_gate, gate_pass_rate


def test_false_pass_rate_on_noise_families_is_at_most_5_percent() -> None:
    cfg = GateConfig(pbo_splits=8)
    null = gate_pass_rate(n_families=150, n_obs=500, n_configs=10, seed=1, config=cfg)
    assert null.pass_rate <= 0.05
    # each criterion alone passes noise far more often than the gate: they are not vacuous
    assert null.criterion_pass_rates["walk_forward"] > 0.2
    edge = gate_pass_rate(n_families=60, n_obs=500, n_configs=10, edge_sr=0.2, seed=2, config=cfg)
    assert edge.pass_rate > 0.5 > null.pass_rate


@pytest.mark.slow
def test_full_size_calibration() -> None:
    res = calibrate_gate()  # 500 families x 50 configs x 2000 bars, S = 16
    print({k: (v.pass_rate, v.criterion_pass_rates) for k, v in res.items()})
    assert res["false_pass"].pass_rate <= 0.05
    assert res["power"].pass_rate > res["false_pass"].pass_rate
