from __future__ import annotations

import math
from pathlib import Path

import pytest

from crypto_strategy_lab.config.schema import validate_config_file
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.validation import (
    GateConfig,
    GateInputs,
    ReturnMoments,
    deflated_sharpe_ratio,
    evaluate_gate,
    load_gate_config,
    min_track_record_length,
)
from crypto_strategy_lab.validation.gate import GateVerdict

REPO = Path(__file__).resolve().parents[2]


def _inputs(**kw) -> GateInputs:
    base = dict(
        strategy="x",
        moments=ReturnMoments(0.09, 2000, -0.5, 6.0),
        n_trials=20,
        sr_variance=0.0005,
        pbo=0.2,
        walk_forward_sharpe=0.05,
    )
    return GateInputs(**{**base, **kw})


def test_verdict_lists_every_criterion_with_value_threshold_and_result() -> None:
    verdict = evaluate_gate(_inputs())
    frame = verdict.to_frame().set_index("criterion")
    assert list(frame.index) == ["dsr", "track_record", "pbo", "walk_forward"]
    dsr = deflated_sharpe_ratio(0.09, 2000, -0.5, 6.0, 20, 0.0005)
    assert frame.loc["dsr", "value"] == pytest.approx(dsr)
    assert frame.loc["dsr", "threshold"] == 0.95
    assert frame.loc["track_record", "threshold"] == pytest.approx(
        min_track_record_length(0.09, 0.0, -0.5, 6.0, 0.05)
    )
    assert frame.loc["pbo", "value"] == 0.2
    assert verdict.passed == bool(dsr >= 0.95) and frame["passed"].all() == verdict.passed
    assert dsr > 0.95 and verdict.passed


def test_failing_strategy_is_reported_failing() -> None:
    verdict = evaluate_gate(_inputs(pbo=0.6, walk_forward_sharpe=-0.01))
    frame = verdict.to_frame().set_index("criterion")
    assert not verdict.passed
    assert not frame.loc["pbo", "passed"] and not frame.loc["walk_forward", "passed"]
    assert frame.loc["dsr", "passed"]
    assert "FAIL" in str(verdict)
    missing = evaluate_gate(_inputs(pbo=None))
    assert not missing.passed and math.isnan(missing.to_frame()["value"].iloc[2])
    short = evaluate_gate(_inputs(moments=ReturnMoments(0.09, 300, -0.5, 6.0)))
    assert not short.to_frame().set_index("criterion").loc["track_record", "passed"]


def test_gate_yaml_is_the_default_and_validates(tmp_path: Path) -> None:
    path = REPO / "configs" / "gate.yaml"
    assert load_gate_config(path) == GateConfig()
    assert validate_config_file(path) == "gate"
    bad = tmp_path / "gate.yaml"
    bad.write_text("kind: gate\nmin_dsr: 1.5\n")
    with pytest.raises(ConfigError, match="min_dsr"):
        load_gate_config(bad)
    strict = GateConfig(criteria=("dsr",), min_dsr=0.99)
    assert [c.name for c in evaluate_gate(_inputs(), strict).criteria] == ["dsr"]


def test_a_gate_without_criteria_is_refused_and_never_passes(tmp_path: Path) -> None:
    empty = tmp_path / "gate.yaml"
    empty.write_text("kind: gate\ncriteria: []\n")
    with pytest.raises(ConfigError, match="criteria") as info:
        load_gate_config(empty)
    assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="at least one criterion"):
        GateConfig(criteria=())
    # a verdict with nothing evaluated (e.g. a stored one) is no evidence either
    assert not GateVerdict("x", ()).passed
    assert "FAIL" in str(GateVerdict("x", ()))
