"""One-line error reporting for every ``csl`` command.

A :class:`~crypto_strategy_lab.core.errors.CSLError` (or a file/permission problem) is printed as
one red line naming the problem and the command exits with status 1; ``--debug`` shows the
full traceback instead.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console

from crypto_strategy_lab.core.errors import CSLError

err_console = Console(stderr=True)

_state = {"debug": False}


def set_debug(flag: bool) -> None:
    _state["debug"] = flag


def is_debug() -> bool:
    return _state["debug"]


def run_guarded(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call ``func``; turn expected errors into one clear line and exit code 1."""
    try:
        return func(*args, **kwargs)
    except (CSLError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        if is_debug():
            raise
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {exc}", highlight=False, soft_wrap=True
        )
        sys.exit(1)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command so that it runs under :func:`run_guarded` (typer still sees the
    command's own signature through ``functools.wraps``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_guarded(func, *args, **kwargs)

    return wrapper
