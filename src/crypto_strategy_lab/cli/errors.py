"""One-line error reporting for every ``csl`` command.

The root group (:class:`GuardedGroup`) runs every command under :func:`run_guarded`, so no
command can forget it:

* a :class:`~crypto_strategy_lab.core.errors.CSLError`, or a known family of input errors
  raised by a library while reading what the user gave (a corrupt Parquet file, a database URL
  SQLAlchemy cannot parse, ...), is printed as one red line naming the problem
  (:func:`~crypto_strategy_lab.config.input_errors.describe_error`), exit status 1;
* a command-line usage error (unknown option, bad value) is one line too, exit status 2.

Anything else is a bug: one line saying so, exit status 70 (``EX_SOFTWARE``). ``--debug``
shows the full traceback instead, for every error.

Options are checked by flag when the app is built (:data:`OPTION_RULES`): every number an
option yields must be finite (``--capital nan``), ``--capital`` and ``--days`` positive
(``--days`` at most :data:`MAX_DAYS`), ``--tz`` a time zone, ``--since/--until/--start/--end``
dates, ``--journal`` a database URL. A new command that uses one of these flags is covered
without a line of its own.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer._click.core import Command, Context, Parameter  # typer vendors its own click
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from crypto_strategy_lab.config import validators
from crypto_strategy_lab.config.input_errors import describe_error
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.security.redaction import redact

err_console = Console(stderr=True)

_state: dict[str, Any] = {"debug": False, "secrets": []}

EXIT_BUG = 70
"""Exit status of an unexpected exception (``EX_SOFTWARE`` of ``sysexits.h``); bad input is 1,
a usage error 2."""


def set_debug(flag: bool) -> None:
    """Show full tracebacks (``csl --debug``) instead of one-line errors.

    Parameters
    ----------
    flag : bool
        True: errors propagate with their traceback; False: one line and an exit status.
    """
    _state["debug"] = flag


def is_debug() -> bool:
    """Whether ``csl --debug`` asked for full tracebacks.

    Returns
    -------
    bool
        The flag last given to :func:`set_debug` (False by default).
    """
    return _state["debug"]


def set_secrets(values: list[str]) -> None:
    """Secret values that must never appear in an error line (the configured keys).

    Parameters
    ----------
    values : list of str
        The secrets; they replace the previous list and are redacted from every error line
        :func:`run_guarded` prints.
    """
    _state["secrets"] = list(values)


def _print_line(text: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)


def run_guarded(func, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call ``func``; turn expected errors into one clear line and a non-zero exit.

    Parameters
    ----------
    func : callable
        The command (or click's ``invoke``).
    *args, **kwargs
        Passed to ``func``.

    Returns
    -------
    Any
        What ``func`` returns.

    Raises
    ------
    SystemExit
        After printing the line: a usage error's own exit code, 1 for an input error
        :func:`~crypto_strategy_lab.config.input_errors.describe_error` names,
        :data:`EXIT_BUG` for any other exception (a bug). Secrets are redacted from the line;
        with ``--debug`` the exception propagates instead. Help, ``typer.Exit`` and
        ``typer.Abort`` pass through untouched.
    """
    try:
        return func(*args, **kwargs)
    except (NoArgsIsHelpError, typer.Exit, typer.Abort):
        raise  # help, a command's own exit status, Ctrl-C at a prompt: typer handles them
    except UsageError as exc:
        if is_debug():
            raise
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        _print_line(redact(" ".join(exc.format_message().split()), _state["secrets"]) + where)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if is_debug():
            raise
        line = describe_error(exc, _state["secrets"])
        if line is None:
            # A bug, not bad input. It is still one line: a traceback printed past CliRunner
            # or a pipe reads as a crash with no message. Its own status (EX_SOFTWARE) keeps it
            # apart from bad input for scripts and for the CLI fuzz test.
            text = " ".join(f"{type(exc).__name__}: {exc}".split())
            _print_line(
                f"internal error (a bug): {redact(text, _state['secrets'])}; "
                "rerun with --debug for the traceback"
            )
            sys.exit(EXIT_BUG)
        _print_line(line)
        sys.exit(1)


def guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command so that it runs under :func:`run_guarded`.

    typer still sees the command's own signature through ``functools.wraps``.

    Parameters
    ----------
    func : callable
        The command function.

    Returns
    -------
    callable
        A wrapper with ``func``'s name, docstring and signature.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_guarded(func, *args, **kwargs)

    return wrapper


