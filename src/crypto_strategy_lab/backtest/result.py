"""What a backtest returns: per-bar series, the trade list and summary statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

TRADE_COLUMNS = [
    "entry_time",
    "exit_time",
    "direction",
    "quantity",
    "entry_price",
    "exit_price",
    "fees",
    "funding",
    "pnl",
    "return",
    "exit_reason",
]


@dataclass(frozen=True)
class BacktestResult:
    """The outcome of :func:`~crypto_strategy_lab.backtest.run_backtest`.

    Attributes
    ----------
    returns:
        Net simple return of the book per bar (fees, slippage and funding included), on the
        bars' index; ``returns.iloc[0]`` is relative to ``initial_capital``.
    equity:
        Mark-to-market equity at every bar's close.
    positions:
        Signed quantity held at every bar's close (base units; negative = short).
    trades:
        One row per round trip (flat -> position -> flat, or a flip): ``entry_time``,
        ``exit_time``, ``direction`` (+1/-1), ``quantity`` (largest absolute size held),
        ``entry_price``/``exit_price`` (volume-weighted over the adding/reducing fills),
        ``fees``, ``funding`` (paid; negative = received), ``pnl`` (net of fees and funding),
        ``return`` (``pnl`` over entry notional) and ``exit_reason`` (``signal``,
        ``stop_loss``, ``take_profit``, or ``open`` for a trade still open at the last bar,
        marked at the last close without exit costs).
    stats:
        Summary statistics (see :func:`~crypto_strategy_lab.backtest.stats.summary_stats`).
    signal:
        The target weights the simulation followed (after long-only clipping).
    settings:
        The inputs that shaped the run (market, fill model, stops, sizing, costs, ...), for
        reports and the trial log's config hash.
    """

    returns: pd.Series
    equity: pd.Series
    positions: pd.Series
    trades: pd.DataFrame
    stats: pd.Series
    signal: pd.Series
    settings: dict[str, Any] = field(default_factory=dict)
