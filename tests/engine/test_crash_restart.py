"""kill -9 in the middle of a paper run, restart, and compare with an uninterrupted run.

The restarted run must end with exactly the journal an uninterrupted run writes: the same
orders (one per decision: no duplicate), the same fills (none lost), the same final equity,
a clean reconciliation, and an audit chain that verifies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.models import Alert, FillRecord, Order

RUN_ID = "crashtest0000000000000000000001"
# a strategy that trades every few bars of the last 3 bundled days (spans at 15m bars)
ARGS = ["paper", "--strategy", "true_range_divergence", "--days", "3", "--capital", "5000"]


def _csl(url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "crypto_strategy_lab.cli.main", *ARGS, "--journal", url, *extra]


def _orders(journal: Journal) -> int:
    with journal.session() as s:
        return s.scalar(select(func.count()).select_from(Order)) or 0


def _book(journal: Journal, run_id: str) -> tuple[list, list]:
    with journal.session() as s:
        orders = s.execute(
            select(
                Order.created_at,
                Order.side,
                Order.order_type,
                Order.quantity,
                Order.price,
                Order.stop_price,
            )
            .where(Order.run_id == run_id)
            .order_by(Order.created_at, Order.side)
        ).all()
        fills = s.execute(
            select(
                FillRecord.ts,
                FillRecord.side,
                FillRecord.quantity,
                FillRecord.price,
                FillRecord.fee,
            )
            .where(FillRecord.run_id == run_id)
            .order_by(FillRecord.ts, FillRecord.id)
        ).all()
    return sorted(orders), fills


def test_sigkill_mid_run_then_restart_matches_uninterrupted_run(tmp_path: Path) -> None:
    env = {**os.environ, "CSL_DATA_DIR": str(tmp_path)}
    crashed_url = f"sqlite:///{tmp_path / 'crashed.sqlite'}"
    proc = subprocess.Popen(
        _csl(crashed_url, "--run-id", RUN_ID, "--speedup", "20000"),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    journal = None
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if Path(tmp_path / "crashed.sqlite").exists():
                journal = journal or Journal.open(crashed_url, migrate=False)
                try:
                    if _orders(journal) >= 4:
                        break
                except Exception:
                    continue
        assert proc.poll() is None, "the run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert journal is not None
    killed_orders = _orders(journal)
    assert journal.get_run(RUN_ID).status == "running"  # died without closing the run

    restart = subprocess.run(
        _csl(crashed_url, "--run-id", RUN_ID), env=env, capture_output=True, text=True, timeout=300
    )
    assert restart.returncode == 0, restart.stderr
    assert journal.get_run(RUN_ID).status == "completed"
    assert _orders(journal) > killed_orders

    reference_url = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    ref = subprocess.run(
        _csl(reference_url, "--run-id", RUN_ID),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ref.returncode == 0, ref.stderr
    reference = Journal.open(reference_url, migrate=False)

    crashed_orders, crashed_fills = _book(journal, RUN_ID)
    ref_orders, ref_fills = _book(reference, RUN_ID)
    assert crashed_orders == ref_orders  # no duplicate, no missing order
    assert crashed_fills == ref_fills  # no lost, no doubled fill
    assert len(ref_fills) > 3
    assert (
        journal.equity_frame(RUN_ID).equity.iloc[-1]
        == reference.equity_frame(RUN_ID).equity.iloc[-1]
    )
    with journal.session() as s:
        critical = s.scalar(
            select(func.count()).select_from(Alert).where(Alert.severity == "critical")
        )
    assert critical == 0, [a.message for a, _ in journal.alerts()]
    assert journal.verify().ok
    audit = subprocess.run(
        [
            sys.executable,
            "-m",
            "crypto_strategy_lab.cli.main",
            "audit",
            "verify",
            "--journal",
            crashed_url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert audit.returncode == 0, audit.stdout


# ---- a crash at a deterministic point: after the killed bar's order, before its equity ----


class _Crash(BaseException):
    """The process dies: nothing after it reaches the journal (not even the run's end)."""


class _CrashingJournal(Journal):
    """Dies like kill -9 right after journaling its ``crash_after``-th order."""

    def __init__(self, engine, crash_after: int) -> None:  # type: ignore[no-untyped-def]
        super().__init__(engine)
        self.crash_after = crash_after
        self.dead = False
        write = self.writer.write  # every transaction of every store goes through it

        def dying_write(work):  # type: ignore[no-untyped-def]
            if self.dead:
                raise _Crash
            return write(work)

        self.writer.write = dying_write  # type: ignore[method-assign]

    def record_order(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        order = super().record_order(*args, **kwargs)
        self.crash_after -= 1
        if self.crash_after == 0:
            self.dead = True
            raise _Crash
        return order


def _replay(journal: Journal, *, venue_in_process: bool = True) -> None:
    """The simulated run; each bar commits at its end (``commit_seconds=0``), so a crash
    loses at most the bar it interrupted. ``venue_in_process=False`` treats the venue as one
    outside the process: each order is then committed before it is sent (journal first), so
    a crash can leave a bar's order on disk without the rest of its bar."""
    import asyncio

    from crypto_strategy_lab.engine.paper import build_simulated_run

    engine, feed = build_simulated_run(
        journal, ["true_range_divergence"], days=3, capital=5000, run_id=RUN_ID
    )
    engine.commit_seconds = 0.0
    for sleeve in engine.sleeves:
        sleeve.exchange.in_process = venue_in_process  # type: ignore[misc]
    asyncio.run(engine.run(feed))


def _content(journal: Journal) -> dict[str, list[tuple]]:
    """Every journaled row of the run, without row ids and wall-clock stamps."""
    from crypto_strategy_lab.journal.models import (
        OrderEvent,
        PositionSnapshot,
        RiskEventRecord,
        SignalRecord,
    )

    skip = {"id", "recorded_at"}
    tables = {
        "orders": Order,
        "order_events": OrderEvent,
        "fills": FillRecord,
        "position_snapshots": PositionSnapshot,
        "signals": SignalRecord,
        "risk_events": RiskEventRecord,
    }
    content = {}
    with journal.session() as s:
        for name, model in tables.items():
            columns = [c for c in model.__table__.columns if c.name not in skip]
            rows = s.execute(select(*columns).where(model.__table__.c.run_id == RUN_ID)).all()
            content[name] = sorted(tuple(map(str, row)) for row in rows)
    # equity points, not their blocks: a block is what one commit held, and commits differ
    points = journal.equity_points(RUN_ID)
    content["equity"] = sorted(tuple(map(str, row)) for row in points.itertuples(index=False))
    # A resume reconciles with the venue once it has caught up (an uninterrupted replay never
    # needs to): the venue's answer is journaled as source='venue' snapshots, kept apart.
    content["venue_snapshots"] = [r for r in content["position_snapshots"] if r[-1] == "venue"]
    content["position_snapshots"] = [r for r in content["position_snapshots"] if r[-1] != "venue"]
    return content


@pytest.mark.slow
@pytest.mark.parametrize("venue_in_process", [False, True], ids=["order-on-disk", "bar-lost"])
def test_killed_bar_is_journaled_on_resume_exactly_as_an_uninterrupted_run(
    tmp_path: Path, venue_in_process: bool
) -> None:
    """Issue 12: after a kill -9 between the killed bar's order and its equity point, the
    resumed run never wrote that bar's equity point and position snapshots (960 vs 961).

    ``order-on-disk``: the order was committed before it was sent (a venue outside the
    process), the rest of its bar was not. ``bar-lost``: the simulated venue's order waits for
    its bar's commit, so the crash loses the whole bar, order included."""
    reference = Journal.open(f"sqlite:///{tmp_path / 'reference.sqlite'}")
    _replay(reference, venue_in_process=venue_in_process)
    url = f"sqlite:///{tmp_path / 'crashed.sqlite'}"
    crashing = _CrashingJournal(Journal.open(url).engine, crash_after=3)
    try:
        _replay(crashing, venue_in_process=venue_in_process)
    except _Crash:
        pass
    else:
        raise AssertionError("the run ended before its third order")
    resumed = Journal.open(url)
    assert resumed.get_run(RUN_ID).status == "running"
    with resumed.session() as s:
        on_disk = s.scalar(select(func.count()).select_from(Order).where(Order.run_id == RUN_ID))
    if venue_in_process:
        assert on_disk < 3  # the third order died with its bar (and its bar's earlier ones)
    else:
        assert on_disk == 3  # on disk before it was sent
    _replay(resumed, venue_in_process=venue_in_process)
    assert resumed.get_run(RUN_ID).status == "completed"
    expected, got = _content(reference), _content(resumed)
    assert len(expected["equity"]) > 60 and len(expected["orders"]) > 3, expected["orders"]
    for table in expected:
        if table != "venue_snapshots":
            assert got[table] == expected[table], table
    # the catch-up reconciliation: one venue snapshot, agreeing with the journal's position
    assert expected["venue_snapshots"] == []
    (venue,) = got["venue_snapshots"]
    ours = [r for r in got["position_snapshots"] if r[1] <= venue[1]][-1]
    assert venue[5:7] == ours[5:7]  # same strategy, same quantity
    assert resumed.verify().ok
