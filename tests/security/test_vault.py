"""Encrypted key vault and ``csl keys``."""

from __future__ import annotations

import json
import stat

import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.security.vault import KeyVault, VaultError

FAST_N = 2**10  # scrypt cost for tests (the default 2**15 costs ~0.1 s per open)
SECRET = "very-secret-api-secret-4711"
KEY = "ak-public-key-ABCD"


def make(tmp_path, passphrase: str = "correct horse") -> KeyVault:
    return KeyVault(tmp_path / "keys.vault", passphrase, scrypt_n=FAST_N)


def test_round_trip_file_mode_and_no_plaintext(tmp_path) -> None:
    vault = make(tmp_path)
    vault.add("bybit", "testnet", KEY, SECRET)
    path = tmp_path / "keys.vault"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_text()
    assert SECRET not in raw and KEY not in raw
    again = make(tmp_path)
    creds = again.get("bybit", "testnet")
    assert creds.api_key.get_secret_value() == KEY
    assert creds.api_secret.get_secret_value() == SECRET
    assert SECRET not in repr(creds)
    assert again.get("alpaca", "paper") is None


def test_wrong_passphrase_and_tampering_are_refused(tmp_path) -> None:
    make(tmp_path).add("alpaca", "paper", KEY, SECRET)
    with pytest.raises(VaultError, match="wrong passphrase"):
        make(tmp_path, "wrong")
    path = tmp_path / "keys.vault"
    data = json.loads(path.read_text())
    data["entries"]["alpaca:live"] = data["entries"].pop("alpaca:paper")  # swap slots
    path.write_text(json.dumps(data))
    with pytest.raises(VaultError, match="tampered"):
        make(tmp_path).get("alpaca", "live")


def test_list_remove_rotate_and_slot_names(tmp_path) -> None:
    vault = make(tmp_path)
    vault.add("bybit", "live", KEY, SECRET)
    with pytest.raises(VaultError, match="rotate"):
        vault.add("bybit", "live", KEY, SECRET)
    vault.rotate("bybit", "live", "new-key-WXYZ", "new-secret-value")
    [info] = vault.list()
    assert info.name == "bybit:live" and info.key_hint == "…WXYZ" and info.rotated_at
    assert make(tmp_path).get("bybit", "live").api_secret.get_secret_value() == "new-secret-value"
    vault.remove("bybit", "live")
    assert vault.list() == []
    with pytest.raises(VaultError, match="valid slots"):
        vault.add("bybit", "paper", KEY, SECRET)
    with pytest.raises(VaultError, match="no key to rotate"):
        vault.rotate("alpaca", "paper", KEY, SECRET)


def test_cli_add_list_rotate_remove_never_prints_secrets(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CSL_VAULT_PATH", str(tmp_path / "cli.vault"))
    monkeypatch.setenv("CSL_VAULT_PASSPHRASE", "pass phrase")
    runner = CliRunner()
    added = runner.invoke(app, ["keys", "add", "bybit", "testnet"], input=f"{KEY}\n{SECRET}\n")
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["keys", "list"])
    assert "bybit:testnet" in listed.output and "ABCD" in listed.output
    rotated = runner.invoke(
        app, ["keys", "rotate", "bybit", "testnet"], input="key-2-EFGH\nsecret-2-value\n"
    )
    assert rotated.exit_code == 0
    bad = runner.invoke(app, ["keys", "remove", "alpaca", "paper"])
    assert bad.exit_code == 1 and "holds no key" in bad.output
    removed = runner.invoke(app, ["keys", "remove", "bybit", "testnet"])
    assert removed.exit_code == 0
    for result in (added, listed, rotated, bad, removed):
        assert SECRET not in result.output and "secret-2-value" not in result.output
        assert KEY not in result.output


def test_cli_prompts_for_the_passphrase_twice_on_a_new_vault(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CSL_VAULT_PATH", str(tmp_path / "new.vault"))
    monkeypatch.delenv("CSL_VAULT_PASSPHRASE", raising=False)
    runner = CliRunner()
    typed = "pw-1\npw-1\n" + f"{KEY}\n{SECRET}\n"
    result = runner.invoke(app, ["keys", "add", "alpaca", "paper"], input=typed)
    assert result.exit_code == 0, result.output
    wrong = runner.invoke(app, ["keys", "list"], input="pw-2\n")  # existing vault: asked once
    assert wrong.exit_code == 1 and "wrong passphrase" in " ".join(wrong.output.split())
    assert SECRET not in result.output + wrong.output
