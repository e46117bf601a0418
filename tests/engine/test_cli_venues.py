"""``csl paper --mode testnet|paper`` end to end against the local Bybit / Alpaca emulators.

Issue 12: CLI venue trading never started (the venue client was built in one event loop and
used in another: "Event loop is closed" at the first reconcile). Here the real command runs
in a subprocess against an emulator served from a background thread: it seeds its warm-up
from the venue's klines, trades the bars that close while it runs, places and fills an
order, is killed with SIGKILL, and a resumed run (``--run-id``) reconciles with the venue
and ends with the journal, the venue and the audit chain in agreement.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.journal import Journal
from tests.emulators.alpaca import AlpacaEmulator
from tests.emulators.bybit import BybitEmulator
from tests.emulators.server import ServedInThread

STRATEGY = "drift_significance"  # long on a steady up-drift (checked below)
# its 30-day window is 43,200 one-minute bars: a 10-hour one fits the 800 bars of warm-up
PARAMS = ["--param", "window=10h"]
WARMUP_BARS = 800


def _rising_minutes(end: pd.Timestamp, n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` one-minute bars of a steady up-drift whose last bar opens at ``end``."""
    gen = np.random.default_rng(seed)
    close = 50_000 * np.exp(np.cumsum(gen.normal(0.0005, 0.001, n)))
    close *= 50_000 / close[-1]
    open_ = np.r_[close[0], close[:-1]]
    index = pd.date_range(end=end, periods=n, freq="1min", tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.0005,
            "low": np.minimum(open_, close) * 0.9995,
            "close": close,
            "volume": gen.gamma(2.0, 50.0, n),
        },
        index=index,
    )


