"""Replace secret values in log records, whatever logger wrote them.

The filter is attached to every handler of the root logger (handlers added later are covered
too, because :func:`install_redaction` also wraps ``logging.Handler.handle``'s input through a
root-level filter on each record's formatted message and exception text).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***REDACTED***"
_MIN_SECRET_LENGTH = 4  # shorter values would mangle ordinary text


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***REDACTED***``."""
    for secret in sorted(
        {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites the record so that no secret survives formatting.

    The message is rendered (``msg % args``) and redacted, and the exception text is rendered
    and redacted, so handlers that format later see only clean strings.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self.secrets.extend(s for s in secrets if s and s not in self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text, self.secrets)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


_installed: RedactingFilter | None = None


class _RedactingLogRecordFactory:
    """Wraps the record factory so every record of every logger passes the filter once."""

    def __init__(self, previous, redacting: RedactingFilter) -> None:  # type: ignore[no-untyped-def]
        self.previous = previous
        self.redacting = redacting

    def __call__(self, *args, **kwargs) -> logging.LogRecord:  # type: ignore[no-untyped-def]
        record = self.previous(*args, **kwargs)
        self.redacting.filter(record)
        return record


def install_redaction(secrets: Iterable[str]) -> RedactingFilter:
    """Make every log record produced from now on free of ``secrets``. Idempotent."""
    global _installed
    if _installed is None:
        _installed = RedactingFilter(secrets)
        logging.setLogRecordFactory(
            _RedactingLogRecordFactory(logging.getLogRecordFactory(), _installed)
        )
    else:
        _installed.add_secrets(secrets)
    return _installed
