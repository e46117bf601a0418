"""The deployment config: the shipped example validates; mistakes name their field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crypto_strategy_lab.config.loader import load_yaml_config
from crypto_strategy_lab.config.schema import validate_config_file
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.engine.deployment import DeploymentConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "production.yaml"


def test_shipped_example_validates():
    assert validate_config_file(EXAMPLE) == "deployment"
    config = load_yaml_config(EXAMPLE, DeploymentConfig)
    assert config.monitoring.enabled is False
    assert {s.name for s in config.strategies} >= {"lag_autocorr"}


def _write(tmp_path, **changes):
    data = yaml.safe_load(EXAMPLE.read_text())
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[leaf] = value
    path = tmp_path / "deploy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"risk.max_positon_fraction": 0.1}, "risk.max_positon_fraction"),
        ({"risk.stop_loss_pct": 1.5}, "risk.stop_loss_pct"),
        ({"strategies.0.name": "no_such_strategy"}, "strategies.0.name"),
        ({"capital": -5}, "capital"),
        ({"monitoring.webhook_format": "carrier-pigeon"}, "monitoring.webhook_format"),
        (
            {"strategies.0.stops": {"stop_unit": "atr", "stop_loss": -2, "take_profit": 4}},
            "strategies.0.stops: stop_loss in ATR units must be a number > 0, got -2",
        ),
        (
            {"stops": {"stop_unit": "atr", "stop_loss": 2, "take_profit": 4, "atr_period": 0}},
            "stops.atr_period: Input should be greater than or equal to 1",
        ),
        (
            {"stops": {"stop_loss": 2, "take_profit": 4}},
            "stops: stop_loss in fractions of the entry must be strictly between 0 and 1",
        ),
        (
            {"stops": {"stop_unit": "sigma", "stop_loss": 2, "take_profit": 4}},
            "stops.stop_unit: Input should be 'fraction' or 'atr'",
        ),
    ],
)
def test_mistakes_name_the_field(tmp_path, change, expected):
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        validate_config_file(_write(tmp_path, **change))


def test_each_strategy_trades_its_own_stops_else_the_deployments_else_the_risk_fractions(
    tmp_path,
):
    from crypto_strategy_lab.risk import ProtectiveStops

    atr = {"stop_unit": "atr", "stop_loss": 2, "take_profit": 4, "atr_period": 14}
    own = {"stop_unit": "atr", "stop_loss": 1.5, "take_profit": None, "atr_period": 20}
    cfg = load_yaml_config(
        _write(tmp_path, stops=atr, **{"strategies.1.stops": own}), DeploymentConfig
    )
    assert [cfg.stops_for(a) for a in cfg.strategies[:2]] == [
        ProtectiveStops(**atr),
        ProtectiveStops(**own),
    ]
    plain = load_yaml_config(EXAMPLE, DeploymentConfig)
    assert plain.stops_for(plain.strategies[0]) == ProtectiveStops(
        stop_loss=plain.risk["stop_loss_pct"], take_profit=plain.risk["take_profit_pct"]
    )


def test_a_deployment_gives_each_sleeve_its_stops(tmp_path):
    from crypto_strategy_lab.engine.deploy import build_deployment
    from crypto_strategy_lab.journal import Journal

    atr = {"stop_unit": "atr", "stop_loss": 2, "take_profit": 4, "atr_period": 14}
    path = _write(tmp_path, stops=atr, weighting="equal")
    cfg = load_yaml_config(path, DeploymentConfig).model_copy(
        update={"strategies": load_yaml_config(path, DeploymentConfig).strategies[:1]}
    )
    journal = Journal.open(f"sqlite:///{tmp_path / 'j.sqlite'}")
    try:
        engine, _, _ = build_deployment(journal, cfg, days=1)
        (sleeve,) = engine.sleeves
        assert sleeve.stops == cfg.stops_for(cfg.strategies[0])
        assert sleeve.stops.stop_unit == "atr"
        assert engine.run_config["stops"] == {sleeve.name: sleeve.stops.model_dump(mode="json")}
    finally:
        journal.engine.dispose()
