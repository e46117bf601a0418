"""``csl keys``: manage venue API keys in the encrypted vault.

The passphrase comes from ``CSL_VAULT_PASSPHRASE`` or a hidden prompt; secrets are read from
hidden prompts (never from command-line arguments, which end up in shell history and ``ps``).
``list`` shows only the last four characters of each key.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # cryptography loads in the commands that open the vault
    from crypto_strategy_lab.security.vault import KeyVault

app = typer.Typer(
    help="Store venue API keys encrypted at rest (scrypt + AES-GCM).", no_args_is_help=True
)
console = Console()


def _open_vault() -> KeyVault:
    from crypto_strategy_lab.security.vault import KeyVault, default_vault_path

    path = default_vault_path()
    passphrase = os.environ.get("CSL_VAULT_PASSPHRASE") or typer.prompt(
        "Vault passphrase",
        hide_input=True,
        confirmation_prompt=not path.exists(),  # a new vault: type it twice
    )
    return KeyVault(path, passphrase)


def _read_pair(venue: str, mode: str) -> tuple[str, str]:
    from crypto_strategy_lab.security.vault import entry_name

    entry_name(venue, mode)  # fail on a bad slot before asking for secrets
    api_key = typer.prompt(f"{venue} {mode} API key", hide_input=True)
    api_secret = typer.prompt(f"{venue} {mode} API secret", hide_input=True)
    return api_key, api_secret


@app.command("add")
def add(
    venue: str = typer.Argument(..., help="bybit or alpaca"),
    mode: str = typer.Argument(..., help="bybit: testnet|live; alpaca: paper|live"),
) -> None:
    """Add a key pair (refuses to overwrite; use rotate).
    \f

    Parameters
    ----------
    venue : str
        ``VENUE`` (argument): ``bybit`` or ``alpaca``.
    mode : str
        ``MODE`` (argument): ``testnet`` or ``live`` for Bybit, ``paper`` or ``live`` for
        Alpaca. The key and secret are then read from hidden prompts.
    """  # noqa: D205, D400
    from crypto_strategy_lab.security.vault import entry_name

    vault = _open_vault()
    vault.add(venue, mode, *_read_pair(venue, mode))
    console.print(f"stored {entry_name(venue, mode)} in {vault.path}")


@app.command("rotate")
def rotate(venue: str = typer.Argument(...), mode: str = typer.Argument(...)) -> None:
    """Replace an existing key pair.
    \f

    Parameters
    ----------
    venue : str
        ``VENUE`` (argument): ``bybit`` or ``alpaca``.
    mode : str
        ``MODE`` (argument): the key pair's mode, as given to ``csl keys add``.
    """  # noqa: D205, D400
    from crypto_strategy_lab.security.vault import entry_name

    vault = _open_vault()
    vault.rotate(venue, mode, *_read_pair(venue, mode))
    console.print(f"rotated {entry_name(venue, mode)}")


@app.command("remove")
def remove(venue: str = typer.Argument(...), mode: str = typer.Argument(...)) -> None:
    """Delete a key pair.
    \f

    Parameters
    ----------
    venue : str
        ``VENUE`` (argument): ``bybit`` or ``alpaca``.
    mode : str
        ``MODE`` (argument): the key pair's mode, as given to ``csl keys add``.
    """  # noqa: D205, D400
    from crypto_strategy_lab.security.vault import entry_name

    _open_vault().remove(venue, mode)
    console.print(f"removed {entry_name(venue, mode)}")


@app.command("list")
def list_keys() -> None:
    """Show stored slots (key hint only, never a secret)."""
    infos = _open_vault().list()
    table = Table("slot", "key", "created", "rotated")
    for info in infos:
        table.add_row(info.name, info.key_hint, info.created_at, info.rotated_at or "-")
    console.print(table if infos else "the vault is empty")
