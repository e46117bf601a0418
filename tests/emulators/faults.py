"""Fault injection shared by the venue emulators: a queue of failures for the next requests."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Fault = tuple[str, Any]  # (kind, argument) of one planned failure


def gateway_page(status: int) -> web.Response:
    """An nginx-style HTML error page (a non-JSON body, as real gateways send)."""
    html = (
        f"<html><head><title>{status} Bad Gateway</title></head><body><center>"
        f"<h1>{status} Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
    )
    return web.Response(status=status, text=html, content_type="text/html")


@dataclass
class Faults:
    """Failures for the next requests matching ``path`` (a prefix; ``""`` matches all)."""

    plan: deque[tuple[str, str, Any]] = field(default_factory=deque)

    def fail_next(self, k: int = 1, status: int = 502, path: str = "") -> None:
        """Next ``k`` requests: HTTP ``status`` with an HTML gateway page; nothing executes."""
        self.plan.extend([(path, "http_error", status)] * k)

    def rate_limit_next(self, k: int = 1, *, http: bool = False, path: str = "") -> None:
        """Next ``k`` requests: retCode 10006 (or HTTP 429 when ``http``); nothing executes."""
        self.plan.extend([(path, "http429" if http else "10006", None)] * k)

    def drop_response_next(self, k: int = 1, *, hang: float = 0.0, path: str = "") -> None:
        """Next ``k`` requests execute, then the reply is lost: the connection is closed (or,
        with ``hang > 0``, the reply is withheld for ``hang`` seconds first)."""
        self.plan.extend([(path, "drop", hang)] * k)

    def status_after_execute_next(self, k: int, status: int, path: str = "") -> None:
        """Next ``k`` requests execute, then answer HTTP ``status`` with an HTML page (a gateway
        timing out after the venue accepted the order)."""
        self.plan.extend([(path, "after", status)] * k)

    def malformed_reply_next(self, k: int, body: str, path: str = "") -> None:
        """Next ``k`` requests execute, then answer HTTP 200 with ``body`` as JSON: a reply
        our client cannot read (truncated, empty, ``null``, an empty ``result``)."""
        self.plan.extend([(path, "malformed", body)] * k)

    def take(self, path: str) -> Fault | None:
        for i, (prefix, kind, arg) in enumerate(self.plan):
            if path.startswith(prefix):
                del self.plan[i]
                return kind, arg
        return None


def fault_reply(
    fault: Fault | None, rate_limit_reply: Callable[[str], web.StreamResponse]
) -> web.StreamResponse | None:
    """The reply that replaces a request's execution under ``fault``, or None to execute it.

    A gateway error answers its HTML page; a planned rate limit (``"http429"`` or
    ``"10006"``) answers the venue's own ``rate_limit_reply(kind)``.
    """
    if fault is None:
        return None
    kind, arg = fault
    if kind == "http_error":
        return gateway_page(arg)
    if kind in ("http429", "10006"):
        return rate_limit_reply(kind)
    return None


async def deliver(
    fault: Fault | None, request: web.Request, response: web.StreamResponse
) -> web.StreamResponse:
    """The reply to an executed request: lost under ``"after"`` (an HTML gateway page instead),
    ``"malformed"`` (an unreadable 200) or ``"drop"`` (the connection closed, after withholding
    it ``hang`` seconds)."""
    if fault is None:
        return response
    kind, arg = fault
    if kind == "after":
        return gateway_page(arg)
    if kind == "malformed":
        return web.Response(status=200, text=arg, content_type="application/json")
    if kind == "drop":
        if arg > 0:
            await asyncio.sleep(arg)
        if request.transport is not None:
            request.transport.close()
    return response
