"""Alpaca errors (alpaca-py ``APIError`` and requests' transport errors) mapped to ours.

``APIError`` carries the raw body. Its ``.code``/``.message`` properties parse it as JSON and
**raise** on a non-JSON body (an HTML gateway page) or on a JSON body without ``code``, so
we never touch them: the body is parsed here defensively. The HTTP status decides the class;
the venue's ``code`` (or the status when there is none) and message are kept.
"""

from __future__ import annotations

import json
import re

import requests
from alpaca.common.exceptions import APIError

from crypto_strategy_lab.core.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimitExceeded,
)
from crypto_strategy_lab.exchanges.base import UnreadableReply
from crypto_strategy_lab.security.redaction import redact

VENUE = "alpaca"
DUPLICATE_MESSAGE = "client_order_id must be unique"
_TAGS = re.compile(r"<[^>]+>")

STATUS_ERRORS: dict[int, type[ExchangeError]] = {
    400: InvalidOrder,
    401: AuthenticationError,
    403: AuthenticationError,  # except "insufficient ..." bodies, see map_api_error
    404: OrderNotFound,
    422: InvalidOrder,
    429: RateLimitExceeded,
}


def _status(exc: APIError) -> int | None:
    http_error = getattr(exc, "_http_error", None)
    response = getattr(http_error, "response", None)
    return getattr(response, "status_code", None)


def _body(exc: APIError) -> tuple[int | None, str]:
    """``(code, message)`` from the error body, whatever its shape."""
    text = str(getattr(exc, "_error", "") or "")
    try:
        data = json.loads(text)
    except ValueError:
        return None, " ".join(_TAGS.sub(" ", text).split())[:160]
    if not isinstance(data, dict):
        return None, str(data)[:160]
    code = data.get("code")
    return (
        int(code) if isinstance(code, int | str) and str(code).isdigit() else None,
        str(data.get("message", ""))[:300],
    )


def map_api_error(exc: Exception, secrets: list[str], action: str) -> ExchangeError:
    """Our exception for an alpaca-py/requests exception raised while doing ``action``.

    Parameters
    ----------
    exc : Exception
        The exception.
    secrets : list of str
        Redacted from the message.
    action : str
        What was being done, prefixed to the message.

    Returns
    -------
    ExchangeError
        ``ExchangeUnavailable`` for a timeout or a failed connection, ``UnreadableReply``
        for a body that is not JSON, else the subclass of Alpaca's HTTP status and code.
    """
    if isinstance(exc, requests.Timeout):
        return ExchangeUnavailable(
            f"{action}: no reply from Alpaca before the timeout", venue=VENUE
        )
    if isinstance(exc, requests.JSONDecodeError):  # a RequestException: the body, not the link
        return UnreadableReply(f"{action}: unreadable reply from Alpaca (not JSON)", venue=VENUE)
    if isinstance(exc, requests.RequestException):
        return ExchangeUnavailable(
            f"{action}: connection to Alpaca failed ({type(exc).__name__})", venue=VENUE
        )
    if not isinstance(exc, APIError):
        # alpaca-py parses the reply inside the call: an empty, ``null`` or incomplete 200
        # fails there (TypeError, pydantic's ValidationError); whether it executed is unknown
        return UnreadableReply(
            f"{action}: unreadable reply from Alpaca ({type(exc).__name__})", venue=VENUE
        )
    status = _status(exc)
    code, message = _body(exc)
    message = redact(message, secrets)
    if status is not None and status >= 500:
        cls: type[ExchangeError] = ExchangeUnavailable
    else:
        cls = STATUS_ERRORS.get(status or 0, ExchangeError)
        if status == 403 and "insufficient" in message.lower():
            cls = InsufficientFunds
    return cls(
        f"{action}: HTTP {status}",
        venue=VENUE,
        code=code if code is not None else status,
        venue_message=message or None,
    )


def is_duplicate(exc: ExchangeError) -> bool:
    """Whether ``exc`` is Alpaca's "client order id must be unique" refusal.

    Parameters
    ----------
    exc : ExchangeError
        A mapped error.

    Returns
    -------
    bool
        True for that refusal.
    """
    return isinstance(exc, InvalidOrder) and DUPLICATE_MESSAGE in (exc.venue_message or "")
