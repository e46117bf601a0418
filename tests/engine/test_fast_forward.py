"""Fast-forward of quiet bars changes nothing in the journal.

Each scenario replays the same bars twice, bar by bar (``fast_forward=False``) and
fast-forwarded, on fresh journals, and compares everything the run journaled
(``fast_forward_dump.dump``: orders, order events, fills, position snapshots, signals, risk
and halt events, alerts, the equity points as exact decimals, the non-equity audit events in
chain order, the run summary). Each scenario exercises one condition that ends a quiet run
(a resting exit's band, a liquidation level, a funding instant, another sleeve's order, a
reconcile tick, the day's opening equity) and asserts that the condition really occurred and
that the fast run really skipped bars, so that no comparison is between two idle runs.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.equity import equity_points
from crypto_strategy_lab.journal.models import PositionSnapshot
from crypto_strategy_lab.journal.types import exact_decimal
from tests.engine.fast_forward_dump import (
    RUN_ID,
    EmaCross,
    Outcome,
    Replay,
    SleeveSpec,
    assert_same_journal,
    build,
    dump,
    gbm_bars,
    open_limits,
    run,
)
from tests.engine.helpers import FixedSignal
from tests.engine.test_crash_restart import _content, _Crash, _CrashingJournal


def _both(tmp_path: Path, replay: Replay) -> tuple[Outcome, Outcome]:
    """Run ``replay`` bar by bar and fast-forwarded; assert the journals are the same."""
    slow = run(tmp_path, replay, fast_forward=False)
    fast = run(tmp_path, replay, fast_forward=True)
    assert slow.fast_forwarded == 0
    assert_same_journal(slow.dump, fast.dump)
    assert fast.journal.verify().ok
    return slow, fast


def _exit_fills(out: Outcome) -> int:
    """Fills of reduce-only resting orders (stop-loss / take-profit)."""
    with out.journal.engine.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT count(*) FROM fills f JOIN orders o USING (client_order_id) "
            "WHERE o.reduce_only AND o.order_type IN ('STOP', 'LIMIT')"
        ).scalar_one()


def _positions(out: Outcome) -> list[PositionSnapshot]:
    with out.journal.session() as session:
        return list(
            session.scalars(select(PositionSnapshot).where(PositionSnapshot.run_id == RUN_ID))
        )


def _unfilled_cash_changes(out: Outcome) -> int:
    """Equity points whose cash differs from the point before without a fill at their time."""
    points = out.journal.equity_points(RUN_ID)
    fill_times = {
        pd.Timestamp(f.ts).tz_localize("UTC") if f.ts.tzinfo is None else pd.Timestamp(f.ts)
        for f in out.journal.fills(RUN_ID)
    }
    changed = points["cash"].ne(points["cash"].shift()) & points.index.to_series().gt(0)
    return int(sum(ts not in fill_times for ts in points.loc[changed, "ts"]))


@pytest.mark.parametrize("seed", [1, 2])
def test_ema_cross_without_exits(tmp_path: Path, seed: int) -> None:
    replay = Replay({"BTCUSDT": gbm_bars(2500, seed=seed)}, (SleeveSpec(EmaCross()),))
    slow, fast = _both(tmp_path, replay)
    assert len(slow.dump["fills"]) >= 4
    assert fast.fast_forwarded > 1000


@pytest.mark.parametrize("seed", [3, 4])
def test_default_exits_rest_and_fill(tmp_path: Path, seed: int) -> None:
    """The risk limits' 2 % / 4 % stop-loss and take-profit rest after every entry."""
    replay = Replay(
        {"BTCUSDT": gbm_bars(2500, seed=seed, vol=0.003)},
        (SleeveSpec(EmaCross(20, 80), stops=None),),
    )
    slow, fast = _both(tmp_path, replay)
    assert _exit_fills(slow) >= 2
    assert fast.fast_forwarded > 500


def test_funding_instants(tmp_path: Path) -> None:
    """5 days of 5-minute bars, a position held through every 8-hourly funding instant."""
    costs = CostModel(funding_rate_8h=0.001)
    replay = Replay(
        {"BTCUSDT": gbm_bars(1440, seed=5, freq="5min", vol=0.003)},
        (SleeveSpec(EmaCross(), costs=costs),),
    )
    slow, fast = _both(tmp_path, replay)
    assert _unfilled_cash_changes(slow) >= 10  # 15 instants, all but the flat ones pay
    assert fast.fast_forwarded > 500


