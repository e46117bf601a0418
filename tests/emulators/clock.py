"""A simulated clock shared by a client's rate limiter and an emulator: limits without wall time.

Under load, a request granted by the client's token bucket may reach the emulator much later
(a starved event loop, a busy worker-thread pool), and a wall-clock test then fails for
reasons that have nothing to do with the limiter. :class:`LockstepClock` removes that: time
only moves when the limiter sleeps, and it moves only after every request granted so far has
reached the emulator. Each request therefore arrives at exactly the simulated time it was
granted, and the emulator's rolling-window count is a deterministic function of the
limiter's schedule.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from crypto_strategy_lab.exchanges.rate_limit import EndpointLimit, RateLimiter


class LockstepClock:
    """Simulated seconds; :meth:`limiter` builds a client limiter on it, :meth:`arrival` is the
    emulator's clock (one call per request that arrives)."""

    def __init__(self, drain_timeout: float = 30.0) -> None:
        self.now = 0.0
        self.granted = 0
        self.arrived = 0
        self.drain_timeout = drain_timeout

    def __call__(self) -> float:
        return self.now

    def arrival(self) -> float:
        self.arrived += 1
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Wait (in real time) until no granted request is still on its way, then advance."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_timeout
        while self.arrived < self.granted:
            if loop.time() > deadline:
                raise AssertionError(
                    f"{self.granted - self.arrived} granted requests never reached the emulator"
                )
            await asyncio.sleep(0.001)
        self.now += seconds

    def limiter(self, limits: dict[tuple[str, str], EndpointLimit], **kwargs: Any) -> RateLimiter:
        return _CountingLimiter(limits, clock=self, sleep=self.sleep, owner=self, **kwargs)


@dataclass
class _CountingLimiter(RateLimiter):
    owner: LockstepClock | None = None

    async def acquire(self, endpoint: str, category: str = "") -> None:
        await super().acquire(endpoint, category)
        assert self.owner is not None
        self.owner.granted += 1
