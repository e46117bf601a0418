r"""Client-side token buckets that keep us under the venues' published rate limits.

A token bucket of capacity ``b`` refilled at ``r`` tokens per second admits at most
``b + r * T`` requests in any interval of length ``T``. The venues count requests in a
*rolling* window of length ``W`` (Bybit: 1 s per UID and endpoint, Alpaca: 60 s per account),
so a bucket never trips the venue's limit ``N`` when

.. math::  b + r (W + j) \le N,

where ``j`` is a margin for network jitter (two requests sent ``d`` apart may arrive closer
than ``d``). :func:`bucket_for_window` picks ``b`` and ``r`` from ``N``, ``W`` and ``j`` this
way. ccxt's own throttle is *not* enough: it lets 20 linear orders per second through while
Bybit allows 10 (EXCHANGES.md §9), so our limiter sits in front of every ccxt call.

Published limits used (EXCHANGES.md §9)
---------------------------------------
* Bybit v5, per UID, rolling 1 s: order create/cancel/cancel-all 10/s linear, 20/s spot;
  set-leverage 10/s; order/position/wallet queries 50/s; public market data: IP limit
  600 per 5 s.
* Alpaca trading API: 200 requests per minute per account (one budget for every call).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


class TokenBucket:
    """An asyncio token bucket: :meth:`acquire` waits until a token is available.

    Parameters
    ----------
    capacity
        Largest burst ``b`` (tokens held when idle).
    rate
        Refill rate ``r`` in tokens per second.
    clock, sleep
        Time source and sleeper (defaults: ``time.monotonic``, ``asyncio.sleep``); tests pass
        a simulated clock.
    """

    def __init__(
        self,
        capacity: float,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if capacity < 1 or rate <= 0:
            raise ValueError(
                f"token bucket needs capacity >= 1 and rate > 0, got {capacity}, {rate}"
            )
        self.capacity = float(capacity)
        self.rate = float(rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(capacity)
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self, tokens: float = 1.0) -> None:
        """Take ``tokens``, sleeping until the bucket holds them (FIFO under the lock).

        Parameters
        ----------
        tokens : float, default 1.0
            Tokens to take.
        """
        async with self._lock:
            while True:
                now = self._clock()
                self._refill(now)
                if self._tokens >= tokens - 1e-9:  # tolerance: float refill rounding
                    self._tokens = max(0.0, self._tokens - tokens)
                    return
                await self._sleep((tokens - self._tokens) / self.rate)


def bucket_for_window(limit: int, window: float, jitter: float = 0.1, **clock: Any) -> TokenBucket:
    """A bucket that never exceeds ``limit`` requests in any rolling ``window`` seconds.

    The burst is a fifth of the limit (at least 1); the rate is what is left over the window
    plus the jitter margin: ``r = (N - b) / (W + j)``, so ``b + r (W + j) = N``.

    Parameters
    ----------
    limit : int
        ``N``, requests allowed per window, >= 2.
    window : float
        ``W``, the venue's rolling window in seconds.
    jitter : float, default 0.1
        ``j``, the network-jitter margin in seconds.
    **clock
        ``clock`` and ``sleep`` for :class:`TokenBucket`.

    Returns
    -------
    TokenBucket
        The bucket.

    Raises
    ------
    ValueError
        If ``limit < 2``.
    """
    if limit < 2:
        raise ValueError(f"a rate limit below 2 per window cannot be bucketed safely: {limit}")
    burst = max(1, limit // 5)
    return TokenBucket(capacity=burst, rate=(limit - burst) / (window + jitter), **clock)


@dataclass(frozen=True)
class EndpointLimit:
    """``limit`` requests per rolling ``window`` seconds for one endpoint class."""

    limit: int
    window: float


@dataclass
class RateLimiter:
    """One token bucket per endpoint class (e.g. ``("order", "linear")``).

    ``scale`` divides every window (not the jitter margin, which is absolute): ``scale=10`` turns
    Bybit's 10 per second into 10 per 100 ms. Tests use it to run a burst of orders quickly
    against an emulator configured with the same scale. ``clock`` and ``sleep`` are every
    bucket's time source and sleeper (see :class:`TokenBucket`): a test that shares a
    simulated clock with an emulator checks the limits without depending on wall time.
    """

    limits: dict[tuple[str, str], EndpointLimit]
    scale: float = 1.0
    jitter: float = 0.1
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _buckets: dict[tuple[str, str], TokenBucket] = field(default_factory=dict, init=False)

    def bucket(self, endpoint: str, category: str = "") -> TokenBucket:
        """The bucket of one endpoint class, created on first use.

        A category without its own limit uses the endpoint's ``(endpoint, "")`` limit.

        Parameters
        ----------
        endpoint : str
            Endpoint class (``"order"``, ``"query"``...).
        category : str, default ""
            Market category (``"linear"``, ``"spot"``) when limits differ by it.

        Returns
        -------
        TokenBucket
            The bucket, shared by every later call for the same class.

        Raises
        ------
        KeyError
            If neither limit is configured.
        """
        key = (endpoint, category)
        if key not in self._buckets:
            spec = self.limits.get(key) or self.limits.get((endpoint, ""))
            if spec is None:
                raise KeyError(f"no rate limit configured for endpoint class {key}")
            # Jitter (network delay, a starved event loop or server) is absolute time: it does
            # not shrink when a test scales the window down, so it is never divided by scale.
            self._buckets[key] = bucket_for_window(
                spec.limit,
                spec.window / self.scale,
                self.jitter,
                clock=self.clock,
                sleep=self.sleep,
            )
        return self._buckets[key]

    async def acquire(self, endpoint: str, category: str = "") -> None:
        """Wait until the endpoint class's bucket admits one request, and take its token.

        Parameters
        ----------
        endpoint : str
            Endpoint class.
        category : str, default ""
            Market category.
        """
        await self.bucket(endpoint, category).acquire()


BYBIT_LIMITS: dict[tuple[str, str], EndpointLimit] = {
    ("order", "linear"): EndpointLimit(10, 1.0),
    ("order", "spot"): EndpointLimit(20, 1.0),
    ("cancel_all", "linear"): EndpointLimit(10, 1.0),
    ("cancel_all", "spot"): EndpointLimit(20, 1.0),
    ("leverage", ""): EndpointLimit(10, 1.0),
    ("query", ""): EndpointLimit(50, 1.0),
    ("market", ""): EndpointLimit(600, 5.0),
}

ALPACA_LIMITS: dict[tuple[str, str], EndpointLimit] = {
    ("trading", ""): EndpointLimit(200, 60.0),
    ("market", ""): EndpointLimit(200, 60.0),
}
