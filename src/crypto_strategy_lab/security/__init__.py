"""Secret handling: redaction of secrets from every log record, and the encrypted key vault."""

from __future__ import annotations

from typing import Any

# Names load on first use: the vault pulls in cryptography, which a command that only
# installs log redaction (every ``csl`` command) must not pay for.
_LAZY = {
    "AuditEvent": "audit_log",
    "AuditLog": "audit_log",
    "AuditSink": "audit_log",
    "JsonlAuditSink": "audit_log",
    "RedactingFilter": "redaction",
    "install_redaction": "redaction",
    "redact": "redaction",
    "Credentials": "vault",
    "KeyVault": "vault",
    "VaultError": "vault",
}

__all__ = [*_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"crypto_strategy_lab.security.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'crypto_strategy_lab.security' has no attribute {name!r}")
