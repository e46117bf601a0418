"""Engine runs write the exchange layer's order actions into the journal's audit chain."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.engine.paper import build_simulated_run
from crypto_strategy_lab.journal.models import AuditEvent, Order
from tests.emulators.bybit import BybitEmulator
from tests.engine.test_faults import _bars, _drive, _engine


def _exchange_events(journal, run_id: str) -> list[AuditEvent]:
    with journal.session() as s:
        return list(
            s.scalars(
                select(AuditEvent)
                .where(AuditEvent.run_id == run_id, AuditEvent.kind.like("exchange.%"))
                .order_by(AuditEvent.seq)
            )
        )


def test_paper_run_journals_every_order_action_and_verifies(journal, tmp_path) -> None:
    engine, feed = build_simulated_run(journal, ["true_range_divergence"], days=2, capital=5000)
    summary = asyncio.run(engine.run(feed))
    events = _exchange_events(journal, summary.run_id)
    kinds = {e.kind for e in events}
    assert {"exchange.order.request", "exchange.order.reply", "exchange.order.cancel"} <= kinds
    with journal.session() as s:
        orders = set(s.scalars(select(Order.client_order_id).where(Order.run_id == summary.run_id)))
    requested = {
        json.loads(e.payload)["client_order_id"]
        for e in events
        if e.kind == "exchange.order.request"
    }
    assert requested == orders  # every journaled order's request is in the audit trail
    url = str(journal.engine.url)
    result = CliRunner().invoke(app, ["audit", "verify", "--journal", url])
    assert result.exit_code == 0, result.output


async def test_venue_run_audit_trail_has_no_credentials(journal) -> None:
    bars = _bars()
    async with BybitEmulator() as emu:
        engine = _engine(journal, emu, bars)
        await engine.start()
        await _drive(engine, emu, bars.iloc[:5], {})
        await engine.sleeves[0].exchange.close()
        events = _exchange_events(journal, engine.run_id)
        assert any(e.kind == "exchange.order.request" for e in events)
        assert any(e.kind == "exchange.order.reply" for e in events)
        with journal.session() as s:
            payloads = "\n".join(s.scalars(select(AuditEvent.payload)))
        assert emu.api_secret not in payloads and emu.api_key not in payloads
        assert journal.verify().ok
