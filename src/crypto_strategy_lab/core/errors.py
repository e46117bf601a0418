"""The project's exception hierarchy.

Every error a user can meet is a :class:`CSLError`; its message names the problem so that the
CLI can print one actionable line. Exchange errors carry the venue's own code and message.
"""

from __future__ import annotations


class CSLError(Exception):
    """Base class of every error raised on purpose by Crypto Strategy Lab."""


class ConfigError(CSLError):
    """A configuration file or environment value is missing or invalid."""


class ExchangeError(CSLError):
    """An error reported by (or about) a trading venue.

    Parameters
    ----------
    message
        What went wrong, in words a trader can act on. Never contains a secret.
    venue
        ``"bybit"``, ``"alpaca"`` or ``"simulated"``.
    code
        The venue's own error code (Bybit ``retCode``, Alpaca ``code`` or HTTP status).
    venue_message
        The venue's own message text.
    """

    def __init__(
        self,
        message: str,
        *,
        venue: str | None = None,
        code: int | str | None = None,
        venue_message: str | None = None,
    ) -> None:
        self.venue = venue
        self.code = code
        self.venue_message = venue_message
        parts = [message]
        if venue is not None:
            parts.append(f"venue={venue}")
        if code is not None:
            parts.append(f"code={code}")
        if venue_message:
            parts.append(f"venue says: {venue_message}")
        super().__init__(" | ".join(parts))


class AuthenticationError(ExchangeError):
    """The venue refused the credentials (invalid key, bad signature, expired)."""


class InsufficientFunds(ExchangeError):
    """Not enough balance or buying power for the order."""


class InvalidOrder(ExchangeError):
    """The order breaks a venue rule (size, price, duplicate client id, ...)."""


class OrderNotFound(ExchangeError):
    """The venue has no order with that id."""


class RateLimitExceeded(ExchangeError):
    """The venue's request rate limit was hit."""


class ExchangeUnavailable(ExchangeError):
    """The venue could not be reached or answered with a server error or timeout."""


class MarketClosed(ExchangeError):
    """The market is closed for this order (e.g. US equities outside regular hours)."""
