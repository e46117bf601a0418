"""The ``csl`` application: one command group per part of the workflow."""

from __future__ import annotations

import logging

import typer

from crypto_strategy_lab import __version__
from crypto_strategy_lab.cli import (
    audit_cmd,
    config_cmd,
    dashboard_cmd,
    data_cmd,
    keys_cmd,
    research_cmd,
    strategies_cmd,
    trading_cmd,
)
from crypto_strategy_lab.cli.errors import GuardedGroup, run_guarded, set_debug, set_secrets
from crypto_strategy_lab.config.settings import get_settings
from crypto_strategy_lab.security.redaction import install_redaction

app = typer.Typer(
    name="csl",
    help="Crypto Strategy Lab: research, validate and trade statistical strategies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=GuardedGroup,  # one-line errors and option checks for every command
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(data_cmd.app, name="data")
app.add_typer(audit_cmd.app, name="audit")
app.command("dashboard")(dashboard_cmd.dashboard)
app.command("strategies")(strategies_cmd.strategies)
trading_cmd.register(app)
research_cmd.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"csl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at INFO level."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Options of every command: tracebacks, log level, version; secrets redacted from logs.
    \f

    Parameters
    ----------
    debug : bool
        ``--debug``: Show full tracebacks on errors.
    verbose : bool
        ``--verbose``: Log at INFO level.
    version : bool
        ``--version``: Show the version.
    """  # noqa: D205, D400
    set_debug(debug)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    secrets = get_settings().secret_values()
    set_secrets(secrets)
    install_redaction(secrets)


def main() -> None:
    """Console-script entry point."""
    run_guarded(app)


if __name__ == "__main__":
    main()
