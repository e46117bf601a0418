"""Replace secret values in log records, whatever logger wrote them.

The filter is attached to every handler of the root logger (handlers added later are covered
too, because :func:`install_redaction` also wraps ``logging.Handler.handle``'s input through a
root-level filter on each record's formatted message and exception text).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

MASK = "***REDACTED***"
_MIN_SECRET_LENGTH = 4  # shorter values would mangle ordinary text

# Credentials that travel inside URLs, found by shape so that a URL nobody registered as a
# secret (a journal URL typed on the command line, a webhook in a deployment file) is masked
# too: the password of ``scheme://user:password@host``, Telegram's ``/bot<id>:<token>`` path,
# the secret path segments of Slack and Discord webhooks, and query parameters that carry keys.
_URL_CREDENTIALS = (
    (re.compile(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+(?=@)"), "***"),
    (re.compile(r"(?P<keep>/bot)\d+:[A-Za-z0-9_-]+"), "***"),
    (re.compile(r"(?P<keep>hooks\.slack\.com/services/)[A-Za-z0-9/_-]+"), "***"),
    (re.compile(r"(?P<keep>/api/webhooks/\d+/)[A-Za-z0-9._-]+"), "***"),
    (
        re.compile(
            r"(?P<keep>[?&](?:token|key|api_key|apikey|secret|password|sig|signature)=)[^&\s]+",
            re.IGNORECASE,
        ),
        "***",
    ),
)


def mask_credentials(text: str) -> str:
    """``text`` with every credential embedded in a URL replaced by ``***``.

    ``postgresql://csl:hunter2@db/journal`` becomes ``postgresql://csl:***@db/journal`` and
    ``https://api.telegram.org/bot123:AAE.../sendMessage`` becomes
    ``https://api.telegram.org/bot***/sendMessage``; the rest of the URL stays readable.

    Parameters
    ----------
    text : str
        Any text.

    Returns
    -------
    str
        The text with URL credentials masked.
    """
    for pattern, mask in _URL_CREDENTIALS:
        text = pattern.sub(lambda m, mask=mask: m.group("keep") + mask, text)
    return text


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***REDACTED***`` and URL credentials masked.

    URL credentials are masked by :func:`mask_credentials`; secrets shorter than the minimum
    length (4 characters) are not replaced (they would mangle ordinary text).

    Parameters
    ----------
    text : str
        Any text.
    secrets : iterable of str
        The secret values.

    Returns
    -------
    str
        The redacted text (longest secrets replaced first).
    """
    text = mask_credentials(text)
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
        """Redact these secrets too (empty strings and ones already known are skipped).

        Parameters
        ----------
        secrets : iterable of str
            The secret values.
        """
        self.secrets.extend(s for s in secrets if s and s not in self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record's rendered message and exception text.

        Parameters
        ----------
        record : logging.LogRecord
            The record, rewritten in place when it held a secret.

        Returns
        -------
        bool
            Always True: the record is kept.
        """
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:  # untouched records keep their lazy formatting
            record.msg, record.args = clean, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            clean = redact(text, self.secrets)
            if clean != text:
                record.exc_text, record.exc_info = clean, None
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
    """Make every log record produced from now on free of ``secrets``.

    Idempotent: the first call installs one redacting log-record factory for the process,
    later calls add their secrets to it.

    Parameters
    ----------
    secrets : iterable of str
        The secret values.

    Returns
    -------
    RedactingFilter
        The process-wide filter.
    """
    global _installed
    if _installed is None:
        _installed = RedactingFilter(secrets)
        logging.setLogRecordFactory(
            _RedactingLogRecordFactory(logging.getLogRecordFactory(), _installed)
        )
    else:
        _installed.add_secrets(secrets)
    return _installed
