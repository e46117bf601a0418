"""``csl config``: validate configuration files and show the effective settings."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from crypto_strategy_lab.config.settings import load_settings

app = typer.Typer(help="Validate configuration files and show settings.", no_args_is_help=True)
console = Console()


@app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="YAML config file (deployment or strategy config)."),
) -> None:
    """Validate a YAML config file; print the field path and reason of every problem.
    \f

    Parameters
    ----------
    file : Path
        ``FILE`` (argument): YAML config file (deployment or strategy config).
    """  # noqa: D205, D400
    from crypto_strategy_lab.config.schema import validate_config_file

    kind = validate_config_file(file)
    console.print(f"[green]ok[/]: {file} is a valid {kind} config")


@app.command("check")
def check(
    files: list[Path] = typer.Argument(
        None, help="YAML files to validate (default: every configs/*.yaml)."
    ),
) -> None:
    """Check the environment settings and config files; exit 1 on the first problem.
    \f

    Parameters
    ----------
    files : list of Path
        ``FILES`` (argument): YAML files to validate (default: every configs/*.yaml).
    """  # noqa: D205, D400
    from crypto_strategy_lab.config.schema import validate_config_file

    load_settings()
    console.print("[green]ok[/]: environment settings")
    targets = files or sorted(Path("configs").glob("*.yaml"))
    for file in targets:
        kind = validate_config_file(file)
        console.print(f"[green]ok[/]: {file} ({kind})")


@app.command("show")
def show() -> None:
    """Show the effective settings.

    Secrets show only whether they are set; URLs show without their credentials.
    """
    table = Table("setting", "value")
    for name, shown in load_settings().shown().items():
        table.add_row(name, shown)
    console.print(table)
