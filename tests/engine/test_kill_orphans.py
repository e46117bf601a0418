"""``csl kill`` flattens the runs no engine drives, on the local venue emulators (127.0.0.1).

* A run whose engine died mid-way (no flatten, its last sign of life hours old) is flattened
  by the command itself: the account ends with only what it held before the run, and a second
  kill closes nothing twice.
* A run whose engine is alive (fresh heartbeat) is left to that engine.
* A venue that cannot be reached is one line and exit code 1; the halt stays recorded.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.engine import Sleeve, StrategyRunner, TradingEngine
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import RiskLimits
from tests.emulators.alpaca import AlpacaEmulator
from tests.emulators.bybit import BybitEmulator
from tests.emulators.server import ServedInThread
from tests.engine.helpers import FixedSignal
from tests.engine.test_kill_venues import _enter
from tests.exchanges.conftest import FAST_RETRY, client_for

CAPITAL = Decimal(100_000)


MODES = {"alpaca": TradingMode.PAPER, "bybit": TradingMode.TESTNET}


async def _open_run(
    journal: Journal,
    emu: AlpacaEmulator | BybitEmulator,
    symbol: str,
    quantity: Decimal,
    started: datetime,
) -> str:
    """A venue run on `symbol` that bought `quantity`, then lost its engine (never
    flattened, never finished: what ``kill -9`` leaves), with the config ``build_venue_run``
    records of a run on 1-minute bars."""
    venue = "alpaca" if isinstance(emu, AlpacaEmulator) else "bybit"
    market = MarketType.STOCK if venue == "alpaca" else MarketType.SPOT
    run = journal.start_run(
        name="venue:fixed_signal",
        mode=MODES[venue],
        capital=CAPITAL,
        strategies=["fixed_signal"],
        config={
            "data": {"source": f"{venue}:{symbol}:1m", "live": True, "days": 1},
            "market": market.value,
            "venue": venue,
            "limits": RiskLimits().model_dump(mode="json"),
        },
        started_at=started,
    )
    ex = client_for(venue, emu, timeout=1.0, retry_policy=FAST_RETRY)
    async with ex:
        signal = FixedSignal(pd.Series([0.0], index=pd.DatetimeIndex([started])))
        sleeve = Sleeve(StrategyRunner(signal, symbol, market), ex, allocation=0.1)
        engine = TradingEngine(
            journal, [sleeve], mode=MODES[venue], capital=CAPITAL, run_id=run.run_id
        )
        await engine.start()
        price = Decimal(200) if venue == "alpaca" else Decimal(50_000)
        await _enter(engine, sleeve, quantity, price, run.run_id[:8])
    return run.run_id


def _kill(url: str, env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["kill", "--journal", url, *args], env=env)


def _env(base_url: str, emu: AlpacaEmulator | BybitEmulator) -> dict[str, str]:
    if isinstance(emu, BybitEmulator):
        return {
            "CSL_BYBIT_BASE_URL": base_url,
            "BYBIT_TESTNET_API_KEY": emu.api_key,
            "BYBIT_TESTNET_API_SECRET": emu.api_secret,
        }
    return {
        "CSL_ALPACA_BASE_URL": base_url,
        "ALPACA_PAPER_API_KEY": emu.api_key,
        "ALPACA_PAPER_SECRET_KEY": emu.api_secret,
    }


def _no_keys(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The venue keys come from the test's env only, never from the machine's."""
    for key in [k for k in os.environ if "API_KEY" in k or "SECRET" in k]:
        monkeypatch.delenv(key)


def test_kill_flattens_a_dead_run_and_leaves_a_running_one(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _no_keys(monkeypatch)
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    journal = Journal.open(url)
    emu = AlpacaEmulator()
    served = ServedInThread(emu)
    now = datetime.now(UTC)
    with served:
        dead = asyncio.run(_open_run(journal, emu, "AAPL", Decimal(5), now - timedelta(hours=2)))

        def hold_more() -> None:  # 3 shares of the account's own, not the run's
            emu.positions["AAPL"]["qty"] += 3

        served.call(hold_more)
        alive = asyncio.run(_open_run(journal, emu, "SPY", Decimal(2), now))
        assert served.call(lambda: emu.positions["AAPL"]["qty"]) == 8

        result = _kill(url, _env(emu.base_url, emu), "--reason", "test")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        (closed,) = [line for line in lines if dead in line]
        assert closed.startswith("closed") and "sell 5 AAPL" in closed, closed
        (left,) = [line for line in lines if alive in line]
        assert left.startswith("left"), left
        assert emu.api_secret not in result.output
        # the dead run's 5 are sold; the account's 3 and the live run's 2 are untouched
        assert served.call(lambda: emu.positions["AAPL"]["qty"]) == 3
        assert served.call(lambda: emu.positions["SPY"]["qty"]) == 2
        assert journal.net_quantities(dead) == {"fixed_signal": Decimal(0)}

        again = _kill(url, _env(emu.base_url, emu))
        assert again.exit_code == 0, again.output
        assert dead not in again.output  # flat in the journal: nothing to close twice
        assert served.call(lambda: emu.positions["AAPL"]["qty"]) == 3
        sells = served.call(lambda: [o for o in emu.orders.values() if o["side"] == "sell"])
        assert [Decimal(o["qty"]) for o in sells] == [5]
    assert journal.is_halted()
    assert journal.verify().ok
    journal.engine.dispose()


@pytest.mark.parametrize("flatten", [True, False], ids=["unreachable", "no-flatten"])
def test_unreachable_venue_is_one_line_and_exit_1_halt_kept(tmp_path, monkeypatch, flatten) -> None:  # type: ignore[no-untyped-def]
    _no_keys(monkeypatch)
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    journal = Journal.open(url)
    emu = AlpacaEmulator()
    with ServedInThread(emu):
        dead = asyncio.run(
            _open_run(journal, emu, "AAPL", Decimal(5), datetime.now(UTC) - timedelta(hours=2))
        )
        base_url = emu.base_url
    # the emulator is gone: its port refuses connections
    result = _kill(url, _env(base_url, emu), *([] if flatten else ["--no-flatten"]))
    if flatten:
        assert result.exit_code == 1, result.output
        (line,) = [line for line in result.output.splitlines() if dead in line]
        assert line.startswith("error"), line
    else:
        assert result.exit_code == 0 and dead not in result.output, result.output
    assert journal.is_halted()
    journal.engine.dispose()


def test_kill_sells_a_dead_bybit_spot_runs_coins_and_keeps_the_accounts(
    tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _no_keys(monkeypatch)
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    journal = Journal.open(url)
    emu = BybitEmulator()
    with ServedInThread(emu) as served_emu:
        emu.wallet["BTC"] = Decimal("0.5")  # held before the run: never ours to sell
        emu.spot_buy_fee_in_base = True  # as Bybit does: the run received 0.00999
        old = datetime.now(UTC) - timedelta(hours=2)
        dead = asyncio.run(_open_run(journal, served_emu, "BTCUSDT", Decimal("0.01"), old))
        result = _kill(url, _env(emu.base_url, emu))
        assert result.exit_code == 0, result.output
        (line,) = [line for line in result.output.splitlines() if dead in line]
        assert "sell 0.00999 BTCUSDT" in line, line
        assert emu.wallet["BTC"] == Decimal("0.5")
