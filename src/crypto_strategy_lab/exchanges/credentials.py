"""Where a venue's API keys come from, in order of precedence.

1. ``credentials=`` given to the factory (our :class:`Credentials` or a mapping with
   ``api_key`` and ``api_secret``);
2. the environment variables of the brief, chosen by venue and mode
   (``BYBIT_TESTNET_API_KEY``/``_SECRET``, ``BYBIT_LIVE_...``, ``ALPACA_PAPER_API_KEY``/
   ``_SECRET_KEY``, ``ALPACA_LIVE_...``), read through :class:`config.Settings`;
3. the encrypted key vault (when ``CSL_VAULT_PASSPHRASE`` is set and the vault file exists).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crypto_strategy_lab.config.settings import Settings
from crypto_strategy_lab.core.enums import TradingMode
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.security.vault import Credentials, open_default_vault

ENV_NAMES: dict[tuple[str, TradingMode], tuple[str, str]] = {
    ("bybit", TradingMode.TESTNET): ("BYBIT_TESTNET_API_KEY", "BYBIT_TESTNET_API_SECRET"),
    ("bybit", TradingMode.LIVE): ("BYBIT_LIVE_API_KEY", "BYBIT_LIVE_API_SECRET"),
    ("alpaca", TradingMode.PAPER): ("ALPACA_PAPER_API_KEY", "ALPACA_PAPER_SECRET_KEY"),
    ("alpaca", TradingMode.LIVE): ("ALPACA_LIVE_API_KEY", "ALPACA_LIVE_SECRET_KEY"),
}


def resolve_credentials(
    venue: str,
    mode: TradingMode,
    explicit: Credentials | Mapping[str, Any] | None = None,
    settings: Settings | None = None,
) -> Credentials | None:
    """The key pair for ``venue`` in ``mode``, from the first source that has one.

    Parameters
    ----------
    venue : str
        ``bybit`` or ``alpaca``.
    mode : TradingMode
        The trading mode.
    explicit : Credentials or mapping, optional
        Keys given by the caller; used when given.
    settings : Settings, optional
        Environment settings (default: read them now).

    Returns
    -------
    Credentials or None
        `explicit`, else the mode's environment variables (when both are set), else the
        default vault (when it can be opened), else ``None``.

    Raises
    ------
    ConfigError
        If only one of the mode's two variables is set: falling through to the vault would
        trade with keys the user did not mean (the message names both variables, never a
        value).
    """
    if explicit is not None:
        return Credentials.coerce(explicit)
    names = ENV_NAMES.get((venue, mode))
    if names is None:
        return None
    settings = settings or Settings()
    key, secret = (getattr(settings, name) for name in names)
    if key is not None and secret is not None:
        return Credentials(api_key=key, api_secret=secret)
    if (key is None) != (secret is None):
        present, missing = names if secret is None else names[::-1]
        raise ConfigError(f"{present} is set but {missing} is not: set both, or neither")
    vault = open_default_vault()
    if vault is not None:
        return vault.get(venue, mode.value)
    return None
