"""Which pydantic model validates which YAML file.

Every config file names its kind in a top-level ``kind:`` key (``deployment``, ``gate``,
``strategy``); ``csl config validate`` and ``scripts/validate_config.py`` dispatch on it.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from pydantic import BaseModel

from crypto_strategy_lab.config.loader import read_yaml, validate_mapping
from crypto_strategy_lab.core.errors import ConfigError

# kind -> "module:ClassName", imported lazily so that validating one kind of file does not
# import the whole trading stack.
CONFIG_KINDS: dict[str, str] = {
    "deployment": "crypto_strategy_lab.engine.deployment:DeploymentConfig",
    "gate": "crypto_strategy_lab.validation.gate:GateConfig",
}


def model_for_kind(kind: object) -> type[BaseModel]:
    """The pydantic model of a config file's ``kind`` (imported on demand).

    Parameters
    ----------
    kind : object
        The file's ``kind`` value.

    Returns
    -------
    type of pydantic.BaseModel
        The model ``CONFIG_KINDS`` names.

    Raises
    ------
    ConfigError
        If `kind` is not one of ``CONFIG_KINDS``.
    """
    known = ", ".join(sorted(CONFIG_KINDS))
    if not isinstance(kind, str) or kind not in CONFIG_KINDS:
        raise ConfigError(f"kind: unknown config kind {kind!r}; known kinds: {known}")
    target = CONFIG_KINDS[kind]
    module_name, class_name = target.split(":")
    return getattr(import_module(module_name), class_name)


def validate_config_file(path: str | Path) -> str:
    """Validate ``path`` against the model its ``kind`` names.

    Parameters
    ----------
    path : str or pathlib.Path
        A YAML config file with a top-level ``kind``.

    Returns
    -------
    str
        The kind.

    Raises
    ------
    ConfigError
        If the file is unreadable, has no or an unknown ``kind``, or breaks its model.
    """
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    if "kind" not in data:
        raise ConfigError(f"{path}: missing top-level 'kind' (one of {', '.join(CONFIG_KINDS)})")
    try:
        model = model_for_kind(data["kind"])
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    validate_mapping(path, data, model)
    return str(data["kind"])
