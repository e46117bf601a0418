"""Environment settings with exactly the brief's variable names.

Secrets are ``SecretStr``: they never appear in ``repr()``, logs or exceptions. A ``.env``
file in the working directory is read too (environment variables win over it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crypto_strategy_lab.config.validators import PositiveFinite, parse_database_url
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.security.redaction import mask_credentials

_SECRET_FIELDS = (
    "BYBIT_TESTNET_API_KEY",
    "BYBIT_TESTNET_API_SECRET",
    "BYBIT_LIVE_API_KEY",
    "BYBIT_LIVE_API_SECRET",
    "ALPACA_PAPER_API_KEY",
    "ALPACA_PAPER_SECRET_KEY",
    "ALPACA_LIVE_API_KEY",
    "ALPACA_LIVE_SECRET_KEY",
)


class Settings(BaseSettings):
    """Environment settings, read from the environment and a ``.env`` file (environment wins).

    Names are case-sensitive and exactly the brief's; unknown variables are ignored. Secrets
    are ``SecretStr`` (never shown by ``repr()``); a blank secret or URL is unset.

    Attributes
    ----------
    BYBIT_TESTNET_API_KEY, BYBIT_TESTNET_API_SECRET : SecretStr or None
        Bybit testnet credentials.
    BYBIT_LIVE_API_KEY, BYBIT_LIVE_API_SECRET : SecretStr or None
        Bybit live credentials.
    ALPACA_PAPER_API_KEY, ALPACA_PAPER_SECRET_KEY : SecretStr or None
        Alpaca paper credentials.
    ALPACA_LIVE_API_KEY, ALPACA_LIVE_SECRET_KEY : SecretStr or None
        Alpaca live credentials.
    DEFAULT_CAPITAL : float, default 10000.0
        Starting capital in account currency, positive and finite.
    MAX_POSITION_SIZE : float, default 0.1
        Per-strategy position cap as a fraction of equity, in (0, 1].
    RISK_FREE_RATE : float, default 0.02
        Annual risk-free rate, in [-0.1, 1].
    CSL_DATA_DIR : pathlib.Path or None
        Root of the market-data store and of the default journal (default: the platform's
        user data directory).
    CSL_JOURNAL_URL : str or None
        SQLAlchemy URL of the journal database (checked to be of a known dialect).
    CSL_BYBIT_BASE_URL, CSL_ALPACA_BASE_URL : str or None
        Venue base URL overrides.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    BYBIT_TESTNET_API_KEY: SecretStr | None = None
    BYBIT_TESTNET_API_SECRET: SecretStr | None = None
    BYBIT_LIVE_API_KEY: SecretStr | None = None
    BYBIT_LIVE_API_SECRET: SecretStr | None = None
    ALPACA_PAPER_API_KEY: SecretStr | None = None
    ALPACA_PAPER_SECRET_KEY: SecretStr | None = None
    ALPACA_LIVE_API_KEY: SecretStr | None = None
    ALPACA_LIVE_SECRET_KEY: SecretStr | None = None

    DEFAULT_CAPITAL: PositiveFinite = 10_000.0
    MAX_POSITION_SIZE: float = Field(default=0.1, gt=0, le=1, allow_inf_nan=False)
    RISK_FREE_RATE: float = Field(default=0.02, ge=-0.1, le=1, allow_inf_nan=False)

    CSL_DATA_DIR: Path | None = None
    CSL_JOURNAL_URL: str | None = None
    CSL_BYBIT_BASE_URL: str | None = None
    CSL_ALPACA_BASE_URL: str | None = None

    @field_validator(*_SECRET_FIELDS, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """``BYBIT_LIVE_API_KEY=`` (an empty or blank line in ``.env``) is no key at all."""
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("CSL_JOURNAL_URL", "CSL_BYBIT_BASE_URL", "CSL_ALPACA_BASE_URL", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("CSL_JOURNAL_URL")
    @classmethod
    def _journal_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_database_url(value, "CSL_JOURNAL_URL")
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("CSL_JOURNAL_URL: ")) from None
        return value

    def secret_values(self) -> list[str]:
        """Every configured secret's plain value, for the log redaction filter.

        Returns
        -------
        list of str
            The non-empty API keys and secrets, and the password inside ``CSL_JOURNAL_URL``
            when it has one.
        """
        values = []
        for name in _SECRET_FIELDS:
            value = getattr(self, name)
            if value is not None and value.get_secret_value():
                values.append(value.get_secret_value())
        if self.CSL_JOURNAL_URL:
            from sqlalchemy.engine import make_url

            password = make_url(self.CSL_JOURNAL_URL).password
            if password:
                values.append(str(password))
        return values

    def shown(self) -> dict[str, str]:
        """Each setting as ``csl config show`` prints it.

        Returns
        -------
        dict of str to str
            Setting name -> shown value: a secret only as ``"set"`` / ``"not set"``, any
            other value as text with URL credentials masked.
        """
        out = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in _SECRET_FIELDS:
                out[name] = "set" if value is not None else "not set"
            else:
                out[name] = mask_credentials(str(value))
        return out


def load_settings() -> Settings:
    """Read the settings from the environment and ``.env``.

    Returns
    -------
    Settings
        A fresh instance.

    Raises
    ------
    ConfigError
        If a value is invalid (naming the variable) or ``.env`` is not UTF-8.
    """
    try:
        return Settings()
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid environment setting: {reasons}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{Path('.env').resolve()}: not UTF-8 text") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once.

    Returns
    -------
    Settings
        The cached :func:`load_settings` (tests build their own ``Settings``).
    """
    return load_settings()
