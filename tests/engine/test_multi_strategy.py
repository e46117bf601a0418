"""Several strategies in one run: every sleeve sees exactly its own fills and position.

Each strategy trades its own simulated sub-account on the same symbol. The journal must hold
every fill of every sleeve (a fill lost to a trade-id collision between sub-accounts left
market orders ``submitted`` forever), the fills must reproduce each strategy's journaled
position, and the dashboard's fill-based attribution must explain the equity change.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import select

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.engine.paper import build_simulated_run
from crypto_strategy_lab.journal.models import FillRecord, Order, OrderEvent
from crypto_strategy_lab.monitoring.attribution import (
    fill_position_mismatches,
    open_positions,
    pnl_attribution,
    realized_pnl,
)
from crypto_strategy_lab.monitoring.reader import JournalReader

# three strategies that trade in the replayed days of the bundled 15m bars (spans at 15m)
STRATEGIES = ["pacf_spike", "true_range_divergence", "volatility_clustering"]
CAPITAL = 10_000.0


def _order_outcomes(journal, run_id: str) -> pd.DataFrame:
    with journal.session() as s:
        orders = s.execute(
            select(Order.client_order_id, Order.strategy, Order.order_type, Order.created_at).where(
                Order.run_id == run_id
            )
        ).all()
        events = s.execute(
            select(OrderEvent.client_order_id, OrderEvent.status, OrderEvent.reason)
            .where(OrderEvent.run_id == run_id)
            .order_by(OrderEvent.client_order_id, OrderEvent.seq)
        ).all()
        fills = s.execute(
            select(FillRecord.client_order_id, FillRecord.quantity).where(
                FillRecord.run_id == run_id
            )
        ).all()
    last = {c: (status, reason) for c, status, reason in events}
    filled: dict[str, Decimal] = {}
    for coid, qty in fills:
        filled[coid] = filled.get(coid, Decimal(0)) + qty
    return pd.DataFrame(
        [
            (c, strat, kind, created, *last[c], filled.get(c, Decimal(0)))
            for c, strat, kind, created in orders
        ],
        columns=["coid", "strategy", "order_type", "created_at", "status", "reason", "filled"],
    )


def _run_three(journal, **costs):
    engine, feed = build_simulated_run(
        journal, STRATEGIES, days=3, capital=CAPITAL, costs=CostModel(**costs)
    )
    summary = asyncio.run(engine.run(feed))
    assert summary.status == "completed"
    return engine, summary


def test_every_market_order_of_every_strategy_fills(journal) -> None:
    # a first run in the same journal: its fills must not shadow the second run's
    _run_three(journal, funding_rate_8h=0.0)
    engine, summary = _run_three(journal, funding_rate_8h=0.0)
    run_id = summary.run_id
    last_close = engine.clock.now()

    outcomes = _order_outcomes(journal, run_id)
    market = outcomes[outcomes.order_type == "MARKET"]
    assert set(market.strategy) == set(STRATEGIES)  # every sleeve really trades
    final_bar = market.created_at == last_close
    before = market[~final_bar]
    assert len(before) > 30
    assert (before.status == "filled").all(), before[before.status != "filled"]
    with journal.session() as s:
        quantities = dict(s.execute(select(Order.client_order_id, Order.quantity)).all())
    assert all(quantities[c] == f for c, f in zip(before.coid, before.filled, strict=True))
    # an order decided on the last bar never meets a bar to fill on: cancelled, and said why
    for row in market[final_bar].itertuples():
        assert row.status == "cancelled" and "run ended" in row.reason
    # nothing is left open at the simulated venue, whose book ends with the run
    assert not (outcomes.status.isin(["new", "submitted", "partially_filled"])).any()

    # the journal's fills reproduce each strategy's journaled and venue position
    reader = JournalReader(journal.engine)
    fills = reader.fills(run_id)
    ledger = realized_pnl(fills)
    assert fill_position_mismatches(ledger, reader.positions(run_id)).empty
    for sleeve in engine.sleeves:
        venue_qty = sum(
            (p.quantity for p in asyncio.run(sleeve.exchange.get_positions("BTCUSDT"))),
            Decimal(0),
        )
        book = ledger[ledger.strategy == sleeve.name]
        from_fills = float(book.position.iloc[-1]) if len(book) else 0.0
        assert from_fills == pytest.approx(float(venue_qty), abs=1e-12)

    # attribution from the fills explains the equity change (no funding in this run)
    marks = pd.Series({"BTCUSDT": float(engine.book.prices["BTCUSDT"])})
    by_strategy = pnl_attribution(ledger, "strategy", unrealized=open_positions(ledger, marks))
    equity = reader.equity(run_id)["equity"]
    change = float(equity.iloc[-1]) - CAPITAL
    assert float(by_strategy["net_pnl"].sum()) == pytest.approx(change, abs=1e-6)
    assert set(by_strategy.index) == set(STRATEGIES)
    assert journal.verify().ok


def test_two_sleeves_on_one_account_are_refused(journal) -> None:
    """A venue nets positions per account and symbol: one sleeve's reduce-only exits would
    close the other's exposure, so the engine refuses the configuration."""
    from crypto_strategy_lab.core.enums import MarketType, TradingMode
    from crypto_strategy_lab.engine import Sleeve, StrategyRunner, TradingEngine
    from crypto_strategy_lab.engine.loop import EngineError
    from crypto_strategy_lab.exchanges import ExchangeFactory
    from crypto_strategy_lab.strategies import get_strategy

    shared = ExchangeFactory.create_exchange("simulated", TradingMode.SIMULATED)
    sleeves = [
        Sleeve(StrategyRunner(get_strategy(n), "BTCUSDT", MarketType.LINEAR), shared, 0.1)
        for n in STRATEGIES[:2]
    ]
    with pytest.raises(EngineError, match="share one venue account"):
        TradingEngine(journal, sleeves, mode=TradingMode.SIMULATED, capital=CAPITAL)


def test_build_reports_each_strategy_once_it_is_prepared(journal, monkeypatch) -> None:
    """``on_prepared`` (the CLI's progress bar) fires once per strategy, in order, each time
    after that strategy's signals over the history exist and before the next one starts."""
    from crypto_strategy_lab.engine.runner import StrategyRunner

    events: list[tuple[str, str]] = []
    prepare = StrategyRunner.prepare

    def recording(self, history):
        events.append(("prepare", self.name))
        prepare(self, history)

    monkeypatch.setattr(StrategyRunner, "prepare", recording)
    engine, _ = build_simulated_run(
        journal, STRATEGIES, days=1, capital=CAPITAL,
        on_prepared=lambda name: events.append(("prepared", name)),
    )  # fmt: skip
    assert events == [(kind, s) for s in STRATEGIES for kind in ("prepare", "prepared")]
    assert all(s.runner.precomputed() is not None for s in engine.sleeves)
