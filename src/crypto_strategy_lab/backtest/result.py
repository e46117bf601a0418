"""What a backtest returns: per-bar series, the trade list and summary statistics."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from crypto_strategy_lab.backtest.stats import PERCENT_STATS, summary_stats
from crypto_strategy_lab.performance.metrics import drawdown

if TYPE_CHECKING:
    import plotly.graph_objects as go

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

#: The statistics a repr shows, in this order (all of them are in ``stats``).
_HEADLINE = ("total_return", "sharpe", "max_drawdown", "n_trades")


@dataclass(frozen=True, repr=False)
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
    signal:
        The target weights the simulation followed (after long-only clipping).
    close:
        The bars' close (for turnover and the buy-and-hold benchmark).
    settings:
        The inputs that shaped the run (market, fill model, stops, sizing, costs, ...), for
        reports and the trial log's config hash.
    stats:
        Summary statistics, a float64 Series (see
        :func:`~crypto_strategy_lab.backtest.stats.summary_stats`), computed on first access:
        a sweep or a search that reads only ``returns`` never pays for them.
    fills:
        Every fill in time order (``time``, ``kind``, ``side``, ``quantity``, ``price``,
        ``fee``), what the engine's journal holds for the same run (the parity suite compares
        them one by one).
    """

    returns: pd.Series
    equity: pd.Series
    positions: pd.Series
    trades: pd.DataFrame
    signal: pd.Series
    close: pd.Series
    settings: dict[str, Any] = field(default_factory=dict)
    fills: pd.DataFrame | None = None

    @cached_property
    def stats(self) -> pd.Series:
        return summary_stats(
            self.returns,
            self.equity,
            self.positions,
            self.trades,
            self.close,
            self.settings["initial_capital"],
            self.settings["periods_per_year"],
        )

    @property
    def start(self) -> pd.Timestamp | None:
        """The first bar's timestamp (None for an empty run)."""
        return self.returns.index[0] if len(self.returns) else None

    @property
    def end(self) -> pd.Timestamp | None:
        """The last bar's timestamp (None for an empty run)."""
        return self.returns.index[-1] if len(self.returns) else None

    @property
    def buy_and_hold(self) -> pd.Series:
        """Equity of the benchmark that puts ``initial_capital`` in the asset at the first
        bar's close and holds it, without costs: ``C_0 * close_t / close_0``."""
        capital = self.settings["initial_capital"]
        close = self.close.to_numpy(dtype=float)
        return pd.Series(capital * close / close[0], index=self.close.index, name="buy_and_hold")

    def _headline(self) -> str:
        s = self.stats
        parts = [f"{_label(k)} {_format(k, s[k])}" for k in _HEADLINE]
        return ", ".join(parts)

    def __repr__(self) -> str:
        market = self.settings.get("market", "?")
        span = f"{self.start:%Y-%m-%d %H:%M} -> {self.end:%Y-%m-%d %H:%M}" if self.start else ""
        return f"<BacktestResult {market}, {len(self.returns):,} bars {span}: {self._headline()}>"

    def _repr_html_(self) -> str:
        """Notebook display: the run's span and settings, and every statistic with its unit."""
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(_label(k))}</th>"
            f"<td style='text-align:right'>{html.escape(_format(k, v))}</td></tr>"
            for k, v in self.stats.items()
        )
        market = html.escape(str(self.settings.get("market", "?")))
        caption = html.escape(f"{self.start} -> {self.end}, {len(self.returns):,} bars")
        return (
            f"<div><strong>BacktestResult</strong> ({market}; {caption})<table>{rows}</table></div>"
        )

    def plot(self, *, title: str | None = None) -> go.Figure:
        """Equity against buy-and-hold, drawdown and position, on one shared time axis.

        Returns a plotly ``Figure`` (``fig.show()`` in a notebook, ``fig.write_html(path)``
        for a file).
        """
        import plotly.graph_objects as go  # plotly is only needed to draw
        from plotly.subplots import make_subplots

        fig = make_subplots(
            rows=3,
            cols=1,
            shared_xaxes=True,
            row_heights=[0.6, 0.2, 0.2],
            vertical_spacing=0.03,
            subplot_titles=("equity", "drawdown", "position"),
        )
        x = self.equity.index
        fig.add_trace(go.Scatter(x=x, y=self.equity, name="strategy"), row=1, col=1)
        fig.add_trace(
            go.Scatter(x=x, y=self.buy_and_hold, name="buy & hold", line={"dash": "dot"}),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(x=x, y=-drawdown(self.equity), name="drawdown", fill="tozeroy"),
            row=2,
            col=1,
        )
        fig.add_trace(
            go.Scatter(x=x, y=self.positions, name="position", line={"shape": "hv"}),
            row=3,
            col=1,
        )
        fig.update_yaxes(tickformat=".0%", row=2, col=1)
        fig.update_layout(
            title=title or f"backtest: {self._headline()}", hovermode="x unified", height=700
        )
        return fig


def _label(key: str) -> str:
    return key.replace("_", " ")


def _format(key: str, value: float) -> str:
    if pd.isna(value):
        return "n/a"
    if key in PERCENT_STATS:
        return f"{value:.2%}"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.2f}"
