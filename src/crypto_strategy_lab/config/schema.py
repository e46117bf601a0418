"""Which pydantic model validates which YAML file.

Every config file names its kind in a top-level ``kind:`` key (``deployment``, ``gate``,
``strategy``); ``csl config validate`` and ``scripts/validate_config.py`` dispatch on it.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import yaml
from pydantic import BaseModel

from crypto_strategy_lab.config.loader import load_yaml_config
from crypto_strategy_lab.core.errors import ConfigError

# kind -> "module:ClassName", imported lazily so that validating one kind of file does not
# import the whole trading stack.
CONFIG_KINDS: dict[str, str] = {
    "deployment": "crypto_strategy_lab.config.deployment:DeploymentConfig",
    "gate": "crypto_strategy_lab.validation.gate:GateConfig",
}


def model_for_kind(kind: str) -> type[BaseModel]:
    try:
        target = CONFIG_KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(CONFIG_KINDS))
        raise ConfigError(f"unknown config kind {kind!r}; known kinds: {known}") from None
    module_name, class_name = target.split(":")
    return getattr(import_module(module_name), class_name)


def validate_config_file(path: str | Path) -> str:
    """Validate ``path`` against the model its ``kind`` names; return the kind."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        data = None  # load_yaml_config below reports the YAML error with its position
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind is None and isinstance(data, dict):
        raise ConfigError(f"{path}: missing top-level 'kind' (one of {', '.join(CONFIG_KINDS)})")
    model = model_for_kind(kind) if kind else BaseModel
    load_yaml_config(path, model)
    return str(kind)
