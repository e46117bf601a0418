"""ExchangeFactory: names, modes, credential sources and base URLs."""

from __future__ import annotations

import pytest

from crypto_strategy_lab.config.settings import Settings
from crypto_strategy_lab.core.errors import AuthenticationError, ConfigError
from crypto_strategy_lab.exchanges import Credentials, ExchangeFactory, TradingMode
from crypto_strategy_lab.exchanges.alpaca.client import AlpacaExchange
from crypto_strategy_lab.exchanges.bybit.client import BybitExchange
from crypto_strategy_lab.security.vault import KeyVault

ENV = (
    "BYBIT_TESTNET_API_KEY",
    "BYBIT_TESTNET_API_SECRET",
    "BYBIT_LIVE_API_KEY",
    "BYBIT_LIVE_API_SECRET",
    "ALPACA_PAPER_API_KEY",
    "ALPACA_PAPER_SECRET_KEY",
    "ALPACA_LIVE_API_KEY",
    "ALPACA_LIVE_SECRET_KEY",
    "CSL_BYBIT_BASE_URL",
    "CSL_ALPACA_BASE_URL",
    "CSL_VAULT_PATH",
    "CSL_VAULT_PASSPHRASE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CSL_VAULT_PATH", str(tmp_path / "absent.vault"))
    monkeypatch.chdir(tmp_path)  # no stray .env file


@pytest.mark.parametrize(
    ("name", "mode", "message"),
    [
        ("bybit", TradingMode.PAPER, "bybit has no paper mode"),
        ("alpaca", TradingMode.TESTNET, "alpaca has no testnet mode"),
        ("simulated", TradingMode.LIVE, "simulated has no live mode"),
        ("kraken", TradingMode.LIVE, "unknown exchange"),
        ("bybit", "moon", "unknown trading mode"),
    ],
)
def test_bad_names_and_modes(name, mode, message) -> None:
    with pytest.raises(ConfigError, match=message):
        ExchangeFactory.create_exchange(name, mode)


def test_missing_keys_name_the_env_vars() -> None:
    with pytest.raises(AuthenticationError, match="BYBIT_LIVE_API_KEY and BYBIT_LIVE_API_SECRET"):
        ExchangeFactory.create_exchange("bybit", TradingMode.LIVE)
    with pytest.raises(AuthenticationError, match="ALPACA_PAPER_SECRET_KEY"):
        ExchangeFactory.create_exchange("alpaca", "paper")


async def test_env_vars_by_mode_and_base_url_from_env(monkeypatch) -> None:
    monkeypatch.setenv("BYBIT_LIVE_API_KEY", "live-key")
    monkeypatch.setenv("BYBIT_LIVE_API_SECRET", "live-secret")
    monkeypatch.setenv("CSL_BYBIT_BASE_URL", "http://127.0.0.1:9")
    exchange = ExchangeFactory.create_exchange("bybit", TradingMode.LIVE)
    assert isinstance(exchange, BybitExchange)
    assert exchange.client.apiKey == "live-key" and exchange.client.secret == "live-secret"
    assert exchange.client.urls["api"]["private"] == "http://127.0.0.1:9"
    await exchange.close()
    with pytest.raises(AuthenticationError):  # testnet keys are separate
        ExchangeFactory.create_exchange("bybit", TradingMode.TESTNET)


async def test_vault_is_a_credential_source(monkeypatch, tmp_path) -> None:
    path = tmp_path / "keys.vault"
    KeyVault(path, "pw", scrypt_n=2**10).add("alpaca", "paper", "vault-key", "vault-secret")
    monkeypatch.setenv("CSL_VAULT_PATH", str(path))
    monkeypatch.setenv("CSL_VAULT_PASSPHRASE", "pw")
    exchange = ExchangeFactory.create_exchange(
        "alpaca", TradingMode.PAPER, base_url="http://127.0.0.1:9"
    )
    assert isinstance(exchange, AlpacaExchange)
    assert exchange.trading._api_key == "vault-key"
    assert exchange.trading._base_url == "http://127.0.0.1:9"
    await exchange.close()


async def test_explicit_credentials_win(monkeypatch) -> None:
    monkeypatch.setenv("BYBIT_TESTNET_API_KEY", "env-key")
    monkeypatch.setenv("BYBIT_TESTNET_API_SECRET", "env-secret")
    creds = Credentials(api_key="arg-key", api_secret="arg-secret")
    exchange = ExchangeFactory.create_exchange(
        "bybit", TradingMode.TESTNET, credentials=creds, settings=Settings()
    )
    assert exchange.client.apiKey == "arg-key"
    await exchange.close()
    with pytest.raises(ConfigError, match="api_key"):
        ExchangeFactory.create_exchange("bybit", TradingMode.TESTNET, credentials={"key": "x"})
