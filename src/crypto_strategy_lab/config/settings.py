"""Environment settings with exactly the brief's variable names.

Secrets are ``SecretStr``: they never appear in ``repr()``, logs or exceptions. A ``.env``
file in the working directory is read too (environment variables win over it).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from crypto_strategy_lab.core.errors import ConfigError


class Settings(BaseSettings):
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

    DEFAULT_CAPITAL: float = Field(default=10_000.0, gt=0)
    MAX_POSITION_SIZE: float = Field(default=0.1, gt=0, le=1)
    RISK_FREE_RATE: float = Field(default=0.02, ge=-0.1, le=1)

    CSL_DATA_DIR: Path | None = None
    CSL_JOURNAL_URL: str | None = None
    CSL_BYBIT_BASE_URL: str | None = None
    CSL_ALPACA_BASE_URL: str | None = None

    def secret_values(self) -> list[str]:
        """Every configured secret's plain value (for the log redaction filter)."""
        values = []
        for name, field in type(self).model_fields.items():
            if field.annotation in (SecretStr, SecretStr | None):
                value = getattr(self, name)
                if value is not None and value.get_secret_value():
                    values.append(value.get_secret_value())
        return values


def load_settings() -> Settings:
    """Read the settings; an invalid value raises :class:`ConfigError` naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid environment setting: {reasons}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; tests build their own ``Settings``)."""
    return load_settings()
