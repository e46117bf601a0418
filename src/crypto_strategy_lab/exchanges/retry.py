"""Retries for *reads* only: exponential backoff with full jitter.

Delay before attempt ``k`` (``k = 1, 2, ...``) is drawn uniformly from
``[0, min(cap, base * 2**(k-1))]`` ("full jitter", M. Brooker, *Exponential Backoff and
Jitter*, AWS Architecture Blog, 2015): it spreads retries of many clients apart and keeps
the expected wait at half the exponential schedule.

Orders are never retried here: ``place_order`` has its own look-up-then-decide path keyed by
the client order id (see :mod:`crypto_strategy_lab.exchanges.base`).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from crypto_strategy_lab.core.errors import ExchangeUnavailable, RateLimitExceeded

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRYABLE: tuple[type[Exception], ...] = (ExchangeUnavailable, RateLimitExceeded)


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in total; backoff ``base`` seconds doubling up to ``cap``."""

    attempts: int = 4
    base: float = 0.2
    cap: float = 5.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter delay before retry number ``attempt`` (1-based).

        Parameters
        ----------
        attempt : int
            The retry number, from 1.
        rng : random.Random, optional
            Random source (default: the module's).

        Returns
        -------
        float
            Seconds, uniform in ``[0, min(cap, base * 2**(attempt - 1))]`` (Brooker 2015).
        """
        upper = min(self.cap, self.base * 2 ** (attempt - 1))
        return (rng or random).uniform(0.0, upper)


async def retry_read(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    what: str = "read",
    *,
    failed: Exception | None = None,
) -> T:
    """Await ``call()``; on a transient venue error, back off and try again.

    Parameters
    ----------
    call : callable
        Returns the awaitable read; called once per try.
    policy : RetryPolicy
        Tries and backoff.
    what : str, default "read"
        Named in the retry log line.
    failed : ExchangeUnavailable or RateLimitExceeded, optional
        The error of a first try the caller already made itself (a read that succeeds at
        once then costs no wrapper): counted as try 1, backed off, then retried.

    Returns
    -------
    Any
        The read's result.

    Raises
    ------
    ExchangeUnavailable, RateLimitExceeded
        The last error when ``policy.attempts`` tries all failed; other errors at once.
    """
    attempt, error = (1, failed) if failed is not None else (0, None)
    while True:
        if error is not None:
            if attempt >= policy.attempts:
                raise error
            wait = policy.delay(attempt)
            log.info("%s failed (%s); retry %d in %.2fs", what, type(error).__name__, attempt, wait)
            await asyncio.sleep(wait)
        attempt += 1
        try:
            return await call()
        except RETRYABLE as exc:
            error = exc
