"""Secret handling: log redaction, the encrypted key vault and the order-action audit log.

Redaction of secrets from every log record, the encrypted key vault and the order-action
audit log.

The package exports no names: import from its modules (``security.redaction``,
``security.vault``, ``security.audit_log``), so that a command that only installs log redaction
(every ``csl`` command) does not load the vault's cryptography.
"""
