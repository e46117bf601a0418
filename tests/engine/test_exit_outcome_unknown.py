"""An exit whose send outcome was lost is found and cancelled when the exits are re-placed.

A reduce-only stop that reached the venue but whose reply (and the look-ups after it) were lost
has no venue order id in the journal. When a later fill re-places the exits, that stop must be
looked up and cancelled like the others, not forgotten at the venue, where it would rest on and
could close a later position at the old level.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pandas as pd

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, OrderStatus, OrderType, TradingMode
from crypto_strategy_lab.core.errors import ExchangeUnavailable
from crypto_strategy_lab.engine import HistoricalReplayFeed, Sleeve, StrategyRunner, TradingEngine
from crypto_strategy_lab.exchanges.retry import RetryPolicy
from crypto_strategy_lab.exchanges.simulated.client import SimulatedExchange
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import ProtectiveStops, RiskLimits
from tests.engine.helpers import FixedSignal, ramp_bars

REDUCE_AT, CHECK_AT, N = 10, 13, 20


class _LosesTheFirstStopsReply(SimulatedExchange):
    """Takes the first reduce-only stop, then loses its reply and every look-up of it
    until ``down`` is cleared."""

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(retry_policy=RetryPolicy(attempts=2, base=0.0, cap=0.0), **kw)
        self.lost: str | None = None
        self.down = False

    async def _submit(self, request):  # type: ignore[no-untyped-def]
        result = await super()._submit(request)
        if self.lost is None and request.reduce_only and request.order_type is OrderType.STOP:
            self.lost, self.down = request.client_order_id, True
            raise ExchangeUnavailable("reply lost", venue=self.venue)
        return result

    async def _find_by_client_id(self, request):  # type: ignore[no-untyped-def]
        if self.down and request.client_order_id == self.lost:
            raise ExchangeUnavailable("venue unreachable", venue=self.venue)
        return await super()._find_by_client_id(request)


class _Feed:
    """The replay feed; the venue answers look-ups again from bar 2 on, and the venue's live
    stops are read after bar ``CHECK_AT`` (the bar after the reducing fill re-placed them)."""

    def __init__(self, feed, venue, sleeve, engine) -> None:  # type: ignore[no-untyped-def]
        self.feed, self.venue, self.sleeve, self.engine = feed, venue, sleeve, engine
        self.live_stops: list[str] | None = None
        self.tracked: list[str] | None = None
        self.halts: list[str | None] = []  # the engine's halt reason before each bar

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        i = 0
        async for bar in self.feed:
            self.halts.append(self.engine.halt_reason)
            if i == 2:
                self.venue.down = False
            if i == CHECK_AT + 1:
                self.live_stops = [
                    o.request.client_order_id
                    for o in self.venue._live_orders("BTCUSDT")
                    if o.request.order_type is OrderType.STOP
                ]
                self.tracked = list(self.sleeve.exit_orders)
            yield bar
            i += 1


def test_a_lost_exit_is_cancelled_when_the_exits_are_replaced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bars = ramp_bars(N)
    targets = [1.0] * REDUCE_AT + [0.5] * (N - REDUCE_AT)
    journal = Journal.open(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    costs = CostModel()
    runner = StrategyRunner(
        FixedSignal(pd.Series(targets, index=bars.index)), "BTCUSDT", MarketType.LINEAR
    )
    runner.prepare(bars)
    venue = _LosesTheFirstStopsReply(cost_model=costs, cash=Decimal(10_000))
    stops = ProtectiveStops(stop_loss=0.02, take_profit=None)
    sleeve = Sleeve(runner, venue, allocation=0.1, costs=costs, stops=stops)
    engine = TradingEngine(
        journal,
        [sleeve],
        mode=TradingMode.SIMULATED,
        capital=10_000,
        limits=RiskLimits(),
        run_config={"test": True},
    )
    feed = _Feed(HistoricalReplayFeed({"BTCUSDT": bars}), venue, sleeve, engine)
    asyncio.run(engine.run(feed))

    assert venue.lost is not None, "the first stop's reply must have been lost"
    # the lost stop rested at the venue, with no venue id in the journal, until the reducing
    # fill re-placed the exits: then it was looked up and cancelled
    assert feed.live_stops is not None and venue.lost not in feed.live_stops
    assert feed.live_stops == [c for c in feed.tracked or [] if c in feed.live_stops]
    assert len(feed.live_stops) == 1  # the re-placed stop only
    lost = venue._orders[venue._by_client[venue.lost]]
    assert lost.status is OrderStatus.CANCELLED and lost.filled == 0
    assert journal.order_status(venue.lost).status == "cancelled"
    assert journal.verify().ok
    journal.engine.dispose()


def test_an_exit_with_an_unknown_outcome_halts_new_risk_until_reconciled(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Fail closed, as for a target order: a protective stop whose send outcome was lost
    halts new risk (the venue may hold an order the journal cannot account for) until the
    reconciliation on a later bar finds it; then the halt clears."""
    bars = ramp_bars(N)
    journal = Journal.open(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    costs = CostModel()
    runner = StrategyRunner(
        FixedSignal(pd.Series(1.0, index=bars.index)), "BTCUSDT", MarketType.LINEAR
    )
    runner.prepare(bars)
    venue = _LosesTheFirstStopsReply(cost_model=costs, cash=Decimal(10_000))
    sleeve = Sleeve(
        runner,
        venue,
        allocation=0.1,
        costs=costs,
        stops=ProtectiveStops(stop_loss=0.02, take_profit=None),
    )
    engine = TradingEngine(
        journal, [sleeve], mode=TradingMode.SIMULATED, capital=10_000, limits=RiskLimits()
    )
    feed = _Feed(HistoricalReplayFeed({"BTCUSDT": bars}), venue, sleeve, engine)
    asyncio.run(engine.run(feed))
    assert venue.lost is not None
    # the entry fills on bar 1's open, bar 1's close places the stop and loses its reply
    assert feed.halts[:2] == [None, None]
    assert feed.halts[2] is not None and venue.lost in feed.halts[2]
    assert feed.halts[-1] is None  # cleared once the venue answered the look-up again
    journal.engine.dispose()