def test_liquidation(tmp_path: Path) -> None:
    """A 9x long on a small account (within the book's limits: a large flat account beside
    it) is liquidated on a slide, and holds its target, flat, afterwards."""
    n = 2000
    bars = gbm_bars(n, seed=6, drift=-0.0001, vol=0.001)
    long = FixedSignal(pd.Series(1.0, index=bars.index))
    flat = FixedSignal(pd.Series(0.0, index=bars.index))
    replay = Replay(
        {"BTCUSDT": bars},
        (
            SleeveSpec(long, allocation=9.0, cash=1_000.0, leverage=20.0, name="levered"),
            SleeveSpec(flat, cash=9_000.0, name="reserve"),
        ),
    )
    slow, fast = _both(tmp_path, replay)
    # the venue's liquidation order: its client id (and so its fill's trade id) is the same
    # in both runs, derived from the order that opened the position
    liquidations = [
        row for row in slow.dump["fills"] if any(str(v).startswith("liq-") for v in row)
    ]
    assert len(liquidations) == 1
    assert fast.fast_forwarded > 1000


def test_two_sleeves_on_one_symbol(tmp_path: Path) -> None:
    bars = gbm_bars(2500, seed=7)
    replay = Replay(
        {"BTCUSDT": bars},
        (
            SleeveSpec(EmaCross(), name="slow_cross"),
            SleeveSpec(EmaCross(10, 40), stops=None, allocation=0.3, name="fast_cross"),
        ),
    )
    slow, fast = _both(tmp_path, replay)
    strategies = {row[3] for row in slow.dump["orders"]}
    assert strategies == {"slow_cross", "fast_cross"}
    assert fast.fast_forwarded > 300


def test_equity_every_and_reconcile_every(tmp_path: Path) -> None:
    replay = Replay(
        {"BTCUSDT": gbm_bars(2500, seed=8, vol=0.003)},
        (SleeveSpec(EmaCross(20, 80), stops=None),),
        equity_every=7,
        reconcile_every=50,
    )
    slow, fast = _both(tmp_path, replay)
    assert sum(kind == "reconcile.ok" for kind, _, _ in slow.dump["audit"]) == 1 + 2500 // 50
    assert fast.fast_forwarded > 500


