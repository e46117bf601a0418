"""A SQLite commit hands its rows to the driver as stored values; the rows equal Core's.

:class:`~crypto_strategy_lab.journal.writer.ChainWriter` encodes each buffered record once
(:func:`~crypto_strategy_lab.journal.audit.record_encoder`: insert parameters and audit payload
together) and, on SQLite, inserts with prebuilt SQL through the driver; other dialects take a
Core insert. The references here are independent of that code: SQLAlchemy's own bind
processing and Core inserts, and ``canonical_json(audit_payload(record_payload(...)))``.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, Boolean, Float, Integer, LargeBinary, String
from sqlalchemy.dialects import sqlite

from crypto_strategy_lab.core.enums import OrderSide, OrderType, SignalAction
from crypto_strategy_lab.core.orders import Fill, OrderRequest, Position
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal import writer as writer_module
from crypto_strategy_lab.journal.audit import (
    AUDITED_MODELS,
    audit_payload,
    event_hash,
    link_encoder,
    record_encoder,
    record_payload,
)
from crypto_strategy_lab.journal.models import AuditEvent
from crypto_strategy_lab.journal.types import ExactDecimal, UTCDateTime, canonical_json
from crypto_strategy_lab.journal.writer import ColumnRow

from .helpers import T0

_SQLITE = sqlite.dialect()
_CLOCK = datetime(2024, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)


def _write_replay_like(journal: Journal) -> None:
    """A run and two batches of what the engine writes per bar, with awkward values."""
    run = journal.start_run(
        name="driver",
        mode="simulated",
        capital=Decimal("10000"),
        strategies=["ema"],
        config={"k": [1, 2.5, None]},
        run_id="run-driver",
        started_at=T0,
    )
    run_id = run.run_id
    for bar in range(2):
        ts = T0 + timedelta(minutes=bar)
        cid = f"csl-order-{bar}"
        with journal.batch():
            journal.record_signal(
                run_id,
                Signal(
                    strategy="ema",
                    symbol="BTCUSDT",
                    timestamp=ts,
                    action=SignalAction.BUY,
                    strength=-0.0,  # canonical JSON writes 0.0; SQLite stores the float
                    price=50_000.125,
                    quantity=Decimal("0.0100"),
                    statistics={"rho": 1e-300, "naïve": -0.0, "b": 2.5},
                ),
            )
            risk = journal.record_risk_event(
                run_id=run_id,
                decision="approve",
                symbol="BTCUSDT",
                side="BUY",
                reason='quote " and \\ backslash',
                requested_quantity=Decimal("0.1234567890123456789"),  # rounded to 18 places
                approved_quantity=Decimal("1E+2"),
                reference_price=Decimal("-0"),
                rules=[{"rule": "cap", "reason": None, "limits": {"b": [1, "ü"], "a": True}}],
                ts=ts,
            )
            request = OrderRequest(
                symbol="BTCUSDT",
                side=OrderSide.BUY,
                order_type=OrderType.LIMIT,
                quantity=Decimal("0.02"),
                price=Decimal("49999.99"),
                strategy="ema",
                client_order_id=cid,
            )
            journal.record_order(
                run_id, request, venue="simulated", risk_event_id=risk.id, ts=ts, commit=False
            )
            journal.record_order_event(cid, "submitted", venue_order_id=f"V{bar}", ts=ts)
            journal.record_fill(
                run_id,
                Fill(
                    order_id=f"V{bar}",
                    client_order_id=cid,
                    symbol="BTCUSDT",
                    side=OrderSide.BUY,
                    quantity=Decimal("0.02"),
                    price=Decimal("49999.99"),
                    fee=Decimal("0.000000000000000001"),
                    fee_currency="USDT",
                    timestamp=ts.astimezone(timezone(timedelta(hours=-5))),  # not UTC
                    trade_id=f"T{bar}",
                ),
                venue="simulated",
                strategy="ema",
            )
            journal.record_order_event(
                cid,
                "filled",
                filled_quantity=Decimal("0.02"),
                average_price=Decimal("49999.99"),
                ts=ts,
            )
            journal.record_position(
                run_id,
                Position(
                    symbol="BTCUSDT",
                    quantity=Decimal("0.02"),
                    average_price=Decimal("49999.99"),
                    venue="simulated",
                ),
                ts=ts,
                strategy="ema",
            )
            journal.record_equity(
                run_id, ts=ts, equity=Decimal("10000.5"), cash=Decimal("9000.000000000000000001")
            )
            journal.audit("exchange.order.request", {"detail": {"ß": [1.5, "x"]}}, run_id=run_id)


def _dump(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table as SQLite holds it: each value with its storage class."""
    conn = sqlite3.connect(path)
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
    ]
    dump = {}
    for table in tables:
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
        select = ", ".join(f'typeof("{c}"), quote("{c}")' for c in columns)
        dump[table] = conn.execute(f'SELECT {select} FROM "{table}" ORDER BY rowid').fetchall()
    conn.close()
    return dump


