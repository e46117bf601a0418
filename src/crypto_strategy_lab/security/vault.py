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
* The file is written atomically (temp file + ``os.replace``) with mode 0600. Every change is
  a read-modify-write under an exclusive ``flock`` on ``<vault>.lock``: the file is re-read
  under the lock, so two ``csl keys add`` at once both keep their key.
* A file's header is checked before any key is derived: the scrypt parameters must be within
  :data:`SCRYPT_BOUNDS` (a header asking for n = 2**24 would otherwise cost 16 GiB and hang),
  and every field must have its type; a corrupt file is one :class:`VaultError` line.
* Only the last four characters of the API key are kept in clear (``key_hint``), so
  ``csl keys list`` can tell entries apart without printing a secret.

Location: ``$CSL_VAULT_PATH`` or ``<user config dir>/crypto-strategy-lab/keys.vault``;
passphrase: ``$CSL_VAULT_PASSPHRASE`` or a prompt (CLI).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import secrets as pysecrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from platformdirs import user_config_dir
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from crypto_strategy_lab.core.errors import ConfigError

VAULT_VERSION = 1
DEFAULT_SCRYPT_N = 2**15
VENUE_MODES = {"bybit": ("testnet", "live"), "alpaca": ("paper", "live")}
SCRYPT_BOUNDS = {"n": (2**10, 2**18), "r": (1, 16), "p": (1, 4)}
"""Accepted scrypt parameters of a vault file: at most 128 * n * r = 512 MiB of memory and a few
seconds; RFC 7914 recommends n = 2**15..2**20 with r = 8 for interactive use."""


class VaultError(ConfigError):
    """The vault file is missing, corrupt, or the passphrase is wrong."""


class Credentials(BaseModel):
    """A venue API key pair. Both parts are ``SecretStr`` (hidden in ``repr`` and logs).

    Attributes
    ----------
    api_key, api_secret : SecretStr
        The key and its secret.
    """

    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    api_secret: SecretStr

    @classmethod
    def coerce(cls, value: Credentials | Mapping[str, Any]) -> Credentials:
        """Accept our type or a mapping with ``api_key`` and ``api_secret``.

        Parameters
        ----------
        value : Credentials or mapping
            The key pair.

        Returns
        -------
        Credentials
            `value` itself, or built from the mapping.

        Raises
        ------
        ConfigError
            If `value` is neither.
        """
        if isinstance(value, Credentials):
            return value
        if isinstance(value, Mapping) and {"api_key", "api_secret"} <= set(value):
            return cls(api_key=value["api_key"], api_secret=value["api_secret"])
        raise ConfigError("credentials must be a Credentials or a mapping with api_key, api_secret")

    def secret_values(self) -> list[str]:
        """The plain key and secret, for the log redaction filter.

        Returns
        -------
        list of str
            ``[api_key, api_secret]`` in clear.
        """
        return [self.api_key.get_secret_value(), self.api_secret.get_secret_value()]


