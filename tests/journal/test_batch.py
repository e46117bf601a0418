"""One transaction per bar: ``Journal.batch`` buffers the frequent writes, commits them together
with their audit links, and still commits an order before ``record_order`` returns."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crypto_strategy_lab.core.enums import OrderSide, OrderType
from crypto_strategy_lab.core.orders import Fill, OrderRequest
from crypto_strategy_lab.journal import Journal, make_engine
from crypto_strategy_lab.journal.models import AuditEvent, Order, OrderEvent, RiskEventRecord
from crypto_strategy_lab.journal.types import JournalError

from .helpers import T0, populate


def _count(url: str, model) -> int:  # type: ignore[no-untyped-def]
    """Rows committed, as another process sees them (its own connection)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(model)) or 0
    engine.dispose()
    return n


def _risk(journal: Journal, run_id: str) -> RiskEventRecord:
    return journal.record_risk_event(
        run_id=run_id,
        decision="approve",
        symbol="BTCUSDT",
        side="BUY",
        reason="ok",
        requested_quantity=Decimal("0.1"),
        approved_quantity=Decimal("0.1"),
        reference_price=Decimal("50000"),
        rules=[],
        ts=T0,
    )


def _request(coid: str) -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.1"),
        strategy="s",
        client_order_id=coid,
    )


def test_a_batch_commits_once_at_its_end_and_the_chain_verifies(journal_url: str) -> None:
    journal = Journal.open(journal_url)
    run_id = populate(journal)
    events_before = _count(journal_url, AuditEvent)
    with journal.batch():
        for i in range(5):
            journal.record_equity(
                run_id, ts=T0 + timedelta(hours=i + 1), equity=Decimal(10_000 + i), cash=Decimal(1)
            )
        journal.audit("exchange.request", {"i": 1}, run_id=run_id)
        assert _count(journal_url, AuditEvent) == events_before  # nothing committed yet
    # the audit-only event, then the five points as one equity block with its event
    assert _count(journal_url, AuditEvent) == events_before + 2
    points = journal.equity_points(run_id)
    assert list(points["equity"])[-5:] == [Decimal(10_000 + i) for i in range(5)]
    assert journal.verify().ok


def test_an_order_is_committed_before_record_order_returns(journal_url: str) -> None:
    journal = Journal.open(journal_url)
    run_id = populate(journal)
    with journal.batch():
        risk = _risk(journal, run_id)
        orders_before = _count(journal_url, Order)
        journal.record_order(run_id, _request("b-1"), venue="simulated", risk_event_id=risk.id)
        # another connection (a process after a kill -9) sees the order, its decision and
        # its first state: it is on disk before it can be sent
        assert _count(journal_url, Order) == orders_before + 1
        journal.record_order_event("b-1", "submitted", venue_order_id="V9", ts=T0)
        journal.record_order_event(
            "b-1", "filled", filled_quantity=Decimal("0.1"), average_price=Decimal(1), ts=T0
        )
        fill = Fill(
            order_id="V9",
            client_order_id="b-1",
            symbol="BTCUSDT",
            side=OrderSide.BUY,
            quantity=Decimal("0.1"),
            price=Decimal(1),
            fee=Decimal(0),
            timestamp=T0,
            trade_id="V9:1",
        )
        assert journal.record_fill(run_id, fill, venue="simulated")[1]
        assert not journal.record_fill(run_id, fill, venue="simulated")[1]  # buffered: seen
    assert [e.status for e in journal.order_events("b-1")] == ["new", "submitted", "filled"]
    assert journal.order("b-1").risk_event_id == risk.id
    assert journal.verify().ok


def test_an_order_for_an_in_process_venue_commits_with_its_batch(journal_url: str) -> None:
    # commit=False (the simulated venue's book dies with the process): the order waits for
    # the batch, ahead of what follows it, so a crash loses it and its effect together
    journal = Journal.open(journal_url)
    run_id = populate(journal)
    orders_before = _count(journal_url, Order)
    with journal.batch():
        risk = _risk(journal, run_id)
        journal.record_order(
            run_id, _request("b-3"), venue="simulated", risk_event_id=risk.id, commit=False
        )
        journal.record_order_event("b-3", "submitted", venue_order_id="V3", ts=T0)
        assert _count(journal_url, Order) == orders_before  # not on disk yet
        assert journal.order("b-3") is not None  # but known to this journal
    assert _count(journal_url, Order) == orders_before + 1
    assert [e.status for e in journal.order_events("b-3")] == ["new", "submitted"]
    assert journal.verify().ok


def test_an_order_outside_a_batch_is_committed_even_without_commit(journal_url: str) -> None:
    journal = Journal.open(journal_url)
    run_id = populate(journal)
    risk = _risk(journal, run_id)
    before = _count(journal_url, Order)
    journal.record_order(
        run_id, _request("b-4"), venue="simulated", risk_event_id=risk.id, commit=False
    )
    assert _count(journal_url, Order) == before + 1


def test_ids_taken_by_another_writer_move_the_batch_and_its_order_references(
    journal_url: str,
) -> None:
    journal = Journal.open(journal_url)
    other = Journal.open(journal_url)
    run_id = populate(journal)
    with journal.batch():
        reserved = _risk(journal, run_id)
        taken = _risk(other, run_id)  # commits at once: takes the id reserved above
        assert taken.id == reserved.id
        journal.record_order(run_id, _request("b-2"), venue="simulated", risk_event_id=reserved.id)
    assert reserved.id == taken.id + 1
    order = journal.order("b-2")
    with journal.session() as s:
        decision = s.get(RiskEventRecord, order.risk_event_id)
        n_events = s.scalar(select(func.count()).select_from(OrderEvent)) or 0
    assert decision is not None and decision.id == reserved.id
    assert n_events > 0
    assert journal.verify().ok


def test_a_batch_is_committed_when_its_block_raises(journal_url: str) -> None:
    journal = Journal.open(journal_url)
    run_id = populate(journal)
    before = _count(journal_url, AuditEvent)
    with contextlib.suppress(RuntimeError), journal.batch():
        journal.record_equity(run_id, ts=T0, equity=Decimal(1), cash=Decimal(1))
        raise RuntimeError("venue down")
    assert _count(journal_url, AuditEvent) == before + 1  # as if written one by one
    assert journal.verify().ok


def test_a_failing_write_does_not_take_the_buffered_rows_with_it(journal_url: str) -> None:
    journal = Journal.open(journal_url)
    run_id = populate(journal)
    before = _count(journal_url, AuditEvent)
    with journal.batch():
        journal.record_equity(run_id, ts=T0, equity=Decimal(1), cash=Decimal(1))
        with pytest.raises(JournalError):
            journal.finish_run("no-such-run", "completed")  # refused inside its transaction
        assert _count(journal_url, AuditEvent) == before + 1
    assert journal.verify().ok
