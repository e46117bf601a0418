"""Deterministic client order ids: the same decision always gets the same id.

A client order id is ``"csl-" + BLAKE2b-128(run_id, sleeve, bar time, purpose)`` in hex (36
characters, inside Bybit's ``orderLinkId`` alphabet and length). Because the id is a function
of the decision and not of the wall clock or a random draw, a restarted engine that re-takes
the same decision produces the same id: the journal already holds it (so nothing is recorded
twice) and a venue that already received it rejects the copy as a duplicate (so nothing is
executed twice).
"""

from __future__ import annotations

import hashlib
from datetime import datetime


def decision_order_id(run_id: str, sleeve: str, bar_time: datetime, purpose: str = "target") -> str:
    """The client order id of the order a sleeve decides on the bar that closed at ``bar_time``."""
    key = f"{run_id}|{sleeve}|{bar_time.isoformat()}|{purpose}".encode()
    return "csl-" + hashlib.blake2b(key, digest_size=16).hexdigest()


def venue_order_alias(run_id: str, sleeve: str, venue_order_id: str) -> str:
    """Journal id for an order the venue created itself (an attached stop-loss/take-profit)."""
    key = f"{run_id}|{sleeve}|venue|{venue_order_id}".encode()
    return "vex-" + hashlib.blake2b(key, digest_size=16).hexdigest()
