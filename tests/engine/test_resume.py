"""load_progress: what a restarted engine takes from the journal, read back from rows written by
hand (checkpoint, equity mark, signal keys, decided ids, peak equity), and where the peak goes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd

from crypto_strategy_lab.core.enums import OrderSide, OrderType, SignalAction
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.engine.resume import load_progress
from crypto_strategy_lab.journal import Journal
from tests.engine.helpers import FixedSignal, replay_engine

T0 = datetime(2024, 3, 1, tzinfo=UTC)
H = timedelta(hours=1)


def test_load_progress_reads_the_runs_marks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    journal = Journal.open(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    run = journal.start_run(name="r", mode="simulated", capital=10_000, strategies=["a"]).run_id
    # 10,050 then 9,990: the peak is 10,050 (as SQLite's decimal text, '9990' > '10050')
    journal.record_equity(run, ts=T0, equity=Decimal("10050"), cash=Decimal(0))
    journal.record_equity(run, ts=T0 + H, equity=Decimal("9990"), cash=Decimal(0))
    signal = Signal(
        strategy="a", symbol="BTCUSDT", timestamp=T0 + 2 * H, action=SignalAction.BUY, strength=1.0
    )
    journal.record_signal(run, signal)
    request = OrderRequest(
        symbol="BTCUSDT",
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        quantity=Decimal("0.1"),
        strategy="a",
        client_order_id="csl-1",
    )
    journal.record_order(run, request, venue="simulated", ts=T0 + 3 * H)
    journal.record_risk_event(
        run_id=run,
        decision="reject",
        symbol="BTCUSDT",
        side="BUY",
        reason="cap",
        requested_quantity=Decimal("1"),
        approved_quantity=Decimal(0),
        reference_price=Decimal("50000"),
        rules=[],
        client_order_id="csl-0",
        ts=T0,
    )

    progress = load_progress(journal, run)

    assert progress.checkpoint == T0 + 3 * H  # the order is the latest row
    assert progress.equity_mark == T0 + H
    assert progress.signal_keys == {("a", T0 + 2 * H)}
    assert progress.decided == {"csl-0", "csl-1"}
    assert progress.peak_equity == Decimal("10050")
    assert load_progress(journal, "another-run").checkpoint is None


async def test_resumed_engine_sizes_against_the_journals_peak(journal, btc_bars) -> None:  # type: ignore[no-untyped-def]
    """The peak a resume reads reaches the risk engine's portfolio view (drawdown rules)."""
    bars = btc_bars.iloc[:20]
    flat = FixedSignal(pd.Series(0.0, index=bars.index))
    engine, _ = replay_engine(journal, flat, bars, capital=10_000.0)
    run_id = await engine.start()
    for i, equity in enumerate((Decimal("10500"), Decimal("9990"))):
        journal.record_equity(run_id, ts=bars.index[i], equity=equity, cash=equity)

    resumed, _ = replay_engine(journal, flat, bars, capital=10_000.0, run_id=run_id)
    await resumed.start()

    assert resumed.book is not None
    state = await resumed.book.portfolio_state()
    assert state.peak_equity == Decimal("10500")  # max of 10,500, 9,990 and the capital
