"""YAML config loading: errors give the file, the field path and the reason."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from crypto_strategy_lab.config import load_yaml_config
from crypto_strategy_lab.core.errors import ConfigError


class Inner(BaseModel):
    max_position_size: float = Field(gt=0, le=1)


class Outer(BaseModel):
    name: str
    risk: Inner


def test_valid_file_loads(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("name: demo\nrisk:\n  max_position_size: 0.1\n")
    assert load_yaml_config(path, Outer).risk.max_position_size == 0.1


def test_field_path_and_reason_in_message(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: demo\nrisk:\n  max_position_size: 3\n")
    with pytest.raises(ConfigError) as info:
        load_yaml_config(path, Outer)
    message = str(info.value)
    assert str(path) in message
    assert "risk.max_position_size" in message
    assert "less than or equal to 1" in message


def test_missing_file_malformed_yaml_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_yaml_config(tmp_path / "nope.yaml", Outer)
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+"):
        load_yaml_config(broken, Outer)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_yaml_config(listy, Outer)
