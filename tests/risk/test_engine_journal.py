"""Risk decisions are journal events; halts survive a restart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from crypto_strategy_lab.core.enums import OrderSide
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import RiskAction, RiskEngine, RiskError, RiskLimits
from crypto_strategy_lab.risk.engine import daily_loss_scope
from tests.risk.helpers import NOW, book, intent, market

LIMITS = RiskLimits(max_position_fraction=0.1)


@pytest.fixture
def journal_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'journal.sqlite'}"


def test_every_decision_is_a_risk_event(journal_url: str) -> None:
    journal = Journal.open(journal_url)
    run = journal.start_run(name="r", mode="simulated", capital=10000, strategies=["s1"])
    engine = RiskEngine(LIMITS, journal=journal, run_id=run.run_id)
    approved = engine.evaluate(intent("1"), book(), market(), now=NOW)
    resized = engine.evaluate(intent("30"), book(), market(), now=NOW)
    rejected = engine.evaluate(intent("1", price="200"), book(), market(), now=NOW)
    events = journal.risk_events(run.run_id)
    assert [e.decision for e in events] == ["approve", "resize", "reject"]
    assert [d.risk_event_id for d in (approved, resized, rejected)] == [e.id for e in events]
    assert events[1].rule == "position_cap"
    assert events[1].requested_quantity == Decimal("30")
    assert events[1].approved_quantity == Decimal("10")
    assert events[0].stop_loss == Decimal("98") and events[0].take_profit == Decimal("104")
    assert events[2].rules[0]["rule"] == "price_band"
    assert journal.verify().ok


def test_kill_switch_persists_across_restarts(journal_url: str) -> None:
    first = RiskEngine(LIMITS, journal=Journal.open(journal_url))
    first.kill("operator", actor="erin")
    restarted = RiskEngine(LIMITS, journal=Journal.open(journal_url))
    assert restarted.kill_switch_engaged
    halted = restarted.evaluate(intent("1"), book(), market(), now=NOW)
    assert halted.action is RiskAction.HALT and halted.rule == "kill_switch"
    with pytest.raises(RiskError, match="human"):
        restarted.rearm("auto", actor="system")
    restarted.rearm("positions checked", actor="erin")
    assert (
        RiskEngine(LIMITS, journal=Journal.open(journal_url))
        .evaluate(intent("1"), book(), market(), now=NOW)
        .approved
    )


def test_daily_loss_halt_persists_across_restarts_within_the_day(journal_url: str) -> None:
    engine = RiskEngine(LIMITS, journal=Journal.open(journal_url))
    assert (
        engine.evaluate(intent("1"), book("9400", day_start="10000"), market(), now=NOW).action
        is RiskAction.HALT
    )
    restarted = RiskEngine(LIMITS, journal=Journal.open(journal_url))
    recovered = book("9990", day_start="10000")
    assert restarted.evaluate(intent("1"), recovered, market(), now=NOW).action is RiskAction.HALT
    assert (
        restarted.evaluate(intent("1", OrderSide.SELL), recovered, market(), now=NOW).action
        is RiskAction.HALT
    )  # no position to reduce: a sell is new risk too
    assert not restarted.kill_switch_engaged  # the daily halt is not the kill switch


def test_market_data_for_another_symbol_is_refused() -> None:
    with pytest.raises(RiskError, match="ETHUSDT"):
        RiskEngine(LIMITS).evaluate(intent("1"), book(), market(symbol="ETHUSDT"), now=NOW)


def test_halts_set_by_another_process_are_seen_on_the_next_decision(journal_url: str) -> None:
    """Both halt scopes are read in one statement on every decision, never cached.

    ``csl kill`` is another process: here a second journal (its own engine and connections)
    on the same file, writing between two decisions of the running engine.
    """
    engine = RiskEngine(LIMITS, journal=Journal.open(journal_url))
    operator = Journal.open(journal_url)

    def decide() -> tuple[RiskAction, str | None]:
        decision = engine.evaluate(intent("1"), book(), market(), now=NOW)
        return decision.action, decision.rule

    assert decide() == (RiskAction.APPROVE, None)
    operator.halt("operator pressed kill", actor="erin")
    assert decide() == (RiskAction.HALT, "kill_switch")
    operator.rearm("positions checked", actor="erin")
    assert decide() == (RiskAction.APPROVE, None)
    # scopes do not mix: yesterday's daily halt is not today's, neither is the kill switch
    operator.halt("loss", scope=daily_loss_scope(NOW.date() - timedelta(days=1)), actor="r")
    assert decide() == (RiskAction.APPROVE, None)
    operator.halt("loss", scope=daily_loss_scope(NOW.date()), actor="risk_engine")
    assert decide() == (RiskAction.HALT, "daily_loss_limit")
    assert not engine.kill_switch_engaged
    assert engine.daily_halt_active(NOW.date())
    assert not engine.daily_halt_active(NOW.date() + timedelta(days=1))
    operator.halt("operator pressed kill", actor="erin")
    assert engine.kill_switch_engaged
    operator.rearm("positions checked", actor="erin")
    assert not engine.kill_switch_engaged and engine.daily_halt_active(NOW.date())


def test_a_runs_own_daily_halt_halts_that_run_only(journal_url: str) -> None:
    """A replay's daily-loss halt (``run_daily_halt``: its account lives in the run) halts that
    run and a resume of it, not another run of the journal; a venue account's halt (the
    default) holds for every run, so a restart in a new run stays halted that day."""
    journal = Journal.open(journal_url)
    runs = [
        journal.start_run(name=f"r{k}", mode="simulated", capital=10000, strategies=["s1"])
        for k in range(2)
    ]

    def engine(run, owned: bool) -> RiskEngine:  # type: ignore[no-untyped-def]
        return RiskEngine(LIMITS, journal=journal, run_id=run.run_id, run_daily_halt=owned)

    first, other = engine(runs[0], True), engine(runs[1], True)
    owned = daily_loss_scope(NOW.date(), runs[0].run_id)
    assert owned.startswith(f"{daily_loss_scope(NOW.date())}:run-") and len(owned) <= 64
    assert owned != daily_loss_scope(NOW.date(), runs[1].run_id)
    journal.halt("loss", scope=owned, actor="risk_engine", run_id=runs[0].run_id)
    assert first.daily_halt_active(NOW.date())
    assert engine(runs[0], True).daily_halt_active(NOW.date())  # a resume of the run
    assert not other.daily_halt_active(NOW.date())
    assert not engine(runs[1], False).daily_halt_active(NOW.date())
    assert other.evaluate(intent("1"), book(), market(), now=NOW).action is RiskAction.APPROVE
    journal.halt("loss", scope=daily_loss_scope(NOW.date()), actor="risk_engine")
    assert engine(runs[1], False).daily_halt_active(NOW.date())
    assert not other.daily_halt_active(NOW.date())  # a replay never reads the venue halt
    assert other.evaluate(intent("1"), book(), market(), now=NOW).action is RiskAction.APPROVE
