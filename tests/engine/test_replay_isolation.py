"""A simulated replay is reproducible: another run in the same journal does not change it.

``csl paper`` replays into the default journal, where earlier runs live. Everything a replay
decides must come from its own bars and its own journaled state: the same replay run twice in
one journal journals the same decisions, orders and fills (under its own run id).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from crypto_strategy_lab.journal import Journal
from tests.engine.fast_forward_dump import (
    EmaCross,
    Replay,
    SleeveSpec,
    build,
    dump,
    gbm_bars,
    open_limits,
)


def _run(journal: Journal, replay: Replay, run_id: str) -> dict:
    engine, feed = build(journal, replay, fast_forward=True, run_id=run_id)
    summary = asyncio.run(engine.run(feed))
    assert summary.status == "completed"
    return dump(journal, run_id, summary)


def _decisions(content: dict) -> list[tuple]:
    """(time, side, decision, rule, requested, approved) of each risk decision."""
    return [(row[2], row[7], row[8], row[9], row[11], row[12]) for row in content["risk_events"]]


def test_a_replays_daily_loss_halt_does_not_halt_the_next_replay_of_the_same_days(
    tmp_path: Path,
) -> None:
    """The first replay trips the daily loss limit on some days (a journaled halt); the same
    replay run again in that journal takes the same decisions on those days, instead of
    finding the first run's halt and refusing from the day's first bar."""
    replay = Replay(
        {"BTCUSDT": gbm_bars(5 * 1440 // 5, seed=9, freq="5min", vol=0.004)},
        (SleeveSpec(EmaCross(10, 40), allocation=1.0),),
        limits=open_limits(daily_loss_limit=0.01),
    )
    journal = Journal.open(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    first = _run(journal, replay, "replay00000000000000000000000001")
    with journal.engine.connect() as conn:
        halts = conn.exec_driver_sql("SELECT ts FROM halt_events WHERE action = 'halt'").all()
        tripped = conn.exec_driver_sql(
            "SELECT ts FROM risk_events WHERE rule = 'daily_loss_limit' AND decision != 'halt'"
        ).all()
    assert halts, "the first replay must trip the daily loss limit"
    # each halt is stamped with the replay time of the decision that tripped it
    assert set(halts) <= set(tripped) and str(halts[0][0]).startswith("2024-01-0")
    second = _run(journal, replay, "replay00000000000000000000000002")
    assert _decisions(second) == _decisions(first)
    assert [r[1:] for r in second["equity"]] == [r[1:] for r in first["equity"]]
    assert len(second["fills"]) == len(first["fills"])
    journal.engine.dispose()
