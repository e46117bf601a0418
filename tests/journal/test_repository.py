"""The repository: append-only, order state machine, exact values, restart-safe halts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from crypto_strategy_lab.core.enums import OrderSide, OrderType
from crypto_strategy_lab.core.orders import Fill, OrderRequest
from crypto_strategy_lab.journal import Journal, JournalError
from crypto_strategy_lab.journal.models import FillRecord, OrderEvent, Run
from tests.journal.helpers import T0, populate


def _order(journal: Journal, run_id: str, coid: str, qty: str = "1") -> None:
    request = OrderRequest(
        symbol="ETHUSDT",
        side=OrderSide.SELL,
        order_type=OrderType.LIMIT,
        quantity=Decimal(qty),
        price=Decimal("3000"),
        client_order_id=coid,
    )
    journal.record_order(run_id, request, venue="bybit", ts=T0)


@pytest.fixture
def run_id(journal: Journal) -> str:
    return journal.start_run(
        name="t", mode="paper", capital=1000, strategies=["vpin"], started_at=T0
    ).run_id


def test_order_life_cycle_and_current_state(journal: Journal, run_id: str) -> None:
    _order(journal, run_id, "o-1", qty="2")
    assert journal.order_status("o-1").status == "new"
    journal.record_order_event("o-1", "submitted", venue_order_id="X9")
    journal.record_order_event("o-1", "partially_filled", filled_quantity=Decimal("0.5"))
    journal.record_order_event("o-1", "partially_filled", filled_quantity=Decimal("1.5"))
    assert [o.client_order_id for o, _ in journal.open_orders(run_id)] == ["o-1"]
    journal.record_order_event("o-1", "filled", filled_quantity=Decimal("2"))
    events = journal.order_events("o-1")
    assert [e.status for e in events] == [
        "new",
        "submitted",
        "partially_filled",
        "partially_filled",
        "filled",
    ]
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[-1].venue_order_id == "X9"  # carried forward
    assert journal.open_orders(run_id) == []


@pytest.mark.parametrize(
    ("path", "bad", "kwargs"),
    [
        (["submitted", "cancelled"], "submitted", {}),  # terminal accepts nothing
        (["submitted"], "new", {}),  # no way back
        (["submitted"], "filled", {"filled_quantity": Decimal("0.5")}),  # filled must be full
        (["submitted"], "partially_filled", {"filled_quantity": Decimal("1")}),  # == qty
        (["submitted"], "partially_filled", {"filled_quantity": Decimal("1.5")}),  # > qty
        (
            ["submitted", ("partially_filled", Decimal("0.6"))],
            "partially_filled",
            {"filled_quantity": Decimal("0.5")},  # decreasing
        ),
    ],
)
def test_illegal_transitions_are_refused(
    journal: Journal, run_id: str, path: list, bad: str, kwargs: dict
) -> None:
    _order(journal, run_id, "o-2")
    for step in path:
        if isinstance(step, tuple):
            journal.record_order_event("o-2", step[0], filled_quantity=step[1])
        else:
            journal.record_order_event("o-2", step)
    n_before = len(journal.order_events("o-2"))
    with pytest.raises(JournalError):
        journal.record_order_event("o-2", bad, **kwargs)
    assert len(journal.order_events("o-2")) == n_before
    assert journal.verify().ok


def test_crash_recovery_may_jump_from_new_to_filled(journal: Journal, run_id: str) -> None:
    _order(journal, run_id, "o-3")
    journal.record_order_event("o-3", "filled", filled_quantity=Decimal("1"), reason="reconcile")
    assert journal.order_status("o-3").status == "filled"


def test_duplicate_client_order_id_is_refused(journal: Journal, run_id: str) -> None:
    _order(journal, run_id, "o-4")
    with pytest.raises(JournalError, match="already in the journal"):
        _order(journal, run_id, "o-4")


def test_fills_are_journaled_once_per_trade_id(journal: Journal, run_id: str) -> None:
    _order(journal, run_id, "o-5")
    fill = Fill(
        order_id="X",
        client_order_id="o-5",
        symbol="ETHUSDT",
        side=OrderSide.SELL,
        quantity=Decimal("0.25"),
        price=Decimal("3000.5"),
        trade_id="tr-1",
    )
    first, created = journal.record_fill(run_id, fill, venue="bybit")
    again, created_again = journal.record_fill(run_id, fill, venue="bybit")
    assert created and not created_again
    assert again.id == first.id
    assert len(journal.fills(run_id)) == 1


def test_a_trade_id_of_another_order_is_a_collision_not_a_duplicate(
    journal: Journal, run_id: str
) -> None:
    """Two accounts (or runs) reusing a trade id must not silently drop the second fill."""
    _order(journal, run_id, "o-6")
    _order(journal, run_id, "o-7")
    fill = Fill(
        order_id="X",
        client_order_id="o-6",
        symbol="ETHUSDT",
        side=OrderSide.SELL,
        quantity=Decimal("0.25"),
        price=Decimal("3000.5"),
        trade_id="tr-9",
    )
    journal.record_fill(run_id, fill, venue="bybit")
    other = fill.model_copy(update={"client_order_id": "o-7"})
    with pytest.raises(JournalError, match=r"trade id 'tr-9'.*already journaled"):
        journal.record_fill(run_id, other, venue="bybit")
    assert len(journal.fills(run_id)) == 1


def test_sessions_refuse_updates_and_deletes(journal: Journal, run_id: str) -> None:
    _order(journal, run_id, "o-6")
    with journal.session() as session:
        event = session.scalar(select(OrderEvent))
        event.status = "filled"
        with pytest.raises(JournalError, match="append-only"):
            session.commit()
    with journal.session() as session:
        session.delete(session.scalar(select(OrderEvent)))
        with pytest.raises(JournalError, match="append-only"):
            session.commit()
    with journal.session() as session:
        session.get(Run, run_id).capital = Decimal(1)
        with pytest.raises(JournalError, match="append-only"):
            session.commit()
    assert journal.order_status("o-6").status == "new"


def test_run_finishes_once(journal: Journal, run_id: str) -> None:
    journal.finish_run(run_id, "completed", ended_at=T0 + timedelta(hours=1))
    run = journal.get_run(run_id)
    assert run.status == "completed"
    assert run.ended_at == T0 + timedelta(hours=1)
    with pytest.raises(JournalError, match="already ended"):
        journal.finish_run(run_id, "failed")
    assert journal.verify().ok


def test_decimals_and_timestamps_round_trip_exactly(journal: Journal, run_id: str) -> None:
    _order(journal, run_id, "o-7")
    price = Decimal("12345678901234567890.123456789012345678")  # 38 significant digits
    tz = timezone(timedelta(hours=9))
    ts = datetime(2024, 5, 1, 9, 30, 15, 123456, tzinfo=tz)
    fill = Fill(
        order_id="X",
        client_order_id="o-7",
        symbol="ETHUSDT",
        side=OrderSide.SELL,
        quantity=Decimal("0.1"),
        price=price,
        fee=Decimal("0.0000000000000000001"),  # 19 places: rounds to 0 at 18
        timestamp=ts,
        trade_id="tr-7",
    )
    journal.record_fill(run_id, fill, venue="bybit")
    with journal.session() as session:
        stored = session.scalar(select(FillRecord).where(FillRecord.trade_id == "tr-7"))
    assert stored.price == price
    assert stored.quantity == Decimal("0.1")
    assert stored.fee == 0
    assert stored.ts == ts and stored.ts.tzinfo is UTC
    assert stored.ts.hour == 0  # 09:30 at +09:00 is 00:30 UTC


def test_naive_timestamps_are_refused(journal: Journal, run_id: str) -> None:
    with pytest.raises(JournalError, match="timezone-aware"):
        journal.record_equity(run_id, ts=datetime(2024, 1, 1), equity=Decimal(1), cash=Decimal(1))


def test_kill_switch_survives_restart_until_rearmed(journal_url: str) -> None:
    first = Journal.open(journal_url)
    first.halt("operator pressed kill", actor="bob")
    first.engine.dispose()
    second = Journal.open(journal_url)  # a restarted process
    assert second.is_halted()
    assert second.halt_state().reason == "operator pressed kill"
    with pytest.raises(JournalError, match="human"):
        second.rearm("auto", actor="system")
    assert second.is_halted()
    second.rearm("checked positions", actor="bob")
    assert not second.is_halted()
    second.engine.dispose()


def test_alerts_and_acknowledgements(journal: Journal) -> None:
    populate(journal)
    new = journal.raise_alert("critical", "reconciliation", "position mismatch")
    unacked = journal.alerts(unacknowledged_only=True)
    assert [a.id for a, _ in unacked] == [new.id]
    with pytest.raises(JournalError, match="severity"):
        journal.raise_alert("fatal", "x", "y")
    journal.acknowledge_alert(new.id, by="carol")
    with pytest.raises(JournalError, match="already acknowledged"):
        journal.acknowledge_alert(new.id, by="carol")
    assert journal.alerts(unacknowledged_only=True) == []


def test_equity_helpers(journal: Journal) -> None:
    run_id = populate(journal)
    journal.record_equity(
        run_id, ts=T0 + timedelta(days=1), equity=Decimal("10100"), cash=Decimal("10100")
    )
    frame = journal.equity_frame(run_id)
    assert list(frame["equity"]) == [9999.35, 10100.0]
    assert str(frame.index.tz) == "UTC"
    assert journal.peak_equity(run_id) == Decimal("10100")
    assert journal.equity_at_or_before(run_id, T0 + timedelta(hours=5)) == Decimal("9999.35")
    assert journal.equity_at_or_before(run_id, T0 - timedelta(hours=5)) is None


def test_concurrent_writers_keep_one_valid_chain(journal: Journal) -> None:
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            for i in range(15):
                journal.raise_alert("info", tag, f"{tag}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{k}",)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    report = journal.verify()
    assert report.ok, report.problems
    assert report.n_events == 45
