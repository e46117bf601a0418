"""ATR-unit protective exits in the engine: the level of a position's stop is
``entry - k ATR`` with Wilder's ATR of the bar its entry fill is known at, measured on the bars
up to that bar only (no lookahead), checked against a plain-Python Wilder recursion; during the
ATR's warm-up the position trades unprotected, as in the backtest. (Fill-by-fill parity with
``run_backtest(stop_unit="atr")``: ``test_parity.py``.)"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from crypto_strategy_lab.core.enums import OrderType
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.journal.models import Order
from crypto_strategy_lab.risk import ProtectiveStops
from tests.engine.helpers import FixedSignal, replay_engine
from tests.engine.parity import parity_limits

ENTRY = 100  # the bar whose open fills the entry decided at the close of the bar before
STOPS = ProtectiveStops(stop_unit="atr", stop_loss=2.0, take_profit=4.0, atr_period=14)


def wilder_atr(bars: pd.DataFrame, n: int) -> float:
    """Wilder's ATR of the last of ``bars``, written out as Wilder (1978) defines it: the mean
    of the first ``n`` true ranges, then ``ATR = ((n - 1) ATR + TR) / n``."""
    h, lo, c = (bars[k].tolist() for k in ("high", "low", "close"))
    tr = [h[0] - lo[0]] + [max(h[t], c[t - 1]) - min(lo[t], c[t - 1]) for t in range(1, len(h))]
    atr = sum(tr[:n]) / n
    for x in tr[n:]:
        atr = ((n - 1) * atr + x) / n
    return atr


def _run(path: Path, bars: pd.DataFrame, entry: int) -> tuple[Decimal, list[tuple]]:
    """Replay a signal long from the close of bar ``entry - 1``; return the entry price and
    the protective orders (type, trigger or limit price) placed at the entry's close."""
    journal = Journal.open(f"sqlite:///{path}")
    signal = pd.Series(np.where(np.arange(len(bars)) >= entry - 1, 1.0, 0.0), index=bars.index)
    engine, feed = replay_engine(
        journal, FixedSignal(signal), bars, allocation=0.5, limits=parity_limits(None, None),
        stops=STOPS,
    )  # fmt: skip
    summary = asyncio.run(engine.run(feed))
    fills = journal.fills(summary.run_id)
    with journal.session() as s:
        rows = s.execute(
            select(Order.order_type, Order.stop_price, Order.price, Order.created_at)
            .where(Order.run_id == summary.run_id, Order.reduce_only.is_(True))
            .order_by(Order.created_at, Order.order_type)
        ).all()
    journal.engine.dispose()
    first = min(r.created_at for r in rows) if rows else None
    return fills[0].price, [
        (r.order_type, r.stop_price, r.price) for r in rows if r.created_at == first
    ]


def test_atr_levels_use_only_the_bars_up_to_the_entry(tmp_path: Path, btc_bars) -> None:  # type: ignore[no-untyped-def]
    bars = btc_bars.iloc[-400:]
    entry_price, exits = _run(tmp_path / "a.sqlite", bars, ENTRY)
    atr = wilder_atr(bars.iloc[: ENTRY + 1], 14)  # the fill is known at the entry bar's close
    by_type = {t: (stop, limit) for t, stop, limit in exits}
    stop = float(by_type[OrderType.STOP.value][0])
    target = float(by_type[OrderType.LIMIT.value][1])
    assert abs(stop - (float(entry_price) - 2.0 * atr)) < 1e-8
    assert abs(target - (float(entry_price) + 4.0 * atr)) < 1e-8

    # Wider ranges after the entry bar change every later ATR but not the entry's levels.
    later = bars.copy()
    later.iloc[ENTRY + 1 :, later.columns.get_loc("high")] *= 1.05
    later.iloc[ENTRY + 1 :, later.columns.get_loc("low")] *= 0.95
    assert wilder_atr(later.iloc[: ENTRY + 2], 14) > 1.5 * wilder_atr(bars.iloc[: ENTRY + 2], 14)
    assert _run(tmp_path / "b.sqlite", later, ENTRY) == (entry_price, exits)


def test_no_atr_levels_during_the_atr_warm_up(tmp_path: Path, btc_bars) -> None:  # type: ignore[no-untyped-def]
    """An entry known before 14 bars exist has no ATR: no protective order (the backtest's
    NaN unit), and none is invented later for that position."""
    bars = btc_bars.iloc[-60:]
    _, exits = _run(tmp_path / "a.sqlite", bars, 5)
    assert exits == []


def test_csl_paper_trades_the_stops_of_its_options_and_status_shows_them(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from crypto_strategy_lab.cli.main import app

    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    monkeypatch.setenv("CSL_DATA_DIR", str(tmp_path))
    flags = ["--stop-unit", "atr", "--stop-loss", "2", "--take-profit", "4", "--journal", url]
    ok = CliRunner().invoke(app, ["paper", "--strategy", "lag_autocorr", "--days", "1", *flags])
    assert ok.exit_code == 0, ok.output
    (run,) = Journal.open(url).runs()
    assert run.config["stops"] == {"lag_autocorr": STOPS.model_dump(mode="json")}
    status = CliRunner().invoke(app, ["status", "--journal", url])
    assert "protective exits: lag_autocorr atr: 2/4 ATR(14)" in status.output
    bad = CliRunner().invoke(app, ["paper", "--strategy", "lag_autocorr", "--stop-loss", "2"])
    assert bad.exit_code != 0
    assert "stop_loss in fractions of the entry must be strictly between 0 and 1" in " ".join(
        bad.output.split()
    )


def test_both_faces_of_the_runner_measure_the_entry_bars_atr(btc_bars) -> None:  # type: ignore[no-untyped-def]
    """Replay (prepared history) and live (rolling window, the current bar not yet in it when
    the fill is seen) give Wilder's ATR of the bar from the bars up to it."""
    from crypto_strategy_lab.engine import StrategyRunner
    from tests.engine.test_runner import _event

    bars = btc_bars.iloc[-1200:]
    replay = StrategyRunner(FixedSignal(pd.Series(0.0, index=bars.index)), "BTCUSDT")
    replay.prepare(bars)
    for i in (13, 300, 1100):
        live = StrategyRunner(FixedSignal(pd.Series(0.0, index=bars.index)), "BTCUSDT")
        live.seed_window(bars.iloc[:i])
        want = wilder_atr(bars.iloc[: i + 1], 14)
        assert replay.average_true_range(_event(bars, i), 14) == pytest.approx(want, rel=1e-12)
        # past the 500-bar window the live face seeds later: (13/14)^486 of the seeds' gap
        assert live.average_true_range(_event(bars, i), 14) == pytest.approx(want, rel=1e-12)
    assert np.isnan(replay.average_true_range(_event(bars, 12), 14))
