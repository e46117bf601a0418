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
    """The client order id of the order a sleeve decides on the bar that closed at ``bar_time``.

    Parameters
    ----------
    run_id : str
        The engine run's id.
    sleeve : str
        The sleeve's name.
    bar_time : datetime.datetime
        The close time of the bar the decision was taken on (its ``isoformat()`` is hashed,
        so the same instant in another timezone gives another id: pass UTC).
    purpose : str, default "target"
        Which of the bar's orders this is (the target order, or e.g. an exit), so two orders
        of one decision get two ids.

    Returns
    -------
    str
        ``"csl-"`` followed by the 32 hex digits of BLAKE2b with a 16-byte digest of
        ``"<run_id>|<sleeve>|<bar_time>|<purpose>"``: 36 characters.
    """
    key = f"{run_id}|{sleeve}|{bar_time.isoformat()}|{purpose}".encode()
    return "csl-" + hashlib.blake2b(key, digest_size=16).hexdigest()


def venue_order_alias(run_id: str, sleeve: str, venue_order_id: str) -> str:
    """Journal id for an order the venue created itself (an attached stop-loss/take-profit).

    Parameters
    ----------
    run_id : str
        The engine run's id.
    sleeve : str
        The sleeve's name.
    venue_order_id : str
        The venue's id of the order.

    Returns
    -------
    str
        ``"vex-"`` followed by the 32 hex digits of BLAKE2b with a 16-byte digest of
        ``"<run_id>|<sleeve>|venue|<venue_order_id>"``: 36 characters, the same for the same
        venue order on every restart.
    """
    key = f"{run_id}|{sleeve}|venue|{venue_order_id}".encode()
    return "vex-" + hashlib.blake2b(key, digest_size=16).hexdigest()
