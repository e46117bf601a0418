"""Secret handling: redaction of secrets from every log record, and the encrypted key vault."""

from crypto_strategy_lab.security.redaction import RedactingFilter, install_redaction, redact

__all__ = ["RedactingFilter", "install_redaction", "redact"]
