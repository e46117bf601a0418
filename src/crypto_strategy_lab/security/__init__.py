"""Secret handling: redaction of secrets from every log record, and the encrypted key vault."""

from crypto_strategy_lab.security.audit_log import AuditEvent, AuditLog, AuditSink, JsonlAuditSink
from crypto_strategy_lab.security.redaction import RedactingFilter, install_redaction, redact
from crypto_strategy_lab.security.vault import Credentials, KeyVault, VaultError

__all__ = [
    "AuditEvent",
    "AuditLog",
    "AuditSink",
    "Credentials",
    "JsonlAuditSink",
    "KeyVault",
    "RedactingFilter",
    "VaultError",
    "install_redaction",
    "redact",
]
