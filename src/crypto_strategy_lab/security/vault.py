"""Encrypted API-key vault: one file, every secret sealed with AES-256-GCM.

Design
------
* Key derivation: ``key = scrypt(passphrase, salt, n=2**15, r=8, p=1, dklen=32)``
  (C. Percival, *Stronger key derivation via sequential memory-hard functions*, 2009;
  RFC 7914). ``n, r, p`` and the 16-byte random salt are stored in the file header, so the
  cost can be raised later without breaking old files.
* Each entry (``venue:mode``, e.g. ``bybit:testnet``) is sealed as one AES-GCM message
  with a fresh 12-byte nonce and the entry name as associated data, so an attacker cannot
  swap ciphertexts between entries unnoticed. A wrong passphrase fails authentication and
  raises :class:`VaultError` (never a partial result).
* The file is written atomically (temp file + ``os.replace``) with mode 0600.
* Only the last four characters of the API key are kept in clear (``key_hint``), so
  ``csl keys list`` can tell entries apart without printing a secret.

Location: ``$CSL_VAULT_PATH`` or ``<user config dir>/crypto-strategy-lab/keys.vault``;
passphrase: ``$CSL_VAULT_PASSPHRASE`` or a prompt (CLI).
"""

from __future__ import annotations

import base64
import json
import os
import secrets as pysecrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from platformdirs import user_config_dir
from pydantic import BaseModel, ConfigDict, SecretStr

from crypto_strategy_lab.core.errors import ConfigError

VAULT_VERSION = 1
DEFAULT_SCRYPT_N = 2**15
VENUE_MODES = {"bybit": ("testnet", "live"), "alpaca": ("paper", "live")}


class VaultError(ConfigError):
    """The vault file is missing, corrupt, or the passphrase is wrong."""


class Credentials(BaseModel):
    """A venue API key pair. Both parts are ``SecretStr`` (hidden in ``repr`` and logs)."""

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    api_secret: SecretStr

    @classmethod
    def coerce(cls, value: Credentials | Mapping[str, Any]) -> Credentials:
        """Accept our type or a mapping with ``api_key`` and ``api_secret``."""
        if isinstance(value, Credentials):
            return value
        if isinstance(value, Mapping) and {"api_key", "api_secret"} <= set(value):
            return cls(api_key=value["api_key"], api_secret=value["api_secret"])
        raise ConfigError("credentials must be a Credentials or a mapping with api_key, api_secret")

    def secret_values(self) -> list[str]:
        return [self.api_key.get_secret_value(), self.api_secret.get_secret_value()]


@dataclass(frozen=True)
class KeyInfo:
    """What ``list`` shows: never the secret, only the last 4 characters of the key."""

    name: str
    key_hint: str
    created_at: str
    rotated_at: str | None


def default_vault_path() -> Path:
    env = os.environ.get("CSL_VAULT_PATH")
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir("crypto-strategy-lab")) / "keys.vault"


def entry_name(venue: str, mode: str) -> str:
    """``venue:mode`` after checking the pair exists (``bybit:testnet``, ``alpaca:paper``...)."""
    venue, mode = venue.lower(), mode.lower()
    if venue not in VENUE_MODES or mode not in VENUE_MODES[venue]:
        pairs = ", ".join(f"{v}:{m}" for v, ms in VENUE_MODES.items() for m in ms)
        raise VaultError(f"no key slot {venue}:{mode}; valid slots are {pairs}")
    return f"{venue}:{mode}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


