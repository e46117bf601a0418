"""Replay parity harness: the same bars and settings through the engine (simulated venue,
journal, risk engine) and through ``run_backtest``, compared fill by fill.

What must agree (``compare``): every fill's time, side, price, quantity and fee, and the
equity curve, within ``1e-6`` of capital. The engine's quantities are rounded down to the
venue's 1e-8 step, the one difference by design (bounded by ``1e-8`` units per fill).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import ProtectiveStops, RiskLimits
from tests.conftest import shared_file
from tests.engine.helpers import FixedSignal, replay_engine

CAPITAL = 10_000.0
TOL = 1e-6 * CAPITAL


def shared_bars(name: str) -> pd.DataFrame:
    """A real OHLCV file of ``../shared/data`` (epoch milliseconds) as a UTC bar frame."""
    raw = pd.read_parquet(shared_file(name))
    index = pd.DatetimeIndex(
        pd.to_datetime(raw["timestamp"], unit="ms", utc=True), name="timestamp"
    )
    cols = ["open", "high", "low", "close", "volume"]
    return pd.DataFrame(raw[cols].to_numpy(dtype=float), index=index, columns=cols)


def parity_limits(stop_loss: float | None, take_profit: float | None) -> RiskLimits:
    """Risk limits that never bind on these runs (the parity is about execution; the risk
    rules have their own tests), with the run's stop levels."""
    return RiskLimits(
        max_position_fraction=1.0,
        max_gross_exposure=10.0,
        stop_loss_pct=stop_loss or 0.99,
        take_profit_pct=take_profit or 0.99,
        daily_loss_limit=0.99,
        drawdown_derisk_start=0.98,
        drawdown_derisk_full=0.99,
        max_order_notional=1e12,
        price_band_pct=0.99,
        max_data_age_seconds=1e12,
        max_volatility_ratio=1e12,
        max_spread_pct=0.99,
    )


@dataclass
class Parity:
    engine_fills: pd.DataFrame
    backtest_fills: pd.DataFrame
    engine_equity: pd.Series
    backtest_equity: pd.Series
    backtest: object


def run_both(
    journal: Journal,
    signal: pd.Series,
    bars: pd.DataFrame,
    *,
    market: MarketType = MarketType.LINEAR,
    allocation: float = 0.5,
    costs: CostModel | None = None,
    stop_loss: float | None = 0.02,
    take_profit: float | None = 0.04,
    stop_unit: str = "fraction",
    atr_period: int = 14,
    timeframe: pd.Timedelta,
) -> Parity:
    """``signal`` (computed on the full history: the one definition of the history a decision
    sees) replayed over ``bars`` by the engine and backtested on the same ``bars``; with
    ``stop_unit="atr"`` the sleeve trades the same levels as its own ``ProtectiveStops``."""
    costs = costs or CostModel()
    stops = (
        ProtectiveStops(
            stop_unit="atr", stop_loss=stop_loss, take_profit=take_profit, atr_period=atr_period
        )
        if stop_unit == "atr"
        else None
    )
    strategy = FixedSignal(signal)
    engine, feed = replay_engine(
        journal,
        strategy,
        bars,
        capital=CAPITAL,
        allocation=allocation,
        costs=costs,
        limits=parity_limits(stop_loss, take_profit)
        if stops is None
        else parity_limits(None, None),
        market=market,
        stops=stops,
    )
    summary = asyncio.run(engine.run(feed))
    assert summary.status == "completed"
    bt = run_backtest(
        signal,
        bars,
        costs=costs,
        sizing=allocation,
        market={"linear": "perp", "spot": "spot", "stock": "stock"}[market.value],
        stop_loss=stop_loss,
        take_profit=take_profit,
        stop_unit=stop_unit,  # type: ignore[arg-type]
        atr_period=atr_period,
        initial_capital=CAPITAL,
    )
    fills = pd.DataFrame(
        [
            (
                pd.Timestamp(f.ts).tz_localize("UTC")
                if pd.Timestamp(f.ts).tzinfo is None
                else pd.Timestamp(f.ts),
                1 if f.side == "BUY" else -1,
                float(f.quantity),
                float(f.price),
                float(f.fee),
            )
            for f in journal.fills(summary.run_id)
        ],
        columns=["time", "side", "quantity", "price", "fee"],
    ).astype({"side": "int64", "quantity": float, "price": float, "fee": float})
    equity = journal.equity_frame(summary.run_id)["equity"].astype(float)
    equity = equity[~equity.index.duplicated(keep="last")]
    closes = bars.index + timeframe
    engine_equity = pd.Series(equity.reindex(closes).to_numpy(), index=bars.index)
    return Parity(fills, bt.fills, engine_equity, bt.equity, bt)


def compare(p: Parity) -> dict[str, float]:
    """Assert fill-by-fill and equity parity; return the largest gaps (for messages)."""
    ours, theirs = p.engine_fills, p.backtest_fills.reset_index(drop=True)
    assert len(ours) == len(theirs), (len(ours), len(theirs))
    np.testing.assert_array_equal(ours["time"].to_numpy(), theirs["time"].to_numpy())
    np.testing.assert_array_equal(ours["side"].to_numpy(), theirs["side"].to_numpy())
    # prices and quantities in value terms: a price gap times the quantity it fills, a
    # quantity gap (the venue's 1e-8 lot rounding) times its price
    price_gap = np.abs(ours["price"] - theirs["price"]) * theirs["quantity"]
    qty_gap = np.abs(ours["quantity"] - theirs["quantity"]) * theirs["price"]
    fee_gap = np.abs(ours["fee"] - theirs["fee"])
    np.testing.assert_allclose(ours["price"], theirs["price"], rtol=1e-7)
    np.testing.assert_array_less(np.abs(ours["quantity"] - theirs["quantity"]), 1e-7)
    # a strategy that does not trade in the window has no fills on either side: gaps of 0
    gaps = {
        name: float(gap.max()) if len(gap) else 0.0
        for name, gap in (("price", price_gap), ("quantity", qty_gap), ("fee", fee_gap))
    }
    assert max(gaps.values()) < TOL, gaps
    assert not p.engine_equity.isna().any()
    equity_gap = float((p.engine_equity - p.backtest_equity).abs().max())
    assert equity_gap < TOL, equity_gap
    return {"fills": len(ours), "equity_gap": equity_gap, **gaps}
