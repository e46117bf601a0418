"""Replays built twice, bar by bar and fast-forwarded, and the journal dumps they compare.

A :class:`Replay` describes a simulated run (bars, sleeves, limits, cadences); :func:`run`
builds a fresh engine for it on a fresh journal, with ``fast_forward`` on or off, and returns
the run's :func:`dump`: every row it journaled in journal order, minus the row fields a wall
clock writes, with the equity curve as points (not the blocks one commit held) and the audit
chain without its equity events (their grouping follows the commits).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.engine import HistoricalReplayFeed, Sleeve, StrategyRunner, TradingEngine
from crypto_strategy_lab.engine.loop import RunSummary
from crypto_strategy_lab.exchanges import ExchangeFactory
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import ProtectiveStops, RiskLimits
from crypto_strategy_lab.strategies.base import Strategy
from tests.engine.test_crash_restart import RUN_ID  # the run id its _content reads

NO_EXITS = ProtectiveStops(stop_loss=None, take_profit=None)
NO_FUNDING = CostModel(funding_rate_8h=0.0)
# wall-clock fields of journaled rows and audit payloads (the replay clock sets the others)
_WALL_CLOCK = frozenset({"recorded_at", "started_at", "ended_at", "timestamp"})
# tables read row by row in journal order; equity and audit are read their own way
_TABLES = (
    "orders",
    "order_events",
    "fills",
    "position_snapshots",
    "signals",
    "risk_events",
    "halt_events",
    "alerts",
)


class EmaCross:
    """sign(EMA_fast - EMA_slow) at each close, flat during the slow EMA's warm-up.

    ``benchmarks/engine_peers.py``'s rule: always in the market after the warm-up.
    """

    name = "ema_cross"

    def __init__(self, fast: int = 50, slow: int = 200) -> None:
        self.fast, self.slow = fast, slow
        self.warmup = slow

    def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        fast = bars.close.ewm(span=self.fast, adjust=False).mean()
        slow = bars.close.ewm(span=self.slow, adjust=False).mean()
        signal = np.sign(fast - slow)
        signal.iloc[: self.slow] = 0.0
        return pd.DataFrame({"signal": signal}, index=bars.index)


def gbm_bars(
    n: int,
    *,
    seed: int,
    freq: str = "1min",
    start: str = "2024-01-01",
    price: float = 30_000.0,
    vol: float = 0.002,
    drift: float = 0.0,
) -> pd.DataFrame:
    """``n`` bars of a seeded geometric random walk, prices on a 0.1 tick.

    Log returns ``N(drift, vol)`` per bar; high and low stretch the open-close range by
    ``|N(0, vol / 2)|`` of the close.
    """
    rng = np.random.default_rng(seed)
    close = (price * np.exp(np.cumsum(rng.normal(drift, vol, n)))).round(1)
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = (np.abs(rng.normal(0, vol / 2, n)) * close).round(1)
    idx = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": np.full(n, 1_000.0),
        },
        index=idx,
    )


def open_limits(**overrides: Any) -> RiskLimits:
    """Risk limits that do not bind on these replays unless a scenario overrides one."""
    values: dict[str, Any] = {
        "max_position_fraction": 1.0,
        "max_gross_exposure": 10.0,
        "daily_loss_limit": 0.99,
        "drawdown_derisk_start": 0.98,
        "drawdown_derisk_full": 0.99,
        "max_order_notional": 1e12,
        "price_band_pct": 0.99,
        "max_data_age_seconds": 1e12,
        "max_volatility_ratio": 1e12,
        "max_spread_pct": 0.99,
    }
    return RiskLimits(**{**values, **overrides})


@dataclass(frozen=True)
class SleeveSpec:
    """One sleeve of a :class:`Replay`, on its own simulated account.

    ``leverage`` (``None``: the venue's 1x) is set on the account for the sleeve's symbol.
    """

    strategy: Strategy
    symbol: str = "BTCUSDT"
    market: MarketType = MarketType.LINEAR
    allocation: float = 0.5
    costs: CostModel = NO_FUNDING
    stops: ProtectiveStops | None = NO_EXITS
    cash: float = 10_000.0
    leverage: float | None = None
    name: str = ""


@dataclass(frozen=True)
class Replay:
    """A simulated run: the bars per symbol, its sleeves, limits and cadences."""

    bars: Mapping[str, pd.DataFrame]
    sleeves: tuple[SleeveSpec, ...]
    limits: RiskLimits = field(default_factory=open_limits)
    equity_every: int = 1
    reconcile_every: int = 0

    @property
    def capital(self) -> float:
        return sum(s.cash for s in self.sleeves)


def build(
    journal: Journal, replay: Replay, *, fast_forward: bool, run_id: str = RUN_ID
) -> tuple[TradingEngine, HistoricalReplayFeed]:
    """A fresh engine (runners, venues) for ``replay`` on ``journal``, and its feed."""
    sleeves = []
    for spec in replay.sleeves:
        runner = StrategyRunner(spec.strategy, spec.symbol, spec.market)
        runner.prepare(replay.bars[spec.symbol])
        venue = ExchangeFactory.create_exchange(
            "simulated", TradingMode.SIMULATED, cost_model=spec.costs, cash=Decimal(spec.cash)
        )
        if spec.leverage is not None:
            asyncio.run(venue.set_leverage(spec.symbol, Decimal(repr(spec.leverage))))
        sleeves.append(
            Sleeve(
                runner,
                venue,
                allocation=spec.allocation,
                costs=spec.costs,
                stops=spec.stops,
                name=spec.name,
            )
        )
    engine = TradingEngine(
        journal,
        sleeves,
        mode=TradingMode.SIMULATED,
        capital=replay.capital,
        limits=replay.limits,
        run_id=run_id,
        run_config={"test": "fast_forward"},
        equity_every=replay.equity_every,
        reconcile_every=replay.reconcile_every,
        fast_forward=fast_forward,
    )
    return engine, HistoricalReplayFeed(dict(replay.bars))


@dataclass
class Outcome:
    """One run of a replay: its dump, its summary and the engine that ran it."""

    dump: dict[str, list[Any]]
    summary: RunSummary
    engine: TradingEngine
    journal: Journal

    @property
    def fast_forwarded(self) -> int:
        """Bars the engine processed in quiet runs."""
        return self.engine.fast_forwarded


def run(tmp_path: Path, replay: Replay, *, fast_forward: bool) -> Outcome:
    """Run ``replay`` to its end on a fresh journal in ``tmp_path`` and dump it."""
    path = tmp_path / f"{'fast' if fast_forward else 'bar_by_bar'}.sqlite"
    journal = Journal.open(f"sqlite:///{path}")
    engine, feed = build(journal, replay, fast_forward=fast_forward)
    summary = asyncio.run(engine.run(feed))
    assert summary.status == "completed"
    return Outcome(dump(journal, RUN_ID, summary), summary, engine, journal)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _WALL_CLOCK}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _row(table: str | None, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without its wall-clock fields."""
    return {k: v for k, v in row.items() if k not in _WALL_CLOCK}


def dump(journal: Journal, run_id: str, summary: RunSummary | None = None) -> dict[str, list[Any]]:
    """Everything ``run_id`` journaled, table by table, in journal order.

    Rows as tuples of their columns' stored text (minus wall-clock columns), in insertion
    order (``rowid``); the equity points with their exact decimals; the audit events'
    ``(kind, entity_table, payload)`` without the equity blocks' events and without
    wall-clock fields, in chain order; the run row and the summary's counts.
    """
    out: dict[str, list[Any]] = {}
    with journal.engine.connect() as conn:
        for table in _TABLES:
            cursor = conn.exec_driver_sql(
                f"SELECT * FROM {table} WHERE run_id = ? ORDER BY rowid",
                (run_id,),
            )
            names = list(cursor.keys())
            out[table] = [
                tuple(map(str, _row(table, dict(zip(names, row, strict=True))).values()))
                for row in cursor.all()
            ]
        run_row = conn.exec_driver_sql(
            "SELECT name, mode, capital, strategies, config, status FROM runs WHERE run_id = ?",
            (run_id,),
        ).all()
        out["run"] = [tuple(map(str, r)) for r in run_row]
        events = conn.exec_driver_sql(
            "SELECT kind, entity_table, payload FROM audit_events WHERE run_id = ? "
            "AND (entity_table IS NULL OR entity_table != 'equity_blocks') ORDER BY seq",
            (run_id,),
        ).all()
        out["audit"] = [
            (kind, table, json.dumps(_clean(_row(table, json.loads(payload))), sort_keys=True))
            for kind, table, payload in events
        ]
    points = journal.equity_points(run_id)
    out["equity"] = [
        (str(row[0]), *map(str, row[1:])) for row in points.itertuples(index=False, name=None)
    ]
    if summary is not None:
        out["summary"] = [
            (summary.status, summary.bars, summary.orders_sent, str(summary.final_equity))
        ]
    return out


def assert_same_journal(expected: dict[str, list[Any]], got: dict[str, list[Any]]) -> None:
    """Assert two dumps are equal; the message names the table and its first differing row."""
    assert expected.keys() == got.keys()
    for table, rows in expected.items():
        other = got[table]
        for i, (a, b) in enumerate(zip(rows, other, strict=False)):
            assert a == b, f"{table}[{i}] differs:\n  bar by bar:   {a}\n  fast-forward: {b}"
        assert len(rows) == len(other), (
            f"{table}: {len(rows)} rows bar by bar, {len(other)} fast-forwarded; first extra: "
            f"{(rows if len(rows) > len(other) else other)[min(len(rows), len(other))]}"
        )
