"""YAML configuration files validated by pydantic models, with errors that name the file,
the field path and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from crypto_strategy_lab.core.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


def _format_validation_error(path: Path, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "<root>"
        lines.append(f"{path}: {where}: {item['msg']}")
    return "; ".join(lines)


def load_yaml_config(path: str | Path, model: type[ModelT]) -> ModelT:
    """Read ``path`` and validate it against ``model``.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid YAML, is not a mapping, or breaks the model;
        the message gives the file, the field path (``risk.max_position_size``) and the reason.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or "malformed YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {reason}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None
