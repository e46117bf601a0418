"""Journal first: an order is on disk before it can act outside this process.

A venue outside the process (Bybit, Alpaca) may fill an order the journal lost in a crash, so
the order manager commits each ``new`` order before ``place_order``. The simulated venue's book
dies with the process (``Exchange.in_process``): there the order commits with its bar, and a
crash loses the order and its effect together (``test_crash_restart.py`` holds a resumed run
equal to an uninterrupted one).
"""

from __future__ import annotations

import asyncio

import pandas as pd
from sqlalchemy import select

from crypto_strategy_lab.core.orders import OrderRequest, OrderResult
from crypto_strategy_lab.journal import Journal, make_engine
from crypto_strategy_lab.journal.models import Order
from tests.engine.helpers import FixedSignal, ramp_bars, replay_engine

TARGETS = [0, 1, 1, -1, -1, 0, 0.5, 1, 0, -1, 0]


def _bars() -> pd.DataFrame:
    return ramp_bars(len(TARGETS))


def _run(journal: Journal, *, in_process: bool) -> list[bool]:
    """Replay TARGETS; for each order the venue receives, whether another connection (a
    process started after a kill -9) already sees it in the journal."""
    bars = _bars()
    signal = pd.Series(TARGETS, index=bars.index, dtype=float)
    engine, feed = replay_engine(journal, FixedSignal(signal), bars)
    venue = engine.sleeves[0].exchange
    venue.in_process = in_process  # type: ignore[misc]
    observer = make_engine(str(journal.engine.url))
    seen: list[bool] = []
    place = venue.place_order

    async def place_order(request: OrderRequest) -> OrderResult:
        with observer.connect() as conn:
            stmt = select(Order.client_order_id).where(
                Order.client_order_id == request.client_order_id
            )
            seen.append(conn.scalar(stmt) is not None)
        return await place(request)

    venue.place_order = place_order  # type: ignore[method-assign]
    asyncio.run(engine.run(feed))
    observer.dispose()
    return seen


def test_an_order_for_a_venue_outside_the_process_is_on_disk_before_it_is_sent(
    journal: Journal,
) -> None:
    seen = _run(journal, in_process=False)
    assert len(seen) >= 6  # entries, flips and their exits
    assert all(seen)


def test_an_order_for_the_in_process_venue_commits_with_its_bar(journal: Journal) -> None:
    seen = _run(journal, in_process=True)
    assert len(seen) >= 6
    assert not any(seen)  # buffered with the bar: no commit per order
    assert journal.verify().ok
    # and the run's orders all reached the journal at the end
    with journal.session() as s:
        assert len(s.scalars(select(Order)).all()) == len(seen)


def test_the_same_run_journals_the_same_orders_either_way(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for in_process in (False, True):
        journal = Journal.open(f"sqlite:///{tmp_path / f'j{in_process}.sqlite'}")
        _run(journal, in_process=in_process)
        with journal.session() as s:
            rows.append(
                sorted(
                    (o.created_at, o.side, o.order_type, o.quantity, o.stop_price, o.reduce_only)
                    for o in s.scalars(select(Order))
                )
            )
        journal.engine.dispose()
    assert rows[0] == rows[1] and rows[0]
