"""Build a small but complete journal (every audited table gets rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from crypto_strategy_lab.core.enums import OrderSide, OrderType, SignalAction
from crypto_strategy_lab.core.orders import Fill, OrderRequest, Position
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.journal import Journal

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def populate(journal: Journal) -> str:
    """:func:`populate_trading` and :func:`populate_research`; returns the run's id."""
    run_id = populate_trading(journal)
    populate_research(journal)
    return run_id


def populate_trading(journal: Journal, *, legacy_equity: bool = False) -> str:
    """Write one run with an order life cycle, fills, snapshots, alerts and halts.

    Only the trading tables: the research stores migrate a journal to head when opened.
    ``legacy_equity`` writes the equity point as an ``equity_curve`` row, as the journal did
    before migration 0007 (for a journal populated at an older revision).
    """
    run = journal.start_run(
        name="paper-test",
        mode="simulated",
        capital=Decimal("10000"),
        strategies=["lag_autocorr"],
        config={"capital": Decimal("10000"), "symbols": ["BTCUSDT"]},
        started_at=T0,
    )
    journal.record_signal(
        run.run_id,
        Signal(
            strategy="lag_autocorr",
            symbol="BTCUSDT",
            timestamp=T0,
            action=SignalAction.BUY,
            strength=0.5,
            price=50_000.0,
            quantity=Decimal("0.01"),
            statistics={"rho1": 0.12},
        ),
    )
    risk = journal.record_risk_event(
        run_id=run.run_id,
        decision="resize",
        rule="position_cap",
        reason="position cap 10% of capital",
        symbol="BTCUSDT",
        side="BUY",
        requested_quantity=Decimal("0.03"),
        approved_quantity=Decimal("0.02"),
        reference_price=Decimal("50000"),
        stop_loss=Decimal("49000"),
        take_profit=Decimal("52000"),
        rules=[{"rule": "position_cap", "action": "resize", "reason": "cap"}],
        ts=T0,
    )
    request = OrderRequest(
        symbol="BTCUSDT",
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.02"),
        stop_loss=Decimal("49000"),
        take_profit=Decimal("52000"),
        strategy="lag_autocorr",
        client_order_id="csl-test-order-1",
    )
    journal.record_order(run.run_id, request, venue="simulated", risk_event_id=risk.id, ts=T0)
    journal.record_order_event("csl-test-order-1", "submitted", venue_order_id="V1", ts=T0)
    journal.record_order_event(
        "csl-test-order-1",
        "partially_filled",
        filled_quantity=Decimal("0.01"),
        average_price=Decimal("50000"),
        ts=T0 + timedelta(seconds=1),
    )
    for i, price in enumerate(("50000", "50010")):
        journal.record_fill(
            run.run_id,
            Fill(
                order_id="V1",
                client_order_id="csl-test-order-1",
                symbol="BTCUSDT",
                side=OrderSide.BUY,
                quantity=Decimal("0.01"),
                price=Decimal(price),
                fee=Decimal("0.275"),
                fee_currency="USDT",
                timestamp=T0 + timedelta(seconds=1 + i),
                trade_id=f"T{i}",
            ),
            venue="simulated",
            strategy="lag_autocorr",
        )
    journal.record_order_event(
        "csl-test-order-1",
        "filled",
        filled_quantity=Decimal("0.02"),
        average_price=Decimal("50005"),
        ts=T0 + timedelta(seconds=2),
    )
    journal.record_position(
        run.run_id,
        Position(
            symbol="BTCUSDT",
            quantity=Decimal("0.02"),
            average_price=Decimal("50005"),
            venue="simulated",
            mark_price=Decimal("50100"),
            unrealized_pnl=Decimal("1.9"),
        ),
        ts=T0 + timedelta(seconds=3),
        strategy="lag_autocorr",
    )
    point = {
        "equity": Decimal("9999.35"),
        "cash": Decimal("8997.45"),
        "gross_exposure": Decimal("1002"),
        "net_exposure": Decimal("1002"),
        "unrealized_pnl": Decimal("1.9"),
    }
    if legacy_equity:
        legacy_equity_point(journal, run.run_id, T0 + timedelta(seconds=3), **point)
    else:
        journal.record_equity(run.run_id, ts=T0 + timedelta(seconds=3), **point)
    alert = journal.raise_alert("warning", "reconciliation", "test alert", run_id=run.run_id)
    journal.acknowledge_alert(alert.id, by="alice", note="seen")
    journal.halt("manual test", actor="alice", run_id=run.run_id)
    journal.audit("reconcile.ok", {"orders": 1}, run_id=run.run_id)
    return run.run_id


def legacy_equity_point(
    journal: Journal,
    run_id: str,
    ts: datetime,
    equity: Decimal,
    cash: Decimal | None = None,
    gross_exposure: Decimal = Decimal(0),
    net_exposure: Decimal = Decimal(0),
    unrealized_pnl: Decimal = Decimal(0),
) -> None:
    """An ``equity_curve`` row as the journal wrote one per point before migration 0007.

    Written through the journal's own audited path (the ORM record with its audit event),
    as an old journal holds them: readers and the verifier must still take them. ``cash``
    defaults to ``equity``; ``realized_pnl`` is 0.
    """
    from crypto_strategy_lab.journal.models import EquityPoint

    point = EquityPoint(
        run_id=run_id,
        ts=ts,
        equity=equity,
        cash=equity if cash is None else cash,
        gross_exposure=gross_exposure,
        net_exposure=net_exposure,
        realized_pnl=Decimal(0),
        unrealized_pnl=unrealized_pnl,
    )
    journal.writer.write(lambda session: journal.writer.add(session, point, "equity", run_id))


def populate_research(journal: Journal) -> None:
    """A registered dataset, two trials on it and two gate verdicts (research's tables)."""
    import numpy as np
    import pandas as pd

    from crypto_strategy_lab.research.verdicts import VerdictStore
    from crypto_strategy_lab.validation.gate import Criterion, GateVerdict
    from crypto_strategy_lab.validation.trial_log import DataIdentity, TrialLog

    log = TrialLog(journal.engine)
    start, end = pd.Timestamp(T0), pd.Timestamp(T0) + pd.Timedelta(days=30)
    closes = {f"2024-03-{d:02d}": 50000.0 + d for d in range(2, 30)}
    family = log.register_data(
        "c" * 64, name="btc", timeframe="1h", n_bars=720, start=start, end=end, daily_closes=closes
    )
    data = DataIdentity("c" * 64, family, "1h", 8760.0, "btc")
    index = pd.date_range(start, periods=100, freq="1h")
    for lag in (1, 2):
        returns = pd.Series(np.random.default_rng(lag).normal(0, 0.01, 100), index=index)
        log.record(
            study="s", strategy="lag_autocorr", params={"lag": lag}, returns=returns, data=data
        )
    store = VerdictStore(journal.engine)
    for passed in (False, True):
        verdict = GateVerdict("lag_autocorr", (Criterion("dsr", 0.9, 0.95, ">=", passed),))
        store.save("lab-1", verdict, symbol="btc", params={"lag": 1}, data=data)
