"""The journal's reads for a restarted engine: a run's orders with their state, the fees and net
quantities its fills add up to, its signal keys, decided order ids and equity marks. Each is
checked against values written by hand, with a second run whose rows must not leak in."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from crypto_strategy_lab.core.enums import OrderSide, OrderType, SignalAction
from crypto_strategy_lab.core.orders import Fill, OrderRequest
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.journal import Journal

from .helpers import T0

H = timedelta(hours=1)


def _order(journal: Journal, run_id: str, coid: str, side: OrderSide, qty: str, strategy: str):  # type: ignore[no-untyped-def]
    request = OrderRequest(
        symbol="BTCUSDT",
        side=side,
        order_type=OrderType.MARKET,
        quantity=Decimal(qty),
        strategy=strategy,
        client_order_id=coid,
    )
    return journal.record_order(run_id, request, venue="simulated", ts=T0)


def _fill(journal: Journal, run_id: str, coid: str, side: OrderSide, qty: str, fee: str, n: int):  # type: ignore[no-untyped-def]
    strategy = journal.order(coid).strategy  # type: ignore[union-attr]
    fill = Fill(
        order_id=f"V-{coid}",
        client_order_id=coid,
        symbol="BTCUSDT",
        side=side,
        quantity=Decimal(qty),
        price=Decimal("50000"),
        fee=Decimal(fee),
        fee_currency="USDT",
        timestamp=T0 + n * timedelta(seconds=1),
        trade_id=f"{run_id}-{n}",
    )
    journal.record_fill(run_id, fill, venue="simulated", strategy=strategy)


def _risk(journal: Journal, run_id: str, coid: str | None) -> None:
    journal.record_risk_event(
        run_id=run_id,
        decision="approve" if coid else "reject",
        symbol="BTCUSDT",
        side="BUY",
        reason="test",
        requested_quantity=Decimal("1"),
        approved_quantity=Decimal("1") if coid else Decimal(0),
        reference_price=Decimal("50000"),
        rules=[],
        client_order_id=coid,
        ts=T0,
    )


def _signal(journal: Journal, run_id: str, strategy: str, ts) -> None:  # type: ignore[no-untyped-def]
    journal.record_signal(
        run_id,
        Signal(
            strategy=strategy,
            symbol="BTCUSDT",
            timestamp=ts,
            action=SignalAction.HOLD,
            strength=0.0,
        ),
    )


def _run(journal: Journal, name: str) -> str:
    run = journal.start_run(name=name, mode="simulated", capital=10_000, strategies=["a", "b"])
    return run.run_id


def _book(journal: Journal) -> tuple[str, str]:
    run, other = _run(journal, "run"), _run(journal, "other")
    with journal.batch():  # the reads must see what a batch still buffers
        _order(journal, run, "o-1", OrderSide.BUY, "0.3", "a")
        _order(journal, run, "o-2", OrderSide.SELL, "0.5", "b")
        _order(journal, other, "x-1", OrderSide.BUY, "7", "a")
        journal.record_order_event("o-1", "submitted", venue_order_id="V1")
        _fill(journal, run, "o-1", OrderSide.BUY, "0.1", "0.5", 1)
        _fill(journal, run, "o-1", OrderSide.BUY, "0.2", "0.25", 2)
        journal.record_order_event("o-1", "filled", filled_quantity=Decimal("0.3"))
        _fill(journal, run, "o-2", OrderSide.SELL, "0.2", "1", 3)
        journal.record_order_event("o-2", "partially_filled", filled_quantity=Decimal("0.2"))
        _fill(journal, other, "x-1", OrderSide.BUY, "7", "9", 4)
        for coid in ("o-1", None, "o-2"):
            _risk(journal, run, coid)
        _risk(journal, other, "x-1")
        _signal(journal, run, "a", T0)
        _signal(journal, run, "b", T0 + H)
        _signal(journal, other, "a", T0 + 5 * H)
        # 10,050 then 9,990: the peak is 10,050 (as text, '9990' > '10050')
        for i, equity in enumerate(("10050", "9990")):
            journal.record_equity(run, ts=T0 + i * H, equity=Decimal(equity), cash=Decimal(0))
        journal.record_equity(other, ts=T0 + 9 * H, equity=Decimal("99999"), cash=Decimal(0))
        return run, other


def test_run_orders_are_the_runs_orders_with_their_current_state(journal: Journal) -> None:
    run, _ = _book(journal)
    states = {o.client_order_id: (o.strategy, e.status, e.filled_quantity, e.venue_order_id)
              for o, e in journal.run_orders(run)}  # fmt: skip
    assert states == {
        "o-1": ("a", "filled", Decimal("0.3"), "V1"),
        "o-2": ("b", "partially_filled", Decimal("0.2"), None),
    }


def test_run_orders_come_in_the_order_they_were_journaled(journal: Journal) -> None:
    # ids whose key order is the reverse of the journal order: a restart restores orders in
    # the order it sent them, whatever order the database would scan its primary key in
    run = _run(journal, "run")
    for coid in ("z-3", "m-2", "a-1"):
        _order(journal, run, coid, OrderSide.BUY, "1", "a")
    assert [o.client_order_id for o, _ in journal.run_orders(run)] == ["z-3", "m-2", "a-1"]


def test_fills_add_up_to_signed_net_quantities_and_fees_per_order(journal: Journal) -> None:
    run, other = _book(journal)
    assert journal.net_quantities(run) == {"a": Decimal("0.3"), "b": Decimal("-0.2")}
    assert journal.fees_by_order(run) == {"o-1": Decimal("0.75"), "o-2": Decimal("1")}
    assert journal.net_quantities(other) == {"a": Decimal("7")}


def test_signal_keys_and_decided_order_ids(journal: Journal) -> None:
    run, _ = _book(journal)
    assert journal.signal_keys(run) == {("a", T0), ("b", T0 + H)}
    assert journal.decided_order_ids(run) == {"o-1", "o-2"}  # the rejection names no order


def test_equity_marks(journal: Journal) -> None:
    run, other = _book(journal)
    assert journal.last_equity_time(run) == T0 + H
    assert journal.peak_equity(run) == Decimal("10050")
    assert journal.last_equity_time("no-such-run") is None
    assert journal.peak_equity(other) == Decimal("99999")
