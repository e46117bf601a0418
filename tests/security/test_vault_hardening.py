"""The vault under concurrent writers, corrupt files and hostile headers."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.config.settings import get_settings
from crypto_strategy_lab.security.vault import KeyVault, VaultError

FAST_N = 2**10
SLOTS = [("bybit", "testnet"), ("bybit", "live"), ("alpaca", "paper"), ("alpaca", "live")]


def _csl() -> list[str]:
    return [sys.executable, "-c", "from crypto_strategy_lab.cli.main import main; main()"]


def test_concurrent_cli_adds_keep_every_key(tmp_path):
    """Four `csl keys add` processes at once on one existing vault: all four keys survive
    (before the lock, each process wrote back the entries it had read and the last one won)."""
    vault_path = tmp_path / "keys.vault"
    KeyVault(vault_path, "pass phrase", scrypt_n=FAST_N).add("bybit", "testnet", "seed-0000", "s")
    KeyVault(vault_path, "pass phrase").remove("bybit", "testnet")  # an existing, empty vault
    env = {**os.environ, "CSL_VAULT_PATH": str(vault_path), "CSL_VAULT_PASSPHRASE": "pass phrase"}
    for round_ in range(2):
        procs = [
            subprocess.Popen(
                [*_csl(), "keys", "add", venue, mode],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                start_new_session=True,  # no terminal: the hidden prompts read stdin
            )
            for venue, mode in SLOTS
        ]
        for proc, (venue, mode) in zip(procs, SLOTS, strict=True):
            proc.stdin.write(f"key-{venue}-{mode}-{round_}\nsecret-{venue}-{mode}\n")
            proc.stdin.close()
        outputs = [proc.stdout.read() for proc in procs]
        for proc in procs:
            proc.wait(timeout=120)
        assert all(p.returncode == 0 for p in procs), outputs
        vault = KeyVault(vault_path, "pass phrase")
        stored = {info.name for info in vault.list()}
        assert stored == {f"{v}:{m}" for v, m in SLOTS}, outputs
        for venue, mode in SLOTS:
            key = vault.get(venue, mode).api_key.get_secret_value()
            assert key == f"key-{venue}-{mode}-{round_}"
            vault.remove(venue, mode)


def test_a_vault_created_by_another_process_meanwhile_is_not_overwritten(tmp_path):
    path = tmp_path / "keys.vault"
    first = KeyVault(path, "pass phrase", scrypt_n=FAST_N)  # no file yet
    second = KeyVault(path, "pass phrase", scrypt_n=FAST_N)  # its own fresh salt
    first.add("bybit", "testnet", "key-one-1111", "secret-one")
    second.add("alpaca", "paper", "key-two-2222", "secret-two")
    again = KeyVault(path, "pass phrase")
    assert {i.name for i in again.list()} == {"bybit:testnet", "alpaca:paper"}
    assert again.get("bybit", "testnet").api_secret.get_secret_value() == "secret-one"


def _good_file(tmp_path: Path) -> dict:
    KeyVault(tmp_path / "keys.vault", "pass phrase", scrypt_n=FAST_N).add(
        "bybit", "testnet", "key-AAAA", "secret-value"
    )
    return json.loads((tmp_path / "keys.vault").read_text())


def _corruptions(good: dict) -> dict[str, bytes]:
    def edit(fn) -> bytes:
        data = json.loads(json.dumps(good))
        fn(data)
        return json.dumps(data).encode()

    raw = json.dumps(good).encode()
    return {
        "truncated": raw[: len(raw) // 2],
        "empty": b"",
        "not_json": b"hello vault",
        "not_utf8": b"\xff\xfe{}",
        "top_level_list": b"[1, 2]",
        "kdf_missing": edit(lambda d: d.pop("kdf")),
        "kdf_is_list": edit(lambda d: d.__setitem__("kdf", [1, 2])),
        "n_is_text": edit(lambda d: d["kdf"].__setitem__("n", "big")),
        "n_not_power_of_two": edit(lambda d: d["kdf"].__setitem__("n", 3000)),
        "n_huge": edit(lambda d: d["kdf"].__setitem__("n", 2**24)),
        "r_huge": edit(lambda d: d["kdf"].__setitem__("r", 10**6)),
        "p_zero": edit(lambda d: d["kdf"].__setitem__("p", 0)),
        "salt_not_base64": edit(lambda d: d["kdf"].__setitem__("salt", "!!!!not-base64!!!!")),
        "check_garbage": edit(lambda d: d.__setitem__("check", "AAAA")),
        "check_not_base64": edit(lambda d: d.__setitem__("check", "%%%")),
        "entries_list": edit(lambda d: d.__setitem__("entries", [])),
        "entry_missing_sealed": edit(lambda d: d["entries"]["bybit:testnet"].pop("sealed")),
        "entry_sealed_short": edit(lambda d: d["entries"]["bybit:testnet"].update(sealed="AAAA")),
        "entry_sealed_not_base64": edit(
            lambda d: d["entries"]["bybit:testnet"].update(sealed="*not base64*")
        ),
        "version_2": edit(lambda d: d.__setitem__("version", 2)),
    }


CORRUPTIONS = sorted(_corruptions({"kdf": {}, "entries": {"bybit:testnet": {"sealed": ""}}}).keys())


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_every_corruption_is_one_clear_line(tmp_path, monkeypatch, name):
    """Open, list and get on a corrupt vault: one VaultError from the API, one CLI line."""
    good = _good_file(tmp_path)
    path = tmp_path / "keys.vault"
    path.write_bytes(_corruptions(good)[name])
    with pytest.raises(VaultError, match=r"keys\.vault"):
        KeyVault(path, "pass phrase").get("bybit", "testnet")
    monkeypatch.setenv("CSL_VAULT_PATH", str(path))
    monkeypatch.setenv("CSL_VAULT_PASSPHRASE", "pass phrase")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["keys", "list"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("error:")], result.output


def test_a_huge_scrypt_cost_in_the_header_is_refused_before_deriving(tmp_path, monkeypatch):
    """n = 2**24 would need 16 GiB and minutes: the header check must refuse it without ever
    calling scrypt."""
    good = _good_file(tmp_path)
    good["kdf"]["n"] = 2**24
    path = tmp_path / "keys.vault"
    path.write_text(json.dumps(good))
    import crypto_strategy_lab.security.vault as vault_module

    def no_scrypt(*args, **kwargs):
        raise AssertionError("scrypt must not run for a refused header")

    monkeypatch.setattr(vault_module, "Scrypt", no_scrypt)
    with pytest.raises(VaultError, match=r"kdf\.n"):
        KeyVault(path, "pass phrase")


def test_salt_is_checked_as_base64(tmp_path):
    good = _good_file(tmp_path)
    good["kdf"]["salt"] = base64.b64encode(b"x" * 16).decode() + "!"
    (tmp_path / "keys.vault").write_text(json.dumps(good))
    with pytest.raises(VaultError, match="kdf"):
        KeyVault(tmp_path / "keys.vault", "pass phrase")