class _Kdf(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(pattern="^scrypt$")
    salt: str = Field(min_length=16)
    n: int = Field(ge=SCRYPT_BOUNDS["n"][0], le=SCRYPT_BOUNDS["n"][1])
    r: int = Field(ge=SCRYPT_BOUNDS["r"][0], le=SCRYPT_BOUNDS["r"][1])
    p: int = Field(ge=SCRYPT_BOUNDS["p"][0], le=SCRYPT_BOUNDS["p"][1])

    @field_validator("n")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            raise ValueError("must be a power of two")
        return n


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sealed: str
    key_hint: str
    created_at: str
    rotated_at: str | None


class _VaultFile(BaseModel):
    """The shape of a vault file; checked before the KDF runs."""

    model_config = ConfigDict(extra="forbid", strict=True)

    version: int = Field(ge=VAULT_VERSION, le=VAULT_VERSION)
    kdf: _Kdf
    check: str | None
    entries: dict[str, _Entry]


@dataclass(frozen=True)
class KeyInfo:
    """What ``list`` shows: never the secret, only the last 4 characters of the key."""

    name: str
    key_hint: str
    created_at: str
    rotated_at: str | None


def default_vault_path() -> Path:
    """Where the key vault lives.

    Returns
    -------
    pathlib.Path
        ``CSL_VAULT_PATH`` if set, else ``keys.vault`` in the platform's user config
        directory.
    """
    env = os.environ.get("CSL_VAULT_PATH")
    if env:
        return Path(env).expanduser()
    return Path(user_config_dir("crypto-strategy-lab")) / "keys.vault"


def entry_name(venue: str, mode: str) -> str:
    """The vault slot of a venue and mode.

    Parameters
    ----------
    venue, mode : str
        E.g. ``bybit`` / ``testnet`` (case-insensitive).

    Returns
    -------
    str
        ``venue:mode`` (``bybit:testnet``, ``alpaca:paper``...).

    Raises
    ------
    VaultError
        If the venue has no such mode.
    """
    venue, mode = venue.lower(), mode.lower()
    if venue not in VENUE_MODES or mode not in VENUE_MODES[venue]:
        pairs = ", ".join(f"{v}:{m}" for v, ms in VENUE_MODES.items() for m in ms)
        raise VaultError(f"no key slot {venue}:{mode}; valid slots are {pairs}")
    return f"{venue}:{mode}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


class KeyVault:
    """Passphrase-protected store of venue API keys.

    Parameters
    ----------
    path
        The vault file (created on first :meth:`add`).
    passphrase
        Secret the encryption key is derived from.
    scrypt_n
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
    def _new_file(self) -> dict[str, Any]:
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

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return self._new_file()
        try:
            data = json.loads(self.path.read_bytes().decode("utf-8"))
        except ValueError as exc:  # also UnicodeDecodeError
            raise VaultError(
                f"{self.path}: not a readable key vault ({type(exc).__name__})"
            ) from None
        try:
            return _VaultFile.model_validate(data).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "<file>"
            raise VaultError(
                f"{self.path}: not a readable key vault ({where}: {first['msg']})"
            ) from None

    def _derive(self, kdf: Mapping[str, Any]) -> bytes:
        try:
            salt = _unb64(kdf["salt"])
            scrypt = Scrypt(salt=salt, length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"])
        except (ValueError, binascii.Error):
            raise VaultError(f"{self.path}: not a readable key vault (kdf header)") from None
        return scrypt.derive(self._passphrase)

    def _seal(self, name: str, plaintext: bytes) -> str:
        nonce = pysecrets.token_bytes(12)
        return _b64(nonce + self._aead.encrypt(nonce, plaintext, name.encode()))

    def _open(self, name: str, blob: str) -> bytes:
        try:
            raw = _unb64(blob)
            if len(raw) < 12 + 16:  # nonce + GCM tag
                raise InvalidTag
            return self._aead.decrypt(raw[:12], raw[12:], name.encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise VaultError(f"{self.path}: wrong passphrase or tampered entry {name!r}") from None

    def _check_passphrase(self) -> None:
        """Authenticate the passphrase and every entry now.

        A tampered or corrupt entry is then reported when the vault is opened, whatever the
        command.
        """
        if self._data["check"] is None:
            self._data["check"] = self._seal("check", b"crypto-strategy-lab")
        else:
            self._open("check", self._data["check"])
        for name, entry in self._data["entries"].items():
            self._open(name, entry["sealed"])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on ``<vault>.lock``.

        A sidecar file, because ``_save`` replaces the vault file itself and a lock on a
        replaced inode protects nothing.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _update(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Re-read the file under the lock, apply ``change`` and write it back."""
        with self._locked():
            if self.path.exists():
                current = self._load()
                if current["kdf"] != self._data["kdf"]:  # created by another process meanwhile
                    self._aead = AESGCM(self._derive(current["kdf"]))
                self._data = current
                self._check_passphrase()
            change(self._data)
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._data, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    # ---- public API ----
    def add(
        self, venue: str, mode: str, api_key: str, api_secret: str, *, replace: bool = False
    ) -> None:
        """Store a key pair under ``venue:mode``, sealed with the vault's key.

        Parameters
        ----------
        venue, mode : str
            The slot (:func:`entry_name`).
        api_key, api_secret : str
            The key pair, both non-empty.
        replace : bool, default False
            Replace an existing pair (and require one).

        Raises
        ------
        VaultError
            If the slot is invalid, a part is empty, the slot is taken (without `replace`)
            or empty (with it).
        """
        name = entry_name(venue, mode)
        if not api_key.strip() or not api_secret.strip():
            raise VaultError(f"{name}: the API key and secret must both be non-empty")
        payload = json.dumps({"api_key": api_key, "api_secret": api_secret}).encode()

        def change(data: dict[str, Any]) -> None:
            previous = data["entries"].get(name)
            if previous is not None and not replace:
                raise VaultError(f"{name} already holds a key; use `csl keys rotate` to replace it")
            if previous is None and replace:
                raise VaultError(f"{name} holds no key to rotate; use `csl keys add`")
            now = datetime.now(UTC).isoformat(timespec="seconds")
            data["entries"][name] = {
                "sealed": self._seal(name, payload),
                "key_hint": api_key[-4:],
                "created_at": previous["created_at"] if previous else now,
                "rotated_at": now if previous else None,
            }

        self._update(change)

    def rotate(self, venue: str, mode: str, api_key: str, api_secret: str) -> None:
        """Replace an existing key pair (it must exist).

        Parameters
        ----------
        venue, mode : str
            The slot (:func:`entry_name`).
        api_key, api_secret : str
            The key pair, both non-empty.
        """
        self.add(venue, mode, api_key, api_secret, replace=True)

    def remove(self, venue: str, mode: str) -> None:
        """Delete the key pair of a slot.

        Parameters
        ----------
        venue, mode : str
            The slot.

        Raises
        ------
        VaultError
            If the slot is invalid or holds no key.
        """
        name = entry_name(venue, mode)

        def change(data: dict[str, Any]) -> None:
            if data["entries"].pop(name, None) is None:
                raise VaultError(f"{name} holds no key")

        self._update(change)

    def get(self, venue: str, mode: str) -> Credentials | None:
        """The key pair of a slot.

        Parameters
        ----------
        venue, mode : str
            The slot.

        Returns
        -------
        Credentials or None
            The decrypted pair, or ``None`` when the slot is empty.

        Raises
        ------
        VaultError
            If the slot is invalid or its entry does not decrypt to a key pair.
        """
        name = entry_name(venue, mode)
        entry = self._data["entries"].get(name)
        if entry is None:
            return None
        try:
            payload = json.loads(self._open(name, entry["sealed"]))
            return Credentials(api_key=payload["api_key"], api_secret=payload["api_secret"])
        except (ValueError, KeyError, TypeError, ValidationError):
            raise VaultError(f"{self.path}: entry {name!r} is not a key pair") from None

    def list(self) -> list[KeyInfo]:
        """The stored entries by name.

        Returns
        -------
        list of KeyInfo
            Slot, ``…`` plus the last four characters of the API key, creation and rotation
            times; never a secret.
        """
        return [
            KeyInfo(name, "…" + e["key_hint"], e["created_at"], e["rotated_at"])
            for name, e in sorted(self._data["entries"].items())
        ]


def open_default_vault() -> KeyVault | None:
    """The vault at the default path, when it can be opened without asking.

    Returns
    -------
    KeyVault or None
        The vault when the file exists and ``CSL_VAULT_PASSPHRASE`` is set, else ``None``.

    Raises
    ------
    VaultError
        If the passphrase is wrong or an entry is corrupt (checked on opening).
    """
    path = default_vault_path()
    passphrase = os.environ.get("CSL_VAULT_PASSPHRASE")
    if not path.exists() or not passphrase:
        return None
    return KeyVault(path, passphrase)
