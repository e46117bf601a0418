"""``--param name=value``: strategy parameter overrides, one parser for every command."""

from __future__ import annotations

from typing import Any

import typer
import yaml

from crypto_strategy_lab.core.errors import ConfigError

PARAM = typer.Option([], "--param", help="name=value override (repeatable).")


def parse_value(text: str) -> Any:
    """A YAML scalar (``60``, ``0.05``, ``7d``, ``null``), or the text itself.

    Parameters
    ----------
    text : str
        One ``--param`` value.

    Returns
    -------
    Any
        What ``yaml.safe_load`` makes of it (int, float, bool, None, str, or even a list
        or mapping for ``[1, 2]`` / ``{a: 1}``); ``text`` unchanged when it is not valid YAML.
    """
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def parse_params(pairs: list[str], *, multi: bool = False) -> dict[str, Any]:
    """``name=value`` (``multi``: ``name=v1,v2,...``) options into a dict.

    Parameters
    ----------
    pairs : list of str
        The ``--param`` values.
    multi : bool, default False
        Each value is a comma-separated list (a study's axis).

    Returns
    -------
    dict
        Name -> :func:`parse_value` of the value (a list of them with ``multi``); a name
        given twice keeps its last value.

    Raises
    ------
    ConfigError
        For a pair without ``=``, a name or a value.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ConfigError(f"--param expects name=value, got {pair!r}")
        values = [parse_value(v.strip()) for v in value.split(",")] if multi else None
        out[name.strip()] = values if multi else parse_value(value.strip())
    return out
