"""Config files: strict YAML (no duplicate keys, no NaN/inf, UTF-8, not empty) and strategy
parameters validated against the strategy's own model when the file is validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto_strategy_lab.config.loader import load_yaml_config, read_yaml
from crypto_strategy_lab.config.schema import validate_config_file
from crypto_strategy_lab.config.validators import (
    finite_number,
    parse_time_zone,
    parse_timestamp,
)
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.engine.deployment import DeploymentConfig

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = (REPO / "configs" / "production.yaml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "c.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",
        "outer:\n  x: 1\n  x: 1\n",  # same value twice is still a typo
        "list:\n  - {k: 1, k: 2}\n",
    ],
)
def test_duplicate_keys_are_refused_at_any_depth(tmp_path, text):
    with pytest.raises(ConfigError, match="duplicate key"):
        read_yaml(_write(tmp_path, text))


def test_duplicate_capital_in_a_deployment_is_refused(tmp_path):
    path = _write(tmp_path, PRODUCTION.replace("capital: 10000", "capital: 1000\ncapital: 99999"))
    with pytest.raises(ConfigError, match=r"duplicate key 'capital' \(first given at line"):
        load_yaml_config(path, DeploymentConfig)


def test_merge_keys_still_work(tmp_path):
    text = "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n"
    assert read_yaml(_write(tmp_path, text))["derived"] == {"x": 1, "y": 2}


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN"])
def test_non_finite_numbers_are_refused_anywhere(tmp_path, value):
    path = _write(tmp_path, f"kind: gate\nnested:\n  - {{limit: {value}}}\n")
    with pytest.raises(ConfigError, match=r"nested\.0\.limit: must be a finite number"):
        read_yaml(path)


def test_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(ConfigError, match="empty"):
        validate_config_file(_write(tmp_path, ""))
    with pytest.raises(ConfigError, match="not UTF-8"):
        validate_config_file(_write(tmp_path, b"kind: gate\nx: \xe9\n"))


@pytest.mark.parametrize("kind", ["[deployment]", "{a: 1}", "42", "null"])
def test_kind_must_be_a_known_name(tmp_path, kind):
    with pytest.raises(ConfigError, match="kind: unknown config kind"):
        validate_config_file(_write(tmp_path, f"kind: {kind}\n"))


def test_strategy_params_are_validated_with_the_config(tmp_path):
    bad = PRODUCTION.replace(
        "    timeframe: 15m\n", "    timeframe: 15m\n    params: {window: abc}\n", 1
    )
    with pytest.raises(ConfigError, match=r"strategies\.0\.params\.window"):
        validate_config_file(_write(tmp_path, bad))
    good = PRODUCTION.replace(
        "    timeframe: 15m\n", "    timeframe: 15m\n    params: {window: 48}\n", 1
    )
    assert validate_config_file(_write(tmp_path, good)) == "deployment"


def test_simulated_venue_is_refused_outside_simulated_mode(tmp_path):
    live = PRODUCTION.replace("mode: simulated ", "mode: live ")
    with pytest.raises(ConfigError, match=r"strategies\.0\.venue: 'simulated' cannot trade"):
        validate_config_file(_write(tmp_path, live))


def test_journal_url_in_a_deployment_is_checked(tmp_path):
    text = PRODUCTION.replace("capital: 10000", "capital: 10000\njournal_url: notaurl")
    with pytest.raises(ConfigError, match="journal_url: not a database URL"):
        validate_config_file(_write(tmp_path, text))


def test_api_construction_refuses_infinite_capital():
    with pytest.raises(ValueError, match="capital"):
        DeploymentConfig.model_validate(
            {
                "name": "x",
                "capital": float("inf"),
                "strategies": [{"name": "lag_autocorr", "venue": "simulated", "symbol": "BTCUSDT"}],
            }
        )


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", float("nan"), "abc", None, True])
def test_finite_number_refuses(value):
    with pytest.raises(ConfigError, match="--x must be a finite number"):
        finite_number(value, "--x")


def test_finite_number_bounds():
    assert finite_number("2.5", "--x", gt=0) == 2.5
    with pytest.raises(ConfigError, match="> 0"):
        finite_number(0, "--x", gt=0)
    assert finite_number(0, "--x", ge=0) == 0


def test_time_zone_and_timestamp_parsing():
    assert str(parse_time_zone("America/New_York", "--tz")) == "America/New_York"
    with pytest.raises(ConfigError, match="--tz: unknown time zone 'Mars/Olympus'"):
        parse_time_zone("Mars/Olympus", "--tz")
    assert parse_timestamp("2024-01-02", "--start") == __import__("pandas").Timestamp(
        "2024-01-02", tz="UTC"
    )
    for text in ("notadate", "", "NaT"):
        with pytest.raises(ConfigError, match="--start: not a date"):
            parse_timestamp(text, "--start")
