"""Bybit v5 errors (as raised by ccxt) translated to our hierarchy.

Bybit answers most errors with HTTP 200 and a non-zero ``retCode``; ccxt raises a class from
its own table with the raw body in the message. We read the ``retCode`` back out of the
message (the class alone is too coarse: a duplicate client id and a malformed order are both
``InvalidOrder`` in ccxt) and map it with :data:`RETCODE_ERRORS`; anything else falls back to
the ccxt class. A non-JSON body (an HTML gateway page) carries no ``retCode``: the HTTP
status becomes the code and the body is cut to a short plain-text excerpt. Messages pass
through :func:`~crypto_strategy_lab.security.redaction.redact` with the client's secrets.
"""

from __future__ import annotations

import re

import ccxt

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

VENUE = "bybit"

# retCode -> (our class, what it means). Codes from bybit-exchange/docs docs/v5/error.mdx.
RETCODE_ERRORS: dict[int, tuple[type[ExchangeError], str]] = {
    10001: (InvalidOrder, "request parameter error"),
    10002: (ExchangeError, "request timestamp outside the recv window (check the system clock)"),
    10003: (AuthenticationError, "API key is invalid"),
    10004: (AuthenticationError, "request signature is invalid (wrong API secret?)"),
    10005: (AuthenticationError, "API key lacks the permission for this request"),
    10006: (RateLimitExceeded, "too many requests for this account (UID rate limit)"),
    10016: (ExchangeUnavailable, "Bybit server error"),
    10018: (RateLimitExceeded, "too many requests from this IP"),
    33004: (AuthenticationError, "API key has expired"),
    110001: (OrderNotFound, "order does not exist"),
    170213: (OrderNotFound, "order does not exist"),
    110004: (InsufficientFunds, "wallet balance is insufficient"),
    110007: (InsufficientFunds, "available balance is insufficient"),
    110012: (InsufficientFunds, "available balance is insufficient"),
    170131: (InsufficientFunds, "balance is insufficient"),
    110017: (InvalidOrder, "order quantity would be truncated to zero"),
    110043: (InvalidOrder, "leverage not modified"),
    110072: (InvalidOrder, "duplicate client order id (orderLinkId)"),
    170141: (InvalidOrder, "duplicate client order id (orderLinkId)"),
    170136: (InvalidOrder, "order quantity below the minimum"),
    170140: (InvalidOrder, "order value below the minimum"),
}
DUPLICATE_CODES = frozenset({110072, 170141})
LEVERAGE_NOT_MODIFIED = 110043

_RETCODE = re.compile(r'"retCode"\s*:\s*(-?\d+)')
_RETMSG = re.compile(r'"retMsg"\s*:\s*"((?:[^"\\]|\\.)*)"')
_HTTP_STATUS = re.compile(r"\b(\d{3})\b")
_TAGS = re.compile(r"<[^>]+>")


def _ccxt_fallback(exc: Exception) -> type[ExchangeError]:
    # Order matters: ccxt.RateLimitExceeded and ccxt.OrderNotFound subclass broader classes.
    for ccxt_cls, ours in (
        (ccxt.BadResponse, UnreadableReply),  # a body ccxt cannot parse (NullResponse too)
        (ccxt.AuthenticationError, AuthenticationError),
        (ccxt.PermissionDenied, AuthenticationError),
        (ccxt.AccountSuspended, AuthenticationError),
        (ccxt.InsufficientFunds, InsufficientFunds),
        (ccxt.OrderNotFound, OrderNotFound),
        (ccxt.InvalidOrder, InvalidOrder),
        (ccxt.BadSymbol, InvalidOrder),
        (ccxt.BadRequest, InvalidOrder),
        (ccxt.RateLimitExceeded, RateLimitExceeded),
        (ccxt.DDoSProtection, RateLimitExceeded),
        (ccxt.NetworkError, ExchangeUnavailable),
    ):
        if isinstance(exc, ccxt_cls):
            return ours
    return ExchangeError


def map_ccxt_error(exc: Exception, secrets: list[str], action: str) -> ExchangeError:
    """Our exception for a ccxt exception raised while doing ``action``.

    Parameters
    ----------
    exc : Exception
        The ccxt exception.
    secrets : list of str
        Redacted from the message.
    action : str
        What was being done, prefixed to the message.

    Returns
    -------
    ExchangeError
        The subclass of a known ``retCode``, else the one matching ccxt's exception class,
        with Bybit's code and message when the reply carried them.
    """
    text = redact(str(exc), secrets)
    code_match = _RETCODE.search(text)
    if code_match:
        code = int(code_match.group(1))
        msg_match = _RETMSG.search(text)
        venue_message = msg_match.group(1) if msg_match else None
        cls, meaning = RETCODE_ERRORS.get(code, (_ccxt_fallback(exc), "Bybit rejected the request"))
        return cls(f"{action}: {meaning}", venue=VENUE, code=code, venue_message=venue_message)
    cls = _ccxt_fallback(exc)
    if isinstance(exc, ccxt.RequestTimeout):
        return cls(f"{action}: no reply from Bybit before the timeout", venue=VENUE)
    # Non-JSON bodies (HTML gateway pages) and transport errors: keep a short, tag-free excerpt.
    # ccxt formats these as "bybit <METHOD> <url> <status> <reason> <body>".
    tokens = text.split()
    status = None
    for i, token in enumerate(tokens[:-1]):
        if token.startswith("http") and _HTTP_STATUS.fullmatch(tokens[i + 1]):
            status = int(tokens[i + 1])
            break
    excerpt = " ".join(_TAGS.sub(" ", text).split())[:160]
    return cls(f"{action}: {type(exc).__name__}", venue=VENUE, code=status, venue_message=excerpt)
