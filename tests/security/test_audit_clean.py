"""What ``AuditLog`` hands its sinks: JSON-ready details, str enums as their text.

The references are independent of ``_clean``: the canonical JSON and ``json.dumps`` of the
detail as the caller built it (enums, decimals, times, tuples, nested mappings).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from crypto_strategy_lab.core.enums import OrderSide, OrderStatus, OrderType
from crypto_strategy_lab.journal.types import canonical_json
from crypto_strategy_lab.security.audit_log import AuditLog, MemoryAuditSink
from crypto_strategy_lab.security.redaction import MASK


class _Label(str):
    """A str subclass that prints itself differently from its text."""

    def __str__(self) -> str:
        return "label!"


class _Venue(StrEnum):
    SECRETIVE = "venue-s3cr3t-key"


def _record(detail: dict[str, object], secrets: tuple[str, ...] = ()) -> dict[str, object]:
    sink = MemoryAuditSink()
    AuditLog([sink], secrets=secrets).record(
        "order.reply", venue="sim", mode="simulated", symbol="BTCUSDT", detail=detail
    )
    return sink.events[0].detail


def test_str_enums_become_their_text_and_every_json_is_unchanged() -> None:
    ts = datetime(2024, 3, 1, 12, tzinfo=UTC)
    detail = {
        "status": OrderStatus.NEW,
        "side": OrderSide.BUY,
        "order_type": OrderType.MARKET,
        "quantity": Decimal("0.0100"),
        "when": ts,
        "label": _Label("text"),
        "venue_reply": OrderedDict([("b", (1, OrderSide.SELL)), ("a", {"x": None, "y": 1.5})]),
    }
    clean = _record(detail)
    assert clean["status"] == "new" and type(clean["status"]) is str
    assert type(clean["label"]) is str and clean["label"] == "text"
    assert clean["venue_reply"] == {"b": [1, "SELL"], "a": {"x": None, "y": 1.5}}
    # the caller's detail with decimals, times and mappings as _clean always wrote them
    expected = dict(detail, quantity="0.0100", when=ts.isoformat())
    assert canonical_json(clean) == canonical_json(expected)
    assert json.dumps(clean, sort_keys=True) == json.dumps(
        dict(expected, venue_reply={"a": {"x": None, "y": 1.5}, "b": [1, "SELL"]}), sort_keys=True
    )


def test_a_secret_in_a_str_enum_is_masked() -> None:
    clean = _record({"venue": _Venue.SECRETIVE, "note": "s3cr3t"}, secrets=("s3cr3t",))
    assert clean == {"venue": f"venue-{MASK}-key", "note": MASK}
