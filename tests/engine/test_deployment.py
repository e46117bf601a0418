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
    ],
)
def test_mistakes_name_the_field(tmp_path, change, expected):
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        validate_config_file(_write(tmp_path, **change))