def _csl(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crypto_strategy_lab.cli.main", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(what: str, condition, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _venue_env(tmp_path: Path, venue: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "API_KEY" not in k and "SECRET" not in k}
    return env | venue | {"CSL_DATA_DIR": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}


@pytest.mark.slow
def test_paper_testnet_places_fills_restarts_and_reconciles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    now = pd.Timestamp.now(tz="UTC").floor("min")
    # warm-up history ends 6 minutes ago; two more closed (and fresh) bars appear later
    bars = _rising_minutes(now - pd.Timedelta(minutes=3), WARMUP_BARS + 2)
    history, later = bars.iloc[:-2], bars
    emu = BybitEmulator()
    served = ServedInThread(emu)
    with served:
        served.call(emu.market.add_bars, "linear", "BTCUSDT", history, "1")
        served.call(emu.set_price, "BTCUSDT", Decimal(str(round(bars["close"].iloc[-1], 2))))
        env = _venue_env(
            tmp_path,
            {
                "CSL_BYBIT_BASE_URL": emu.base_url,
                "BYBIT_TESTNET_API_KEY": emu.api_key,
                "BYBIT_TESTNET_API_SECRET": emu.api_secret,
            },
        )
        args = ["paper", "--mode", "testnet", "--strategy", STRATEGY, "--timeframe", "1m", *PARAMS]
        first = _csl([*args, "--days", "0.01", "--journal", url], env)
        try:
            _wait(
                "the warm-up klines request",
                lambda: any("kline" in r["path"] for r in served.call(lambda: list(emu.requests))),
            )
            served.call(emu.market.add_bars, "linear", "BTCUSDT", later, "1")
            _wait("a position at the venue", lambda: bool(served.call(_size, emu)))
        finally:
            if first.poll() is None:
                first.send_signal(signal.SIGKILL)  # a crash, not a stop: no clean shutdown
            out, err = first.communicate(timeout=30)
        assert "Event loop is closed" not in err and "Traceback" not in err, err
        position = served.call(_size, emu)
        assert position > 0  # drift_significance went long on the up-drift

        journal = Journal.open(url, create=False)
        (run,) = journal.runs()
        assert run.status == "running"  # killed: never closed
        resumed = _csl([*args, "--days", "0.0001", "--journal", url, "--run-id", run.run_id], env)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, out + err
        assert f"run {run.run_id} completed" in out

        orders = served.call(lambda: list(emu.orders.values()))
        link_ids = [o["orderLinkId"] for o in orders]
        assert len(link_ids) == len(set(link_ids))  # no order was sent twice
        entries = [o for o in orders if not o.get("reduceOnly")]
        assert len(entries) == 1 and entries[0]["orderStatus"] == "Filled"
        executions = served.call(lambda: list(emu.executions))

    journal = Journal.open(url, create=False)
    assert journal.get_run(run.run_id).status == "completed"
    status = journal.order_status(entries[0]["orderLinkId"])
    assert status.status == "filled"
    fills = journal.fills(run.run_id)
    assert sorted(f.trade_id for f in fills) == sorted(e["execId"] for e in executions)
    (snapshot,) = [p for p in journal.latest_positions(run.run_id) if p.symbol == "BTCUSDT"]
    assert snapshot.quantity == position
    assert journal.verify().ok
    journal.engine.dispose()


def _size(emu: BybitEmulator) -> Decimal:
    pos = emu.positions.get("BTCUSDT")
    return pos["size"] if pos else Decimal(0)


@pytest.mark.slow
def test_paper_alpaca_places_fills_restarts_and_reconciles(tmp_path: Path) -> None:
    """``csl paper --mode paper`` (Alpaca paper) against the Alpaca emulator, same life cycle."""
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    now = pd.Timestamp.now(tz="UTC").floor("min")
    bars = _rising_minutes(now - pd.Timedelta(minutes=3), WARMUP_BARS + 2)
    bars[["open", "high", "low", "close"]] *= 200 / 50_000  # a $200 share
    emu = AlpacaEmulator(prices={"AAPL": str(round(bars["close"].iloc[-1], 2))})
    served = ServedInThread(emu)
    with served:
        served.call(emu.bars.__setitem__, "AAPL", bars.iloc[:-2])
        env = _venue_env(
            tmp_path,
            {
                "CSL_ALPACA_BASE_URL": emu.base_url,
                "ALPACA_PAPER_API_KEY": emu.api_key,
                "ALPACA_PAPER_SECRET_KEY": emu.api_secret,
            },
        )
        args = ["paper", "--mode", "paper", "--strategy", STRATEGY, "--timeframe", "1m", *PARAMS]
        args += ["--symbol", "AAPL"]
        first = _csl([*args, "--days", "0.01", "--journal", url], env)
        try:
            _wait(
                "the warm-up bars request",
                lambda: any("bars" in r["path"] for r in served.call(lambda: list(emu.requests))),
            )
            served.call(emu.bars.__setitem__, "AAPL", bars)
            _wait("a position at the venue", lambda: bool(served.call(_shares, emu)))
        finally:
            if first.poll() is None:
                first.send_signal(signal.SIGKILL)
            out, err = first.communicate(timeout=30)
        assert "Event loop is closed" not in err and "Traceback" not in err, err
        position = served.call(_shares, emu)
        assert position > 0

        journal = Journal.open(url, create=False)
        (run,) = journal.runs()
        assert run.status == "running"
        resumed = _csl([*args, "--days", "0.0001", "--journal", url, "--run-id", run.run_id], env)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, out + err
        assert f"run {run.run_id} completed" in out

        orders = served.call(lambda: list(emu.orders.values()))
        client_ids = [o["client_order_id"] for o in orders]
        assert len(client_ids) == len(set(client_ids))  # no order was sent twice
        entries = [o for o in orders if o["side"] == "buy" and o["type"] == "market"]
        assert len(entries) == 1 and entries[0]["status"] == "filled"

    journal = Journal.open(url, create=False)
    assert journal.get_run(run.run_id).status == "completed"
    assert journal.order_status(entries[0]["client_order_id"]).status == "filled"
    # the journal's net fills are the venue's position (a resting exit may have sold part)
    fills = journal.fills(run.run_id)
    net = sum(f.quantity if f.side == "BUY" else -f.quantity for f in fills)
    assert net == position
    (snapshot,) = [p for p in journal.latest_positions(run.run_id) if p.symbol == "AAPL"]
    assert snapshot.quantity == position
    assert journal.verify().ok
    journal.engine.dispose()


def _shares(emu: AlpacaEmulator) -> Decimal:
    return emu.positions.get("AAPL", {}).get("qty", Decimal(0))
