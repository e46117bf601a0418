"""Secret handling: redaction of secrets from every log record, and the encrypted key vault."""

from __future__ import annotations

from crypto_strategy_lab.core.lazy import lazy_getattr

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


__getattr__ = lazy_getattr(__name__, _LAZY)