# ---- option rules -------------------------------------------------------------------------


def _live_venue(value: str, name: str) -> str:
    from crypto_strategy_lab.exchanges.credentials import ENV_NAMES

    venues = sorted({venue for venue, _ in ENV_NAMES})
    if value not in venues:
        raise ConfigError(f"{name}: unknown venue {value!r}; use {' or '.join(venues)}")
    return value


MAX_DAYS = 36_525
"""Longest ``--days`` (a century): beyond it no pandas ``Timedelta`` holds the span (1e9 days
failed deep in the replay with ``OutOfBoundsTimedelta``), and no bar history is that long."""

OPTION_RULES: dict[str, Callable[[Any, str], Any]] = {
    "--capital": lambda v, n: validators.finite_number(v, n, gt=0),
    "--days": lambda v, n: validators.finite_number(v, n, gt=0, le=MAX_DAYS),
    "--speedup": lambda v, n: validators.finite_number(v, n, ge=0),
    "--journal": validators.parse_database_url,
    "--tz": validators.parse_time_zone,
    "--since": validators.parse_timestamp,
    "--until": validators.parse_timestamp,
    "--start": validators.parse_timestamp,
    "--end": validators.parse_timestamp,
    "--venue": _live_venue,
}
"""Flag -> check ``(value, flag)``, raising ``ConfigError`` naming the flag. The command still
receives the value as typed (the check only vets it)."""


def _check_value(value: Any, flag: str) -> None:
    """Every float an option yields must be finite; then the flag's own rule, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{flag} must be a finite number, got {value!r}")
    rule = OPTION_RULES.get(flag)
    if rule is not None:
        rule(value, flag)


def _install_checks(param: Parameter) -> None:
    previous = param.callback
    flag = next((opt for opt in param.opts if opt.startswith("--")), param.name or "?")

    def callback(ctx: Context, p: Parameter, value: Any) -> Any:
        if previous is not None:
            value = previous(ctx, p, value)
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if item is not None:
                _check_value(item, flag)
        return value

    param.callback = callback


def apply_option_rules(command: Command) -> None:
    """Install the finite-number check and :data:`OPTION_RULES` on ``command``'s parameters.

    Recursively: the parameters of every command below it too.

    Parameters
    ----------
    command : Command
        The command or group; its parameters' callbacks are wrapped in place (a previous
        callback still runs first).
    """
    for sub in getattr(command, "commands", {}).values():
        apply_option_rules(sub)
    for param in command.params:
        _install_checks(param)


def show_flags_as_flags(command: Command) -> None:
    """An empty metavar on every flag of ``command`` and below it, ``--help`` included.

    typer 0.29 shows a flag's type as ``<bool>``, which reads as if it took a value
    (``csl kill --rearm true`` fails); without one the help shows it as what it is.

    Parameters
    ----------
    command : Command
        The command or group, changed in place; a metavar set explicitly is kept.
    """
    for sub in getattr(command, "commands", {}).values():
        show_flags_as_flags(sub)
    # the help option is built on first use and cached on the command: build it now
    help_option = command.get_help_option(Context(command))
    _blank_flag_metavars([*command.params, *([help_option] if help_option is not None else [])])


def _blank_flag_metavars(params: list[Parameter]) -> list[Parameter]:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class GuardedGroup(TyperGroup):
    """The root ``csl`` group.

    Option rules and flags shown as flags on the whole command tree, and every invocation
    (parsing included) under :func:`run_guarded`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        apply_option_rules(self)
        show_flags_as_flags(self)

    def get_params(self, ctx: Context) -> list[Parameter]:
        """The group's parameters, flags shown without a metavar.

        Parameters
        ----------
        ctx : Context
            Click's context of the invocation.

        Returns
        -------
        list of Parameter
            The group's parameters, typer's completion options included, each flag with an
            empty metavar.
        """
        # typer adds --install-completion and --show-completion after the group is built
        return _blank_flag_metavars(super().get_params(ctx))

    def invoke(self, ctx: Context) -> Any:
        """Invoke the command tree under :func:`run_guarded`.

        Parameters
        ----------
        ctx : Context
            Click's context of the invocation.

        Returns
        -------
        Any
            What the invoked command returns.
        """
        return run_guarded(super().invoke, ctx)
