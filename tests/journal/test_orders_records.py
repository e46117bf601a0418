"""The order path's records are written as column rows: what the write API returns, what is
committed and what the audit chain holds must still be the mapped rows' own values."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from crypto_strategy_lab.core.enums import OrderSide, OrderStatus, OrderType, SignalAction
from crypto_strategy_lab.core.orders import Fill, OrderRequest
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.audit import record_payload
from crypto_strategy_lab.journal.models import FillRecord, OrderEvent, RiskEventRecord, SignalRecord
from crypto_strategy_lab.security.audit_log import AuditLog, MemoryAuditSink
from crypto_strategy_lab.security.redaction import MASK

from .helpers import T0


def _columns(row: object, table: object) -> dict[str, object]:
    return {c.name: getattr(row, c.key) for c in table.columns}  # type: ignore[attr-defined]


def test_rows_written_in_a_batch_are_the_rows_read_back(journal: Journal) -> None:
    run = journal.start_run(
        name="t", mode="simulated", capital=Decimal(1000), strategies=["s"], config={}
    )
    with journal.batch():
        signal = journal.record_signal(
            run.run_id,
            Signal(
                strategy="s",
                symbol="BTCUSDT",
                timestamp=T0,
                action=SignalAction.BUY,
                strength=0.25,
                price=50_000.5,
                statistics={"ema_fast": 1.5, "ema_slow": -0.0},
            ),
        )
        risk = journal.record_risk_event(
            run_id=run.run_id,
            decision="approve",
            symbol="BTCUSDT",
            side="BUY",
            reason="ok",
            requested_quantity=Decimal("0.0300"),
            approved_quantity=Decimal("0.03"),
            reference_price=Decimal("50000.50"),
            stop_loss=Decimal("49000"),
            rules=[{"rule": "position_cap", "action": "pass", "reason": ""}],
            client_order_id="c-1",
            strategy="s",
            venue="simulated",
            ts=T0,
        )
        journal.record_order(
            run.run_id,
            OrderRequest(
                symbol="BTCUSDT",
                side=OrderSide.BUY,
                order_type=OrderType.MARKET,
                quantity=Decimal("0.03"),
                client_order_id="c-1",
                strategy="s",
            ),
            venue="simulated",
            risk_event_id=risk.id,
            ts=T0,
            commit=False,
        )
        submitted = journal.record_order_event(
            "c-1", OrderStatus.SUBMITTED, venue_order_id="v-1", ts=T0
        )
        fill, created = journal.record_fill(
            run.run_id,
            Fill(
                order_id="v-1",
                client_order_id="c-1",
                symbol="BTCUSDT",
                side=OrderSide.BUY,
                quantity=Decimal("0.03"),
                price=Decimal("50001.25"),
                fee=Decimal("0.90"),
                fee_currency="USDT",
                trade_id="t-1",
                timestamp=T0 + timedelta(seconds=1),
            ),
            venue="simulated",
            strategy="s",
        )
        filled = journal.record_order_event(
            "c-1",
            OrderStatus.FILLED,
            filled_quantity=Decimal("0.03"),
            average_price=Decimal("50001.25"),
            ts=T0 + timedelta(seconds=1),
        )
        # a replayed trade id inside the batch is the buffered fill, not a second one
        again, created_again = journal.record_fill(
            run.run_id,
            Fill(
                order_id="v-1",
                client_order_id="c-1",
                symbol="BTCUSDT",
                side=OrderSide.BUY,
                quantity=Decimal("0.03"),
                price=Decimal("50001.25"),
                trade_id="t-1",
            ),
            venue="simulated",
        )
    assert created and not created_again and again is fill
    # the state machine's bookkeeping, by hand: seq counts from the "new" event, the venue id
    # and the fill price carry over to later events
    assert (submitted.seq, submitted.status, submitted.venue_order_id) == (2, "submitted", "v-1")
    assert (filled.seq, filled.venue_order_id, filled.filled_quantity) == (
        3,
        "v-1",
        Decimal("0.03"),
    )
    assert str(fill.fee) == "0.9" and fill.strategy == "s" and fill.run_id == run.run_id
    assert risk.rules == [{"rule": "position_cap", "action": "pass", "reason": ""}]
    assert journal.order("c-1").risk_event_id == risk.id  # type: ignore[union-attr]
    written = [
        (signal, SignalRecord),
        (risk, RiskEventRecord),
        (submitted, OrderEvent),
        (fill, FillRecord),
        (filled, OrderEvent),
    ]
    with journal.writer.sessions() as session:
        for row, model in written:
            stored = session.scalar(select(model).where(model.id == row.id))
            assert stored is not None
            # the mapped row read back from the database is the row the writer was given
            assert record_payload(stored) == _columns(row, model.__table__)
    assert journal.verify().ok
    # after the commit the fill is found in the database: still journaled once
    _, created_later = journal.record_fill(
        run.run_id,
        Fill(
            order_id="v-1",
            client_order_id="c-1",
            symbol="BTCUSDT",
            side=OrderSide.BUY,
            quantity=Decimal("0.03"),
            price=Decimal("50001.25"),
            trade_id="t-1",
        ),
        venue="simulated",
    )
    assert not created_later
    assert len(journal.fills(run.run_id)) == 1


def test_an_audit_event_dict_is_dataclasses_asdict() -> None:
    sink = MemoryAuditSink()
    log = AuditLog([sink], secrets=["s3cret"])
    event = log.record(
        "order.reply",
        venue="bybit",
        mode="paper",
        client_order_id="c-1",
        order_id="v-1",
        symbol="BTCUSDT",
        detail={
            "status": OrderStatus.FILLED,
            "quantity": Decimal("0.03"),
            "venue_reply": {"retMsg": "key s3cret", "list": [{"qty": "0.03"}]},
        },
    )
    assert event is not None
    assert event.to_dict() == dataclasses.asdict(event)
    assert event.to_dict()["detail"]["venue_reply"]["retMsg"] == f"key {MASK}"
