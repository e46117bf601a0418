"""Package names that load on first use (PEP 562 module ``__getattr__``).

``core`` and ``data`` export names whose modules pull in numpy, pandas or DuckDB; a command that
needs only an enum or a help constant must not pay for them, so each package resolves those
names when they are first read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports names on first access.

    Reading ``name`` imports ``package.<names[name]>``; any other name raises
    ``AttributeError``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping of str to str
        Exported name -> submodule that defines it.

    Returns
    -------
    callable
        The ``__getattr__`` to assign in the package (PEP 562).
    """

    def resolve(name: str) -> Any:
        if name in names:
            return getattr(import_module(f"{package}.{names[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return resolve
