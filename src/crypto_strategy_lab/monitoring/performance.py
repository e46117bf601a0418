"""Live performance figures the dashboard shows.

Drawdown, today's P&L, rolling Sharpe, the per-strategy P&L curve and the drift of a run
against a reference (backtest/replay) run.

The rolling Sharpe is :func:`crypto_strategy_lab.performance.metrics.rolling_sharpe`,
re-exported here (the research report draws the same one).

Conventions: returns are simple returns of the equity curve between consecutive journal
points; drawdown and annualisation are those of :mod:`crypto_strategy_lab.performance.metrics`
(``infer_periods_per_year``: the 24/7 crypto calendar of 365 days unless a market says
otherwise), the same definitions the backtest and the gate use. Sharpe ratios here are
annualised with the risk-free rate taken as 0 (a monitoring view, not the validation gate,
whose per-period Sharpe conventions live in ``validation``). The trading day starts at
00:00 UTC, like the risk engine's daily loss halt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crypto_strategy_lab.monitoring.attribution import BOOK, realized_pnl
from crypto_strategy_lab.performance.metrics import rolling_sharpe as rolling_sharpe


@dataclass(frozen=True)
class DailyPnL:
    """Today's P&L against the equity at the start of the UTC day.

    Attributes
    ----------
    day_start_equity : float
        Equity at 00:00 UTC (quote currency).
    equity : float
        Latest equity.
    """

    day_start_equity: float
    equity: float

    @property
    def pnl(self) -> float:
        """``equity - day_start_equity``."""
        return self.equity - self.day_start_equity

    @property
    def loss_fraction(self) -> float:
        """``max(0, -pnl) / day_start_equity`` (the quantity the daily loss limit caps)."""
        return max(0.0, -self.pnl) / self.day_start_equity if self.day_start_equity > 0 else 0.0


def pnl_today(equity: pd.Series) -> DailyPnL:
    """P&L of the last point's UTC day.

    Parameters
    ----------
    equity : pandas.Series
        Equity indexed by UTC time, ascending, at least one point.

    Returns
    -------
    DailyPnL
        Last equity against the last equity at or before 00:00 UTC of that day (the series'
        first point if it starts later that day).
    """
    last_ts = equity.index[-1]
    day_start = last_ts.normalize()
    before = equity[equity.index <= day_start]
    start = float(before.iloc[-1]) if len(before) else float(equity.iloc[0])
    return DailyPnL(day_start_equity=start, equity=float(equity.iloc[-1]))


def strategy_pnl_curves(fills: pd.DataFrame, prices: pd.DataFrame) -> pd.DataFrame:
    """Cumulative net P&L per strategy over time, marked to market on one cost basis.

    For each book ``(strategy, venue, symbol)`` of the average-cost ledger
    (:func:`~crypto_strategy_lab.monitoring.attribution.realized_pnl`), at every time ``t`` of
    the symbol's price series and of the book's fills:
    ``P&L_t = sum(realised - fees up to t) + position_t * (price_t - average_price_t)``,
    with the book state and price the latest at or before ``t`` (no price yet: the average
    price, so no unrealised P&L). A strategy's curve is the sum of its books' curves.

    Parameters
    ----------
    fills : pandas.DataFrame
        The fills, with the columns :func:`~crypto_strategy_lab.monitoring.attribution.realized_pnl`
        needs.
    prices : pandas.DataFrame
        ``ts, symbol, price``: bar prices as the strategies saw them.

    Returns
    -------
    pandas.DataFrame
        One column per strategy, indexed by time, carried forward between points; empty
        without fills.
    """
    if len(fills) == 0:
        return pd.DataFrame()
    ledger = realized_pnl(fills)
    ledger["cum_net"] = (
        (ledger["realized_pnl"] - ledger["fee"]).groupby([ledger[k] for k in BOOK]).cumsum()
    )
    curves: dict[str, pd.Series] = {}
    for (strategy, _venue, symbol), book in ledger.groupby(BOOK, sort=True):
        px = prices.loc[prices["symbol"] == symbol, ["ts", "price"]]
        grid = pd.DataFrame({"ts": pd.concat([px["ts"], book["ts"]]).drop_duplicates()})
        grid = grid.sort_values("ts").reset_index(drop=True)
        grid = pd.merge_asof(grid, px.sort_values("ts"), on="ts", direction="backward")
        state = book[["ts", "position", "average_price", "cum_net"]]
        grid = pd.merge_asof(grid, state, on="ts", direction="backward")
        grid[["position", "cum_net"]] = grid[["position", "cum_net"]].fillna(0.0)
        mark = grid["price"].fillna(grid["average_price"])
        unrealised = (grid["position"] * (mark - grid["average_price"])).fillna(0.0)
        pnl = pd.Series((grid["cum_net"] + unrealised).to_numpy(), index=grid["ts"])
        pnl = pnl[~pnl.index.duplicated(keep="last")]
        previous = curves.get(strategy)
        if previous is None:
            curves[strategy] = pnl
        else:
            index = previous.index.union(pnl.index)
            curves[strategy] = previous.reindex(index).ffill().fillna(0.0) + pnl.reindex(
                index
            ).ffill().fillna(0.0)
    frame = pd.concat(curves, axis=1).sort_index().ffill().fillna(0.0)
    frame.columns.name = "strategy"
    return frame


@dataclass(frozen=True)
class Drift:
    """Live run vs a reference run over their common timestamps.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``live``, ``reference`` cumulative returns and their ``gap``.
    tracking_error : float
        Annualised std of the per-period return difference.
    final_gap : float
        Live cumulative return minus the reference's, at the last common point.
    """

    frame: pd.DataFrame
    tracking_error: float
    final_gap: float


def drift_against(live: pd.Series, reference: pd.Series, periods: float) -> Drift | None:
    """Compare two equity curves on their common timestamps.

    Parameters
    ----------
    live, reference : pandas.Series
        Equity curves; compared where both have a value.
    periods : float
        Periods per year, to annualise the tracking error.

    Returns
    -------
    Drift or None
        ``None`` with fewer than 3 common timestamps.

    Notes
    -----
    Cumulative returns are rebased to the first common point, ``E_t / E_0 - 1``; the tracking
    error is ``sqrt(periods) * std(r_live - r_ref)`` (``ddof=1``) of the simple returns
    between consecutive common points.
    """
    common = pd.concat({"live": live, "reference": reference}, axis=1, join="inner").dropna()
    if len(common) < 3:
        return None
    cumulative = common / common.iloc[0] - 1.0
    cumulative["gap"] = cumulative["live"] - cumulative["reference"]
    diff = common.pct_change().dropna()
    te = float(np.sqrt(periods) * (diff["live"] - diff["reference"]).std(ddof=1))
    return Drift(frame=cumulative, tracking_error=te, final_gap=float(cumulative["gap"].iloc[-1]))