class KeyVault:
    """Passphrase-protected store of venue API keys.

    Parameters
    ----------
    path:
        The vault file (created on first :meth:`add`).
    passphrase:
        Secret the encryption key is derived from.
    scrypt_n:
        scrypt CPU/memory cost for a *new* vault (tests lower it; files keep their own).
    """

    def __init__(
        self, path: str | Path, passphrase: str, *, scrypt_n: int = DEFAULT_SCRYPT_N
    ) -> None:
        if not passphrase:
            raise VaultError("the vault passphrase is empty")
        self.path = Path(path)
        self._passphrase = passphrase.encode()
        self._scrypt_n = scrypt_n
        self._data = self._load()
        self._aead = AESGCM(self._derive(self._data["kdf"]))
        self._check_passphrase()

    # ---- file format ----
    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {
                "version": VAULT_VERSION,
                "kdf": {
                    "name": "scrypt",
                    "salt": _b64(pysecrets.token_bytes(16)),
                    "n": self._scrypt_n,
                    "r": 8,
                    "p": 1,
                },
                "check": None,
                "entries": {},
            }
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != VAULT_VERSION or data["kdf"]["name"] != "scrypt":
                raise VaultError(f"{self.path}: unsupported vault format")
            return data
        except (ValueError, KeyError, TypeError) as exc:
            raise VaultError(
                f"{self.path}: not a readable key vault ({type(exc).__name__})"
            ) from None

    def _derive(self, kdf: Mapping[str, Any]) -> bytes:
        return Scrypt(
            salt=_unb64(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]
        ).derive(self._passphrase)

    def _seal(self, name: str, plaintext: bytes) -> str:
        nonce = pysecrets.token_bytes(12)
        return _b64(nonce + self._aead.encrypt(nonce, plaintext, name.encode()))

    def _open(self, name: str, blob: str) -> bytes:
        raw = _unb64(blob)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], name.encode())
        except InvalidTag:
            raise VaultError(f"{self.path}: wrong passphrase or tampered entry {name!r}") from None

    def _check_passphrase(self) -> None:
        if self._data["check"] is None:
            self._data["check"] = self._seal("check", b"crypto-strategy-lab")
        else:
            self._open("check", self._data["check"])

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._data, fh, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    # ---- public API ----
    def add(
        self, venue: str, mode: str, api_key: str, api_secret: str, *, replace: bool = False
    ) -> None:
        """Store a key pair under ``venue:mode``; refuses to overwrite unless ``replace``."""
        name = entry_name(venue, mode)
        if not api_key or not api_secret:
            raise VaultError(f"{name}: the API key and secret must both be non-empty")
        if name in self._data["entries"] and not replace:
            raise VaultError(f"{name} already holds a key; use `csl keys rotate` to replace it")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        previous = self._data["entries"].get(name)
        payload = json.dumps({"api_key": api_key, "api_secret": api_secret}).encode()
        self._data["entries"][name] = {
            "sealed": self._seal(name, payload),
            "key_hint": api_key[-4:],
            "created_at": previous["created_at"] if previous else now,
            "rotated_at": now if previous else None,
        }
        self._save()

    def rotate(self, venue: str, mode: str, api_key: str, api_secret: str) -> None:
        """Replace an existing key pair (it must exist)."""
        name = entry_name(venue, mode)
        if name not in self._data["entries"]:
            raise VaultError(f"{name} holds no key to rotate; use `csl keys add`")
        self.add(venue, mode, api_key, api_secret, replace=True)

    def remove(self, venue: str, mode: str) -> None:
        name = entry_name(venue, mode)
        if self._data["entries"].pop(name, None) is None:
            raise VaultError(f"{name} holds no key")
        self._save()

    def get(self, venue: str, mode: str) -> Credentials | None:
        """The key pair for ``venue:mode``, or ``None`` when the slot is empty."""
        name = entry_name(venue, mode)
        entry = self._data["entries"].get(name)
        if entry is None:
            return None
        payload = json.loads(self._open(name, entry["sealed"]))
        return Credentials(api_key=payload["api_key"], api_secret=payload["api_secret"])

    def list(self) -> list[KeyInfo]:
        return [
            KeyInfo(name, "…" + e["key_hint"], e["created_at"], e["rotated_at"])
            for name, e in sorted(self._data["entries"].items())
        ]


def open_default_vault() -> KeyVault | None:
    """The vault at the default path when it exists and ``CSL_VAULT_PASSPHRASE`` is set."""
    path = default_vault_path()
    passphrase = os.environ.get("CSL_VAULT_PASSPHRASE")
    if not path.exists() or not passphrase:
        return None
    return KeyVault(path, passphrase)
