"""The kill switch leaves the book flat: on the bar where the engine sees ``csl kill`` it
cancels, sends the reduce-only flatten and nothing else; the position is exactly zero after
the flatten fills and stays zero, whatever the strategy wants (long, short, or a flip decided
on the kill bar itself)."""

from __future__ import annotations

import asyncio

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.journal.models import Order
from crypto_strategy_lab.risk import RiskEngine, RiskLimits
from tests.engine.helpers import FixedSignal, position_series, replay_engine

KILL_AT = 30
STEP = pd.Timedelta("15min")


class _KillingFeed:
    """The replay feed, with ``csl kill`` (a journal halt) engaged as bar ``at`` arrives."""

    def __init__(self, feed, journal, at: int) -> None:  # type: ignore[no-untyped-def]
        self.feed, self.journal, self.at = feed, journal, at

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        i = 0
        async for bar in self.feed:
            if i == self.at:
                RiskEngine(journal=self.journal).kill("test kill", actor="tester")
            yield bar
            i += 1


@pytest.mark.parametrize(
    ("before", "after"),
    [(1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 0.5)],
    ids=["long", "short", "flip-on-kill-bar", "short-to-long-on-kill-bar"],
)
def test_kill_switch_leaves_the_book_flat(journal, btc_bars, before: float, after: float) -> None:  # type: ignore[no-untyped-def]
    bars = btc_bars.iloc[-80:]
    # a position from bar 1; on the kill bar the strategy re-targets (flip or same side)
    values = np.where(np.arange(len(bars)) < KILL_AT, before, after)
    values[0] = 0.0
    strategy = FixedSignal(pd.Series(values, index=bars.index))
    engine, feed = replay_engine(
        journal, strategy, bars, allocation=0.1, limits=RiskLimits(stop_loss_pct=0.5)
    )
    engine.kill_check_seconds = 0.0
    summary = asyncio.run(engine.run(_KillingFeed(feed, journal, KILL_AT)))
    assert summary.status == "completed"
    positions = position_series(journal, summary.run_id, bars.index, STEP)
    assert positions.iloc[KILL_AT] != 0.0  # the book was in the market when killed
    # the flatten fills at the next bar's open: exactly flat from then on
    assert (positions.iloc[KILL_AT + 1 :] == 0.0).all()
    with journal.session() as session:
        later = [
            o
            for o in session.query(Order).filter(Order.run_id == summary.run_id)
            if pd.Timestamp(o.created_at).tz_localize(None)
            >= (bars.index[KILL_AT] + STEP).tz_localize(None)
        ]
    # after the kill: the flatten, and nothing that could open a position
    assert [o.reduce_only for o in later] == [True]
    assert later[0].order_type == "MARKET"
    assert float(later[0].quantity) == pytest.approx(abs(positions.iloc[KILL_AT]), rel=1e-12)


def test_kill_switch_closes_a_position_the_venue_lists_in_parts(journal, btc_bars) -> None:  # type: ignore[no-untyped-def]
    # The flatten goes through the venue's closing rule with the whole holding, not the
    # first listed entry: a venue listing one symbol's position in two parts is flattened.
    bars = btc_bars.iloc[-80:]
    values = np.ones(len(bars))
    values[0] = 0.0
    engine, feed = replay_engine(
        journal, FixedSignal(pd.Series(values, index=bars.index)), bars, allocation=0.1
    )
    venue = engine.sleeves[0].exchange
    listed = venue._fetch_positions

    async def in_two_parts(symbol, market):  # type: ignore[no-untyped-def]
        return [
            p.model_copy(update={"quantity": q})
            for p in await listed(symbol, market)
            for q in (p.quantity / 4, p.quantity * 3 / 4)
        ]

    venue._fetch_positions = in_two_parts
    engine.kill_check_seconds = 0.0
    summary = asyncio.run(engine.run(_KillingFeed(feed, journal, KILL_AT)))
    positions = position_series(journal, summary.run_id, bars.index, STEP)
    assert positions.iloc[KILL_AT] != 0.0
    assert (positions.iloc[KILL_AT + 1 :] == 0.0).all()
    assert asyncio.run(venue.get_positions("BTCUSDT")) == []