def test_daily_loss_and_drawdown_refuse_orders(tmp_path: Path) -> None:
    """A daily loss limit halts new risk for the rest of a day, the drawdown schedule
    resizes: both read the day's opening equity and the peak the snapshots keep."""
    replay = Replay(
        {"BTCUSDT": gbm_bars(5 * 1440 // 5, seed=9, freq="5min", vol=0.004)},
        (SleeveSpec(EmaCross(10, 40), allocation=1.0, stops=None),),
        limits=open_limits(
            daily_loss_limit=0.01, drawdown_derisk_start=0.02, drawdown_derisk_full=0.2
        ),
        equity_every=3,
    )
    slow, fast = _both(tmp_path, replay)
    with slow.journal.engine.connect() as conn:
        decisions = conn.exec_driver_sql("SELECT decision FROM risk_events").scalars().all()
    assert "halt" in decisions or "reject" in decisions, decisions
    assert "resize" in decisions, decisions
    assert fast.fast_forwarded > 200


def test_spot_long_only(tmp_path: Path) -> None:
    replay = Replay(
        {"BTCUSDT": gbm_bars(2500, seed=10, vol=0.003)},
        (SleeveSpec(EmaCross(20, 80), market=MarketType.SPOT, stops=None),),
    )
    slow, fast = _both(tmp_path, replay)
    held = [Decimal(p.quantity) for p in _positions(slow)]
    assert min(held) == 0 and max(held) > 0  # long or flat, never short
    assert len(slow.dump["fills"]) >= 6
    assert fast.fast_forwarded > 500


def test_two_symbols_in_one_feed(tmp_path: Path) -> None:
    """The fast path applies to one-symbol feeds only: here both runs go bar by bar."""
    replay = Replay(
        {"BTCUSDT": gbm_bars(1500, seed=11), "ETHUSDT": gbm_bars(1500, seed=12, price=2_000.0)},
        (
            SleeveSpec(EmaCross(), name="btc"),
            SleeveSpec(EmaCross(), symbol="ETHUSDT", stops=None, name="eth"),
        ),
    )
    slow, fast = _both(tmp_path, replay)
    assert {row[5] for row in slow.dump["orders"]} == {"BTCUSDT", "ETHUSDT"}
    assert fast.fast_forwarded == 0


def _replay_into(journal: Journal, replay: Replay, *, fast_forward: bool) -> int:
    """Run (or resume) ``replay`` on ``journal``, each bar committed at its end; the number of
    bars the engine fast-forwarded."""
    engine, feed = build(journal, replay, fast_forward=fast_forward)
    engine.commit_seconds = 0.0
    asyncio.run(engine.run(feed))
    return engine.fast_forwarded


@pytest.mark.parametrize("crash_after", [3, 8])
def test_resumed_fast_run_matches_uninterrupted_bar_by_bar_run(
    tmp_path: Path, crash_after: int
) -> None:
    """A fast-forwarded run killed after its ``crash_after``-th order and resumed
    (fast-forwarded) journals what an uninterrupted bar-by-bar run journals
    (``test_crash_restart._content``: every row without ids and wall-clock stamps)."""
    replay = Replay(
        {"BTCUSDT": gbm_bars(2500, seed=13, vol=0.003)},
        (SleeveSpec(EmaCross(20, 80), stops=None),),
    )
    reference = Journal.open(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    _replay_into(reference, replay, fast_forward=False)
    url = f"sqlite:///{tmp_path / 'crashed.sqlite'}"
    crashing = _CrashingJournal(Journal.open(url).engine, crash_after=crash_after)
    with pytest.raises(_Crash):
        _replay_into(crashing, replay, fast_forward=True)
    resumed = Journal.open(url)
    assert resumed.get_run(RUN_ID).status == "running"
    assert _replay_into(resumed, replay, fast_forward=True) > 500
    assert resumed.get_run(RUN_ID).status == "completed"
    expected, got = _content(reference), _content(resumed)
    assert len(expected["orders"]) > crash_after
    for table in expected:
        if table != "venue_snapshots":
            assert got[table] == expected[table], table
    assert len(got["venue_snapshots"]) == 1  # the catch-up reconciliation
    assert resumed.verify().ok


def test_funding_on_hourly_bars(tmp_path: Path) -> None:
    """Hourly bars: every eighth bar closes on a funding instant, the bar a quiet run must
    stop before; the position is held (long, then short) through all 18 instants."""
    bars = gbm_bars(24 * 6, seed=14, freq="1h", vol=0.004)
    signal = pd.Series(np.where(np.arange(len(bars)) < 30, 1.0, -1.0), index=bars.index)
    costs = CostModel(funding_rate_8h=0.002)
    replay = Replay(
        {"BTCUSDT": bars},
        (SleeveSpec(FixedSignal(signal), costs=costs, cash=10_000.0),),
    )
    slow, fast = _both(tmp_path, replay)
    assert _unfilled_cash_changes(slow) >= 15
    assert fast.fast_forwarded > 50


@pytest.mark.parametrize("market", [MarketType.LINEAR, MarketType.SPOT])
def test_each_utc_day_opens_at_its_first_points_equity(tmp_path: Path, market: MarketType) -> None:
    """The book's opening equity of a day (the daily loss limit's reference) is the equity of
    the day's first journaled point, bar by bar and fast-forwarded; here the last day's,
    with points every 5 bars of 7-minute bars (a day's first point is rarely at midnight).
    Spot has no funding instant to end a quiet run at midnight: a run spans two days."""
    bars = gbm_bars(3 * 24 * 60 // 7, seed=15, freq="7min", vol=0.003)
    signal = pd.Series(np.where(np.arange(len(bars)) < 150, 0.0, 1.0), index=bars.index)
    replay = Replay(
        {"BTCUSDT": bars},
        (SleeveSpec(FixedSignal(signal), market=market, allocation=1.0),),
        equity_every=5,
    )
    for fast_forward in (False, True):
        out = run(tmp_path, replay, fast_forward=fast_forward)
        with out.journal.engine.connect() as conn:
            points = equity_points(conn, RUN_ID, exact=True)
        last_day = points[points.ts.dt.date == points.ts.iloc[-1].date()]
        assert 0 < len(last_day) < len(points)
        day_start = exact_decimal(out.engine.book.day_start)  # as journaled: 18 places
        assert day_start == last_day.equity.iloc[0]
        assert day_start != points.equity.iloc[0]
        assert out.fast_forwarded > (300 if fast_forward else -1)


@pytest.mark.parametrize("fast_forward", [False, True])
def test_resume_after_a_liquidation_journals_its_fill_once(
    tmp_path: Path, fast_forward: bool
) -> None:
    """A run killed after a liquidation and resumed re-lives the liquidation on the rebuilt
    venue: the venue-created order has the same ids as the first time, so its fill is known
    and the resumed journal equals an uninterrupted run's (once, not twice)."""
    bars = gbm_bars(2000, seed=6, drift=-0.0001, vol=0.001)
    late = np.where(np.arange(len(bars)) < 1800, 0.0, 1.0)  # an order after the liquidation
    replay = Replay(
        {"BTCUSDT": bars},
        (
            SleeveSpec(
                FixedSignal(pd.Series(1.0, index=bars.index)),
                allocation=9.0,
                cash=1_000.0,
                leverage=20.0,
                name="levered",
            ),
            SleeveSpec(FixedSignal(pd.Series(late, index=bars.index)), cash=9_000.0, name="late"),
        ),
    )
    reference = Journal.open(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    _replay_into(reference, replay, fast_forward=False)
    expected = _content(reference)
    # the levered entry, its liquidation (a venue-created order, journaled under an alias),
    # the late entry
    assert len(expected["fills"]) == 3 and len(expected["orders"]) == 3
    url = f"sqlite:///{tmp_path / 'crashed.sqlite'}"
    # orders: the levered entry, the liquidation's venue order, then the late sleeve's entry
    crashing = _CrashingJournal(Journal.open(url).engine, crash_after=3)
    with pytest.raises(_Crash):
        _replay_into(crashing, replay, fast_forward=fast_forward)
    resumed = Journal.open(url)
    _replay_into(resumed, replay, fast_forward=fast_forward)
    got = _content(resumed)
    for table in expected:
        if table != "venue_snapshots":
            assert got[table] == expected[table], table
    assert resumed.verify().ok


def _run_with_failed_read(tmp_path: Path, replay: Replay, *, fast_forward: bool, at: datetime):
    """``run`` with the first account read at replay time ``at`` failing (one venue error)."""
    journal = Journal.open(f"sqlite:///{tmp_path / f'failed_read_{fast_forward}.sqlite'}")
    engine, feed = build(journal, replay, fast_forward=fast_forward)
    venue = engine.sleeves[0].exchange
    read, failed = venue.get_account_value, []

    async def failing_once(symbol, *, market=None):  # type: ignore[no-untyped-def]
        if engine.clock.now() == at and not failed:
            failed.append(at)
            raise ExchangeError("injected: account query timed out", venue="simulated")
        return await read(symbol, market=market)

    venue.get_account_value = failing_once  # type: ignore[method-assign]
    summary = asyncio.run(engine.run(feed))
    assert failed == [at] and summary.status == "completed"
    return dump(journal, RUN_ID, summary), engine


STEP = timedelta(minutes=1)


def test_a_halt_ends_fast_forward_until_the_reconcile_that_clears_it(tmp_path: Path) -> None:
    """A failed account read halts new risk (fail closed); while halted every bar reconciles,
    so no bar of a halt is quiet. Here the read fails on the funding bar at 08:00 (a bar the
    fast loop processes one by one, a position held and the target unchanged): the next bar
    reconciles and clears the halt in both loops, and the journals are the same."""
    bars = gbm_bars(900, seed=16)
    signal = pd.Series(np.where(np.arange(len(bars)) < 300, 0.0, 1.0), index=bars.index)
    replay = Replay({"BTCUSDT": bars}, (SleeveSpec(FixedSignal(signal)),))
    at = datetime(2024, 1, 1, 8, tzinfo=UTC)
    slow, _ = _run_with_failed_read(tmp_path, replay, fast_forward=False, at=at)
    fast, engine = _run_with_failed_read(tmp_path, replay, fast_forward=True, at=at)
    assert_same_journal(slow, fast)
    held = [
        json.loads(payload)["positions"]["fixed_signal"]
        for kind, _, payload in slow["audit"]
        if kind.startswith("reconcile")
    ]
    # the run's first, flat; then the one the halt asked for, on the bar after, long
    assert len(held) == 2 and held[0] == "0" and Decimal(held[1]) > 0
    # an account that could not be read is not journaled as worth nothing and flat: the bar
    # has no equity point and no position snapshot (its neighbours do)
    with engine.journal.engine.connect() as conn:
        points = equity_points(conn, RUN_ID, exact=True)
        positions = conn.exec_driver_sql(
            "SELECT ts, quantity FROM position_snapshots WHERE run_id = ?", (RUN_ID,)
        ).all()
    stamps = list(points.ts)
    assert at not in stamps and at - STEP in stamps and at + STEP in stamps
    assert points.equity.min() > 0
    assert [Decimal(q) for _, q in positions][:1] != [0] and all(Decimal(q) for _, q in positions)
    assert engine.fast_forwarded > 500
