"""Live performance figures the dashboard shows: drawdown, today's P&L, rolling Sharpe, the
per-strategy P&L curve and the drift of a run against a reference (backtest/replay) run.

Conventions: returns are simple returns of the equity curve between consecutive journal
points; annualisation assumes the 24/7 crypto calendar, ``periods_per_year = 365.25 days /
median spacing`` (state otherwise with the ``periods_per_year`` argument for equities, about
252 sessions a year). Sharpe ratios here are annualised with the risk-free rate taken as 0
(a monitoring view, not the validation gate, whose per-period Sharpe conventions live in
``validation``). The trading day starts at 00:00 UTC, like the risk engine's daily loss halt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crypto_strategy_lab.monitoring.attribution import realized_pnl

SECONDS_PER_YEAR = 365.25 * 24 * 3600


def drawdown(equity: pd.Series) -> pd.Series:
    """``equity / running peak - 1`` (<= 0)."""
    return equity / equity.cummax() - 1.0


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Observations per year implied by the median spacing of ``index`` (24/7 calendar)."""
    if len(index) < 2:
        return float("nan")
    step = pd.Series(index).diff().dropna().median().total_seconds()
    return SECONDS_PER_YEAR / step if step > 0 else float("nan")


def rolling_sharpe(returns: pd.Series, window: int, periods: float) -> pd.Series:
    """Annualised rolling Sharpe ``sqrt(periods) * mean / std`` (ddof 1) over ``window`` rows.

    Windows with zero volatility give NaN, not infinity.
    """
    mean = returns.rolling(window, min_periods=window).mean()
    std = returns.rolling(window, min_periods=window).std(ddof=1)
    return (np.sqrt(periods) * mean / std.where(std > 0)).rename("rolling_sharpe")


@dataclass(frozen=True)
class DailyPnL:
    """Today's P&L against the equity at the start of the UTC day."""

    day_start_equity: float
    equity: float

    @property
    def pnl(self) -> float:
        return self.equity - self.day_start_equity

    @property
    def loss_fraction(self) -> float:
        """``max(0, -pnl) / day_start_equity`` (the quantity the daily loss limit caps)."""
        return max(0.0, -self.pnl) / self.day_start_equity if self.day_start_equity > 0 else 0.0


def pnl_today(equity: pd.Series) -> DailyPnL:
    """P&L of the last point's UTC day: last equity minus the last equity at or before 00:00
    UTC of that day (the run's first point if it started today)."""
    last_ts = equity.index[-1]
    day_start = last_ts.normalize()
    before = equity[equity.index <= day_start]
    start = float(before.iloc[-1]) if len(before) else float(equity.iloc[0])
    return DailyPnL(day_start_equity=start, equity=float(equity.iloc[-1]))


def strategy_pnl_curves(fills: pd.DataFrame, positions: pd.DataFrame) -> pd.DataFrame:
    """Cumulative net P&L per strategy over time: realised minus fees (at fill times) plus the
    unrealised P&L of its open books (latest snapshot per book, carried forward).

    ``fills`` has the journal fill columns; ``positions`` the position history columns
    ``ts, strategy, venue, symbol, unrealized_pnl``. Returns a wide frame, one column per
    strategy, indexed by time.
    """
    parts = []
    if len(fills):
        booked = realized_pnl(fills)
        booked["net"] = booked["realized_pnl"] - booked["fee"]
        realised = booked.pivot_table(index="ts", columns="strategy", values="net", aggfunc="sum")
        parts.append(realised.cumsum())
    if len(positions):
        pos = positions.assign(strategy=positions["strategy"].fillna("(none)"))
        pos = pos.assign(unrealized_pnl=pos["unrealized_pnl"].fillna(0.0))
        books = pos.pivot_table(
            index="ts",
            columns=["strategy", "venue", "symbol"],
            values="unrealized_pnl",
            aggfunc="last",
        ).ffill()
        parts.append(books.T.groupby(level="strategy").sum(min_count=1).T)
    if not parts:
        return pd.DataFrame()
    index = parts[0].index
    for p in parts[1:]:
        index = index.union(p.index)
    total = None
    for p in parts:
        aligned = p.reindex(index).ffill().fillna(0.0)
        total = aligned if total is None else total.add(aligned, fill_value=0.0)
    total.columns.name = "strategy"
    return total


@dataclass(frozen=True)
class Drift:
    """Live run vs a reference run over their common timestamps."""

    frame: pd.DataFrame  # live, reference cumulative returns and their gap
    tracking_error: float  # annualised std of the per-period return difference
    final_gap: float  # live cumulative return minus the reference's


def drift_against(live: pd.Series, reference: pd.Series, periods: float) -> Drift | None:
    """Compare two equity curves on their common timestamps (``None`` if < 3 in common).

    Cumulative returns are rebased to the first common point; the tracking error is
    ``sqrt(periods) * std(r_live - r_ref)``.
    """
    common = pd.concat({"live": live, "reference": reference}, axis=1, join="inner").dropna()
    if len(common) < 3:
        return None
    cumulative = common / common.iloc[0] - 1.0
    cumulative["gap"] = cumulative["live"] - cumulative["reference"]
    diff = common.pct_change().dropna()
    te = float(np.sqrt(periods) * (diff["live"] - diff["reference"]).std(ddof=1))
    return Drift(frame=cumulative, tracking_error=te, final_gap=float(cumulative["gap"].iloc[-1]))
