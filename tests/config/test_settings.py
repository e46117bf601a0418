"""Environment settings: the brief's names, defaults, .env support, secrets hidden."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crypto_strategy_lab.config import Settings

BRIEF_NAMES = [
    "BYBIT_TESTNET_API_KEY",
    "BYBIT_TESTNET_API_SECRET",
    "BYBIT_LIVE_API_KEY",
    "BYBIT_LIVE_API_SECRET",
    "ALPACA_PAPER_API_KEY",
    "ALPACA_PAPER_SECRET_KEY",
    "ALPACA_LIVE_API_KEY",
    "ALPACA_LIVE_SECRET_KEY",
    "DEFAULT_CAPITAL",
    "MAX_POSITION_SIZE",
    "RISK_FREE_RATE",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for name in BRIEF_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_from_the_brief():
    s = Settings()
    assert (s.DEFAULT_CAPITAL, s.MAX_POSITION_SIZE, s.RISK_FREE_RATE) == (10_000.0, 0.1, 0.02)
    assert s.BYBIT_TESTNET_API_KEY is None


def test_every_brief_name_is_a_setting():
    assert set(BRIEF_NAMES) <= set(Settings.model_fields)


def test_environment_and_dotenv(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("DEFAULT_CAPITAL=5000\nBYBIT_TESTNET_API_KEY=from-dotenv\n")
    monkeypatch.setenv("DEFAULT_CAPITAL", "7000")  # the environment wins over .env
    s = Settings()
    assert s.DEFAULT_CAPITAL == 7000.0
    assert s.BYBIT_TESTNET_API_KEY.get_secret_value() == "from-dotenv"


def test_secrets_never_in_repr_or_str(monkeypatch):
    monkeypatch.setenv("BYBIT_TESTNET_API_SECRET", "s3cr3t-value-xyz")
    s = Settings()
    assert "s3cr3t-value-xyz" not in repr(s)
    assert "s3cr3t-value-xyz" not in str(s)
    assert "s3cr3t-value-xyz" not in s.model_dump_json()
    assert s.secret_values() == ["s3cr3t-value-xyz"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_POSITION_SIZE", "1.5"), ("DEFAULT_CAPITAL", "-1"), ("DEFAULT_CAPITAL", "lots")],
)
def test_bad_values_name_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name):
        Settings()