def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from crypto_strategy_lab.journal import alerts, decisions, halts, orders, snapshots

    for module in (writer_module, decisions, orders, snapshots, alerts, halts):
        monkeypatch.setattr(module, "utcnow", lambda: _CLOCK)


def test_driver_rows_equal_core_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fixed_clock(monkeypatch)
    driver, core = tmp_path / "driver.sqlite", tmp_path / "core.sqlite"
    journal = Journal.open(f"sqlite:///{driver}")
    assert journal.writer._stored_dialect is not None  # the driver path is the one under test
    _write_replay_like(journal)
    assert journal.verify().ok
    journal.engine.dispose()

    monkeypatch.setattr(writer_module, "_driver_dialect", lambda _engine: None)
    journal = Journal.open(f"sqlite:///{core}")
    _write_replay_like(journal)
    journal.engine.dispose()

    got, expected = _dump(driver), _dump(core)
    assert len(expected["audit_events"]) > 20
    for table in ("signals", "risk_events", "orders", "order_events", "fills", "equity_blocks"):
        assert expected[table], table
    assert got == expected


_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d) < Decimal(10) ** 19
)
_zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
_times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=_zones
)
_floats = st.floats(allow_nan=False, allow_infinity=False)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _floats | _texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
    max_leaves=8,
)


def _value(column) -> st.SearchStrategy[object]:  # type: ignore[no-untyped-def]
    kind = column.type
    if isinstance(kind, ExactDecimal):
        values = _decimals | st.integers(-(10**12), 10**12)
    elif isinstance(kind, UTCDateTime):
        values = _times
    elif isinstance(kind, Boolean):
        values = st.booleans()
    elif isinstance(kind, Float):
        values = _floats
    elif isinstance(kind, JSON):
        values = _json
    elif isinstance(kind, LargeBinary):
        values = st.binary(max_size=40)
    elif isinstance(kind, Integer):
        values = st.integers(-(2**62), 2**62)
    else:
        assert isinstance(kind, String), kind
        values = _texts
    return st.none() | values if column.nullable else values


@st.composite
def _rows(draw):  # type: ignore[no-untyped-def]
    model, _key = draw(st.sampled_from(list(AUDITED_MODELS.values())))
    table = model.__table__
    return ColumnRow(table, {c.key: draw(_value(c)) for c in table.columns})


@settings(max_examples=400, deadline=None)
@given(_rows())
def test_an_encoded_record_is_what_core_binds_and_what_the_chain_audits(row: ColumnRow) -> None:
    table = row.__table__
    params, payload = record_encoder(table, _SQLITE)(row)
    bound = []
    for column in table.columns:
        process = column.type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
        value = getattr(row, column.key)
        bound.append(value if process is None else process(value))
    assert list(params) == bound
    assert payload == canonical_json(audit_payload(table, record_payload(row)))
    raw, same = record_encoder(table, None)(row)
    assert raw == tuple(getattr(row, c.key) for c in table.columns)
    assert same == payload


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(1, 10**12),
    ts=_times,
    kind=_texts,
    entity_table=st.none() | _texts,
    entity_key=st.none() | _texts,
    run_id=st.none() | _texts,
    payload=_texts,
)
def test_a_link_row_holds_the_chain_hash(  # type: ignore[no-untyped-def]
    seq, ts, kind, entity_table, entity_key, run_id, payload
) -> None:
    expected = event_hash(
        "cd" * 32,
        seq=seq,
        ts=ts,
        kind=kind,
        entity_table=entity_table,
        entity_key=entity_key,
        run_id=run_id,
        payload=payload,
    )
    args = ("cd" * 32, seq, ts, kind, entity_table, entity_key, run_id, payload)
    process = AuditEvent.__table__.c.ts.type.dialect_impl(_SQLITE).bind_processor(_SQLITE)
    row, hash_ = link_encoder(_SQLITE)(*args)
    assert hash_ == expected
    assert row == (
        seq,
        process(ts),
        run_id,
        kind,
        entity_table,
        entity_key,
        payload,
        *args[:1],
        hash_,
    )
    assert link_encoder(None)(*args) == ((seq, ts, *row[2:]), hash_)


def test_buffer_commits_of_racing_journals_keep_one_chain(journal_url: str) -> None:
    """Buffer-only commits (a Core transaction each) of two journals on one database.

    Each takes the chain's lock first; a commit that loses the race (SQLite's ``database is
    locked``, a clash on the chain head) is retried whole, so no event is lost or forked.
    """
    journals = [Journal.open(journal_url) for _ in range(2)]
    errors: list[BaseException] = []

    def write(journal: Journal, tag: str) -> None:
        try:
            for i in range(20):
                with journal.batch():
                    journal.audit("race", {"tag": tag, "i": i})
                    journal.audit("race", {"tag": tag, "i": -i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(journal, f"j{k}"))
        for k, journal in enumerate(journals)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = journals[0].verify()
    assert report.ok, report.problems
    assert report.n_events == 80
    for journal in journals:
        journal.engine.dispose()
