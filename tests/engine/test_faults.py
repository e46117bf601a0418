"""Reliability against the fault-injecting Bybit emulator (127.0.0.1, through ccxt).

Each scenario drives the engine over scripted bars whose target weights flip, with faults
injected on order creation, and ends with: zero duplicate orders at the venue (one venue order
per client order id), zero lost fills (the journal's fills per order sum to the venue's
executed quantity), and the venue's position equal to the journal's — checked by the
engine's own reconciliation and again directly against the emulator.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.engine import BarEvent, Sleeve, StrategyRunner, TradingEngine
from crypto_strategy_lab.exchanges import ExchangeFactory
from crypto_strategy_lab.exchanges.retry import RetryPolicy
from tests.emulators.bybit import BybitEmulator
from tests.engine.helpers import FixedSignal, ramp_bars

TARGETS = [0, 1, 1, -1, -1, 0, 0.5, 1, 0, -1, 0]
START = pd.Timestamp("2024-01-01", tz="UTC")
STEP = timedelta(hours=1)
RUN = "faults-run-0001"


def _bars() -> pd.DataFrame:
    return ramp_bars(len(TARGETS), start=str(START.date()))


def _engine(journal, emu: BybitEmulator, bars: pd.DataFrame) -> TradingEngine:
    exchange = ExchangeFactory.create_exchange(
        "bybit",
        TradingMode.TESTNET,
        base_url=emu.base_url,
        credentials={"api_key": emu.api_key, "api_secret": emu.api_secret},
        timeout=1.0,
        retry_policy=RetryPolicy(attempts=4, base=0.01, cap=0.05),
    )
    runner = StrategyRunner(
        FixedSignal(pd.Series(TARGETS, index=bars.index, dtype=float)), "BTCUSDT", MarketType.LINEAR
    )
    runner.prepare(bars)
    sleeve = Sleeve(runner, exchange, allocation=0.1)
    return TradingEngine(
        journal,
        [sleeve],
        mode=TradingMode.TESTNET,
        capital=100_000,
        run_id=RUN,
        run_config={"test": True},
        reconcile_every=1,
    )


async def _drive(
    engine: TradingEngine, emu: BybitEmulator, bars: pd.DataFrame, faults: dict[int, object]
) -> None:
    for stamp, row in bars.iterrows():
        i = int(_bars().index.get_loc(stamp))
        emu.set_price("BTCUSDT", Decimal(str(float(row.close))))
        if i in faults:
            faults[i](emu)  # type: ignore[operator]
        await engine.on_bar(
            BarEvent(
                "BTCUSDT",
                stamp.to_pydatetime(),
                (stamp + STEP).to_pydatetime(),
                float(row.open),
                float(row.high),
                float(row.low),
                float(row.close),
                float(row.volume),
                i,
                time.perf_counter_ns(),
            )
        )


def _assert_consistent(journal, emu: BybitEmulator, engine: TradingEngine) -> None:
    venue_orders = [o for o in emu.orders.values() if o["orderLinkId"]]
    by_link = defaultdict(list)
    for o in venue_orders:
        by_link[o["orderLinkId"]].append(o)
    assert all(len(v) == 1 for v in by_link.values()), "duplicate order at the venue"
    journal_orders = {o.client_order_id for o in journal.fills(RUN)} | {
        s.client_order_id for s in engine.orders.orders.values()
    }
    assert set(by_link) <= journal_orders  # every venue order is journaled
    filled = defaultdict(Decimal)
    for f in journal.fills(RUN):
        filled[f.client_order_id] += f.quantity
    for link, (order,) in by_link.items():
        assert filled[link] == Decimal(order["cumExecQty"]), f"lost/doubled fill on {link}"
    report = engine.last_reconcile
    assert report is not None and report.ok, report.problems if report else None
    venue_pos = emu.positions.get("BTCUSDT", {}).get("size", Decimal(0))
    assert journal.net_quantities(RUN).get(engine.sleeves[0].name, Decimal(0)) == venue_pos
    assert journal.verify().ok


def _orders_created(emu: BybitEmulator) -> int:
    return sum(1 for o in emu.orders.values() if o["orderLinkId"])


SCENARIOS = {
    "502_storm": {
        1: lambda e: e.faults.fail_next(3, 502, path="/v5/order/create"),
        3: lambda e: e.faults.fail_next(2, 503, path="/v5/order/create"),
    },
    "rate_limits": {
        1: lambda e: e.faults.rate_limit_next(3, path="/v5/order/create"),
        3: lambda e: e.faults.rate_limit_next(2, http=True, path="/v5/order/create"),
    },
    "timeout_after_execute": {
        1: lambda e: e.faults.drop_response_next(1, path="/v5/order/create"),
        3: lambda e: e.faults.status_after_execute_next(1, 504, path="/v5/order/create"),
        7: lambda e: e.faults.drop_response_next(1, hang=1.5, path="/v5/order/create"),
    },
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_faults_end_consistent(journal, scenario: str) -> None:
    bars = _bars()
    async with BybitEmulator() as emu:
        engine = _engine(journal, emu, bars)
        await engine.start()
        await _drive(engine, emu, bars, SCENARIOS[scenario])
        await engine.reconcile()
        assert _orders_created(emu) >= 6  # the flips really traded
        _assert_consistent(journal, emu, engine)
        await engine.sleeves[0].exchange.close()


async def test_outage_halts_new_risk_until_reconciled(journal) -> None:
    bars = _bars()
    async with BybitEmulator() as emu:
        engine = _engine(journal, emu, bars)
        await engine.start()
        # every request fails for a while: the order's outcome is unknown -> halt, alert
        await _drive(engine, emu, bars.iloc[:1], {})
        emu.faults.fail_next(200, 502)
        await _drive(engine, emu, bars.iloc[1:2], {})
        assert engine.halt_reason is not None
        alerts = [a for a, _ in journal.alerts()]
        assert any(a.source in ("order_manager", "reconciliation") for a in alerts)
        emu.faults.plan.clear()
        await engine.reconcile()
        assert engine.halt_reason is None  # resolved by looking the order up
        _assert_consistent(journal, emu, engine)
        await engine.sleeves[0].exchange.close()


async def test_restart_in_the_middle_of_an_order(journal) -> None:
    """The process dies after the order was journaled 'new' (first case) and after the venue
    executed it but before the answer was journaled (second case); a new engine on the same
    run resumes without a duplicate and without losing the fill."""
    bars = _bars()
    async with BybitEmulator() as emu:
        engine = _engine(journal, emu, bars)
        await engine.start()
        await _drive(engine, emu, bars.iloc[:1], {})
        # case 1: crash between journal 'new' and the send
        sleeve = engine.sleeves[0]
        original_send = engine.orders.send

        async def crash_before_send(*args, **kwargs):
            raise KeyboardInterrupt  # the process dies here

        engine.orders.send = crash_before_send  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            await _drive(engine, emu, bars.iloc[1:2], {})
        engine.orders.send = original_send  # type: ignore[method-assign]
        assert _orders_created(emu) == 0
        await sleeve.exchange.close()

        engine = _engine(journal, emu, bars)
        await engine.start()  # reconcile: the 'new' order is not at the venue -> resent, same id
        assert engine.last_reconcile is not None and engine.last_reconcile.resent
        assert _orders_created(emu) == 1
        # case 2: the venue executes, the reply is lost and the process dies before journaling
        emu.faults.fail_next(50, 502, path="/v5/order/realtime")
        emu.faults.fail_next(50, 502, path="/v5/order/history")
        emu.faults.drop_response_next(1, path="/v5/order/create")
        await _drive(engine, emu, bars.iloc[3:4], {})
        assert engine.halt_reason is not None  # outcome unknown: fail closed
        await engine.sleeves[0].exchange.close()
        emu.faults.plan.clear()

        engine = _engine(journal, emu, bars)
        await engine.start()
        await _drive(engine, emu, bars.iloc[4:], {})
        await engine.reconcile()
        _assert_consistent(journal, emu, engine)
        await engine.sleeves[0].exchange.close()
