"""What a backtest returns: per-bar series, the trade list and summary statistics."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest.kernel import EXIT_REASONS
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
class KernelRecords:
    """The trades and fills of a run as the kernel wrote them, turned into frames on demand.

    Attributes
    ----------
    trade_int : numpy.ndarray
        ``(m, 4)`` int64: entry bar, exit bar, direction, exit reason (``EXIT_REASONS`` code).
    trade_float : numpy.ndarray
        ``(m, 7)``: max |quantity|, entry VWAP, exit VWAP, fees, funding, net P&L, entry
        notional.
    fills : numpy.ndarray
        ``(f, 6)``: bar, kind (``FILL_*`` code), signed quantity, price, fee, reference price.
    index : pandas.DatetimeIndex
        The bars' index (bar numbers -> timestamps).
    """

    trade_int: np.ndarray
    trade_float: np.ndarray
    fills: np.ndarray
    index: pd.DatetimeIndex

    def trade_frame(self) -> pd.DataFrame:
        """One row per round trip, columns ``TRADE_COLUMNS`` (see ``BacktestResult.trades``).

        Returns
        -------
        pandas.DataFrame
            One row per recorded trade with bar numbers turned into the index's timestamps,
            exit reason codes into names and ``return = pnl / entry notional``; an empty
            frame with the same columns and dtypes when there were none.
        """
        rec_int, rec_float, index = self.trade_int, self.trade_float, self.index
        if rec_int.shape[0] == 0:
            return pd.DataFrame(
                {
                    "entry_time": pd.Series(dtype=index.dtype),
                    "exit_time": pd.Series(dtype=index.dtype),
                    "direction": pd.Series(dtype=np.int64),
                    **{c: pd.Series(dtype=float) for c in TRADE_COLUMNS[3:-1]},
                    "exit_reason": pd.Series(dtype=object),
                }
            )[TRADE_COLUMNS]
        return pd.DataFrame(
            {
                "entry_time": index[rec_int[:, 0]],
                "exit_time": index[rec_int[:, 1]],
                "direction": rec_int[:, 2],
                "quantity": rec_float[:, 0],
                "entry_price": rec_float[:, 1],
                "exit_price": rec_float[:, 2],
                "fees": rec_float[:, 3],
                "funding": rec_float[:, 4],
                "pnl": rec_float[:, 5],
                "return": rec_float[:, 5] / rec_float[:, 6],
                "exit_reason": np.asarray(EXIT_REASONS, dtype=object)[rec_int[:, 3]],
            }
        )[TRADE_COLUMNS]

    def fill_frame(self) -> pd.DataFrame:
        """Every fill in time order (see ``BacktestResult.fills``).

        Returns
        -------
        pandas.DataFrame
            Columns ``time`` (the bar's timestamp), ``kind`` (``signal``, ``stop_loss``,
            ``take_profit``, ``liquidation``), ``side`` (+1 buy, -1 sell), ``quantity``
            (absolute, base units), ``price`` (after slippage), ``fee`` (quote currency) and
            ``reference`` (the price before slippage).
        """
        rec = self.fills
        bar = rec[:, 0].astype(np.int64)
        qty = rec[:, 2]
        return pd.DataFrame(
            {
                "time": self.index[bar],
                "kind": np.asarray(EXIT_REASONS, dtype=object)[rec[:, 1].astype(np.int64)],
                "side": np.sign(qty).astype(np.int64),
                "quantity": np.abs(qty),
                "price": rec[:, 3],
                "fee": rec[:, 4],
                "reference": rec[:, 5],
            }
        )


@dataclass(frozen=True, repr=False)
class BacktestResult:
    """The outcome of :func:`~crypto_strategy_lab.backtest.run_backtest`.

    Attributes
    ----------
    returns : pandas.Series
        Net simple return of the book per bar (fees, slippage and funding included), on the
        bars' index; ``returns.iloc[0]`` is relative to ``initial_capital``.
    equity : pandas.Series
        Mark-to-market equity at every bar's close.
    positions : pandas.Series
        Signed quantity held at every bar's close (base units; negative = short).
    trades : pandas.DataFrame
        (Built from ``records`` on first access.) One row per round trip (flat -> position
        -> flat, or a flip): ``entry_time``, ``exit_time``, ``direction`` (+1/-1),
        ``quantity`` (largest absolute size held), ``entry_price``/``exit_price``
        (volume-weighted over the adding/reducing fills), ``fees``, ``funding`` (paid;
        negative = received), ``pnl`` (net of fees and funding), ``return`` (``pnl`` over
        entry notional) and ``exit_reason`` (``signal``, ``stop_loss``, ``take_profit``,
        ``liquidation``, or ``open`` for a trade still open at the last bar, marked at the last
        close without exit costs).
    signal : pandas.Series
        The target weights the simulation followed (after long-only clipping).
    close : pandas.Series
        The bars' close (for turnover and the buy-and-hold benchmark).
    settings : dict of str to Any
        The inputs that shaped the run (market, fill model, stops, sizing, costs, ...), for
        reports and the trial log's config hash.
    stats : pandas.Series
        Summary statistics, a float64 Series (see
        :func:`~crypto_strategy_lab.backtest.stats.summary_stats`), computed on first access:
        a sweep or a search that reads only ``returns`` never pays for them.
    fills : pandas.DataFrame
        (Built from ``records`` on first access.) Every fill in time order: ``time`` (the
        fill bar's open time), ``kind`` (``signal``, ``stop_loss``, ``take_profit``,
        ``liquidation``), ``side`` (+1 buy / -1 sell), ``quantity`` (> 0), ``price``, ``fee``
        and ``reference`` (the price before slippage: the fill bar's open for a signal order,
        the level or the gapped open for an exit); what the engine's journal holds for the
        same run (the parity suite compares them one by one).
    records : KernelRecords
        The kernel's trade and fill records (:class:`KernelRecords`): a run that reads only
        its returns or equity never builds the two frames.
    """

    returns: pd.Series
    equity: pd.Series
    positions: pd.Series
    signal: pd.Series
    close: pd.Series
    records: KernelRecords
    settings: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def trades(self) -> pd.DataFrame:
        """One row per round trip (columns in the class docstring), built on first access."""
        return self.records.trade_frame()

    @cached_property
    def fills(self) -> pd.DataFrame:
        """Every fill in time order (columns in the class docstring), built on first access."""
        return self.records.fill_frame()

    @cached_property
    def stats(self) -> pd.Series:
        """Summary statistics (listed in the class docstring), computed on first access."""
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
        """Equity of the buy-and-hold benchmark: ``C_0 * close_t / close_0``.

        It puts ``initial_capital`` (``C_0``) in the asset at the first bar's close and holds
        it, without costs.
        """
        capital = self.settings["initial_capital"]
        close = self.close.to_numpy(dtype=float)
        return pd.Series(capital * close / close[0], index=self.close.index, name="buy_and_hold")

    def _headline(self) -> str:
        s = self.stats
        parts = [f"{_label(k)} {_format(k, s[k])}" for k in _HEADLINE]
        return ", ".join(parts)

    def __repr__(self) -> str:
        """One line: market, bar count, span and the headline statistics."""
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

        Parameters
        ----------
        title : str, optional
            The figure's title; by default ``"backtest: "`` and the headline statistics
            (total return, Sharpe, maximum drawdown, number of trades).

        Returns
        -------
        plotly.graph_objects.Figure
            Three rows sharing the x axis: equity (strategy and buy-and-hold), drawdown and
            position (``fig.show()`` in a notebook, ``fig.write_html(path)`` for a file).
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
