"""Settings: blank keys are no keys, URL credentials never shown, bad values named."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.config.settings import Settings, get_settings, load_settings
from crypto_strategy_lab.core.enums import TradingMode
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.exchanges.credentials import ENV_NAMES, resolve_credentials
from crypto_strategy_lab.security.redaction import install_redaction, mask_credentials

PASSWORD = "hunter2-journal-pw"
TELEGRAM = "https://api.telegram.org/bot123456789:AAE-secretToken_xyz/sendMessage"


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("CSL_VAULT_PASSPHRASE", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(("venue", "mode"), sorted(ENV_NAMES))
@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_key_variables_are_not_keys(monkeypatch, venue, mode, blank):
    key, secret = ENV_NAMES[(venue, mode)]
    monkeypatch.setenv(key, blank)
    monkeypatch.setenv(secret, blank)
    settings = Settings()
    assert getattr(settings, key) is None and getattr(settings, secret) is None
    assert resolve_credentials(venue, TradingMode(mode), None, settings) is None


def test_blank_keys_in_dotenv_are_not_keys(tmp_path):
    (tmp_path / ".env").write_text("BYBIT_LIVE_API_KEY=\nBYBIT_LIVE_API_SECRET=\n")
    settings = Settings()
    assert settings.BYBIT_LIVE_API_KEY is None and settings.BYBIT_LIVE_API_SECRET is None
    assert resolve_credentials("bybit", TradingMode.LIVE, None, settings) is None


def test_config_show_masks_url_credentials(monkeypatch):
    monkeypatch.setenv("CSL_JOURNAL_URL", f"postgresql+psycopg://csl:{PASSWORD}@db:5432/journal")
    monkeypatch.setenv("BYBIT_TESTNET_API_KEY", "the-testnet-key-1234")
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert "the-testnet-key-1234" not in result.output
    assert "postgresql+psycopg://csl:***@db:5432/journal" in result.output


def test_journal_password_is_redacted_from_logs(monkeypatch, caplog):
    monkeypatch.setenv("CSL_JOURNAL_URL", f"postgresql+psycopg://csl:{PASSWORD}@db/j")
    install_redaction(load_settings().secret_values())
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.lib").info("connected, password %s", PASSWORD)
        logging.getLogger("some.lib").info("posting to %s", TELEGRAM)
    assert PASSWORD not in caplog.text
    assert "AAE-secretToken_xyz" not in caplog.text
    assert "api.telegram.org/bot***/sendMessage" in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:p4ss@h/db", "postgresql://u:***@h/db"),
        ("sqlite:////tmp/j.sqlite", "sqlite:////tmp/j.sqlite"),
        (TELEGRAM, "https://api.telegram.org/bot***/sendMessage"),
        ("https://hooks.slack.com/services/T0/B0/XyZ", "https://hooks.slack.com/services/***"),
        ("https://discord.com/api/webhooks/42/tok-EN", "https://discord.com/api/webhooks/42/***"),
        ("https://h/x?token=abc&chat=1", "https://h/x?token=***&chat=1"),
    ],
)
def test_mask_credentials(url, shown):
    assert mask_credentials(url) == shown


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_CAPITAL", "inf"),
        ("DEFAULT_CAPITAL", "nan"),
        ("DEFAULT_CAPITAL", "-5"),
        ("MAX_POSITION_SIZE", "nan"),
        ("CSL_JOURNAL_URL", "notaurl"),
        ("CSL_JOURNAL_URL", "nosuchdb://x"),
    ],
)
def test_bad_environment_values_name_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_a_bad_journal_url_error_does_not_echo_its_password(monkeypatch):
    monkeypatch.setenv("CSL_JOURNAL_URL", f"nosuchdb://csl:{PASSWORD}@host/db")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert PASSWORD not in str(info.value)


def test_dotenv_that_is_not_utf8_is_one_line(tmp_path):
    (tmp_path / ".env").write_bytes(b"DEFAULT_CAPITAL=\xff\n")
    with pytest.raises(ConfigError, match=r"\.env: not UTF-8"):
        load_settings()


@pytest.mark.parametrize(("venue", "mode"), sorted(ENV_NAMES))
@pytest.mark.parametrize("half", [0, 1])
def test_half_a_key_pair_in_the_environment_is_one_clear_error(monkeypatch, venue, mode, half):
    # a lone key (or secret) must not fall through to the vault's keys silently
    names = ENV_NAMES[(venue, mode)]
    present, missing = names[half], names[1 - half]
    monkeypatch.setenv(present, "lone-value-that-must-not-show-9876")
    monkeypatch.delenv(missing, raising=False)
    with pytest.raises(ConfigError) as info:
        resolve_credentials(venue, TradingMode(mode), None, Settings())
    message = str(info.value)
    assert missing in message and present in message and "\n" not in message
    assert "lone-value-that-must-not-show-9876" not in message
