"""Shared builders for the engine tests: a replay engine over given bars."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.engine import HistoricalReplayFeed, Sleeve, StrategyRunner, TradingEngine
from crypto_strategy_lab.exchanges import ExchangeFactory
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import ProtectiveStops, RiskLimits
from crypto_strategy_lab.strategies.base import Strategy


def replay_engine(
    journal: Journal,
    strategy: Strategy,
    bars: pd.DataFrame,
    *,
    capital: float = 10_000.0,
    allocation: float = 0.1,
    costs: CostModel | None = None,
    limits: RiskLimits | None = None,
    market: MarketType = MarketType.LINEAR,
    run_id: str | None = None,
    stops: ProtectiveStops | None = None,
) -> tuple[TradingEngine, HistoricalReplayFeed]:
    costs = costs or CostModel()
    runner = StrategyRunner(strategy, "BTCUSDT", market)
    runner.prepare(bars)
    venue = ExchangeFactory.create_exchange(
        "simulated", TradingMode.SIMULATED, cost_model=costs, cash=Decimal(str(capital))
    )
    sleeve = Sleeve(runner, venue, allocation=allocation, costs=costs, stops=stops)
    engine = TradingEngine(
        journal,
        [sleeve],
        mode=TradingMode.SIMULATED,
        capital=capital,
        limits=limits or RiskLimits(),
        run_id=run_id,
        run_config={"test": True},
    )
    return engine, HistoricalReplayFeed({"BTCUSDT": bars})


def ramp_bars(n: int, start: str = "2024-01-01", step: str = "1h") -> pd.DataFrame:
    """``n`` hourly bars whose close climbs 150 from 50,000, with a 0.1 % high/low range."""
    prices = [50_000 + 150 * i for i in range(n)]
    idx = pd.date_range(start, periods=n, freq=step, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": prices,
            "high": [p * 1.001 for p in prices],
            "low": [p * 0.999 for p in prices],
            "close": prices,
            "volume": [10.0] * n,
        },
        index=idx,
    ).astype("float64")


def position_series(
    journal: Journal, run_id: str, index: pd.DatetimeIndex, step: pd.Timedelta
) -> pd.Series:
    """The run's position at each bar's close from the journal's position snapshots."""
    with journal.session() as session:
        from sqlalchemy import select

        from crypto_strategy_lab.journal.models import PositionSnapshot

        rows = session.execute(
            select(PositionSnapshot.ts, PositionSnapshot.quantity)
            .where(PositionSnapshot.run_id == run_id, PositionSnapshot.source == "journal")
            .order_by(PositionSnapshot.id)
        ).all()
    snaps = pd.Series([float(q) for _, q in rows], index=pd.DatetimeIndex([t for t, _ in rows]))
    snaps = snaps[~snaps.index.duplicated(keep="last")]
    closes = index + step
    return pd.Series(snaps.reindex(closes, method="ffill").fillna(0.0).to_numpy(), index=index)


def change_bars(positions: pd.Series) -> np.ndarray:
    """Indices of the bars at whose close the position differs from the previous bar's."""
    values = positions.to_numpy()
    prev = np.concatenate([[0.0], values[:-1]])
    return np.flatnonzero(values != prev)


class FixedSignal:
    """A strategy stand-in that replays a given signal (only ``compute`` is used in replay)."""

    name = "fixed_signal"
    warmup = 0

    def __init__(self, signal: pd.Series) -> None:
        self.signal = signal

    def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"signal": self.signal.reindex(bars.index).fillna(0.0)})
