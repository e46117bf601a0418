"""YAML configuration files validated by pydantic models.

Errors name the file, the field path and the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from crypto_strategy_lab.config.validators import reject_non_finite
from crypto_strategy_lab.core.errors import ConfigError

ModelT = TypeVar("ModelT", bound=BaseModel)


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping.

    PyYAML (like the YAML 1.1 spec it follows loosely) lets the last duplicate win silently, so
    ``capital: 1000`` followed further down by ``capital: 100000`` would deploy the second
    value without a word. YAML 1.2 requires mapping keys to be unique; we enforce that.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)  # resolve ``<<`` merge keys first, as SafeLoader does
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: let SafeLoader report it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r} (first given at line {seen[key].start_mark.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """Parse the YAML file ``path`` strictly.

    UTF-8 text, no duplicate keys, no NaN or infinity anywhere (``.inf``); an empty file is an
    error.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file.

    Returns
    -------
    Any
        The parsed document (a mapping for every config file of this project).

    Raises
    ------
    ConfigError
        Naming the file and, for a syntax problem, the line and column.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or "malformed YAML"
        raise ConfigError(f"{path}: not valid YAML{where}: {reason}") from None
    if data is None:
        raise ConfigError(f"{path}: the file is empty (expected a mapping with a 'kind' key)")
    try:
        reject_non_finite(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return data


def _format_validation_error(path: Path, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = "".join(f"{part}: " for part in [".".join(str(p) for p in item["loc"])] if part)
        lines.append(f"{path}: {where}{item['msg'].removeprefix('Value error, ')}")
    return "; ".join(lines)


def validate_mapping(path: str | Path, data: Any, model: type[ModelT]) -> ModelT:
    """Validate parsed config ``data`` (from ``path``) against ``model``.

    Parameters
    ----------
    path : str or pathlib.Path
        Where `data` was read from (named in the errors).
    data : Any
        The parsed document.
    model : type of pydantic.BaseModel
        The model it must satisfy.

    Returns
    -------
    pydantic.BaseModel
        An instance of `model`.

    Raises
    ------
    ConfigError
        If `data` is not a mapping or breaks the model; one ``<file>: <field>: <reason>``
        clause per error.
    """
    path = Path(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(path, exc)) from None


def load_yaml_config(path: str | Path, model: type[ModelT]) -> ModelT:
    """Read ``path`` (:func:`read_yaml`) and validate it against ``model``.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file.
    model : type of pydantic.BaseModel
        The model the top-level mapping must satisfy.

    Returns
    -------
    pydantic.BaseModel
        An instance of `model`.

    Raises
    ------
    ConfigError
        When the file is missing, is not valid YAML, is not a mapping, or breaks the model;
        the message gives the file, the field path (``risk.max_position_size``) and the reason.
    """
    return validate_mapping(path, read_yaml(path), model)
