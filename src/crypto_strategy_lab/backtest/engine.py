"""``run_backtest``: a strategy (or a signal series) on OHLCV bars, with costs and stops.

The signal in [-1, 1] is a **target weight**: the book wants ``signal * sizing`` of its equity
in the asset. The fill model, sizing rule and stop semantics are stated in
:mod:`crypto_strategy_lab.backtest.kernel`; in short:

* a signal at bar ``t``'s close executes at bar ``t+1``'s open (``fill="next_open"``, default)
  or close (``fill="next_close"``); nothing ever fills at a price the signal could not know;
* taker fees (or maker fees with ``fee_side="maker"``) and slippage from the one
  :class:`~crypto_strategy_lab.core.costs.CostModel` (fixed bps, bar range, or volume
  participation);
* ``market="perp"`` pays funding every 8 h on the position held (a constant rate or a series);
  ``"spot"`` and ``"stock"`` cannot short or borrow: negative signals mean flat and
  ``sizing`` must be at most 1;
* stop-loss / take-profit levels relative to the average entry price, checked on each bar's
  path: a gap through a level fills at the open; a bar touching both fills the stop first.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import kernel
from crypto_strategy_lab.backtest.inputs import (
    ATR_PERIOD,
    BacktestError,
    FeeSide,
    Fill,
    Market,
    MarketInferredWarning,
    StopUnit,
    prepare_inputs,
    target_weights,
)
from crypto_strategy_lab.backtest.result import BacktestResult, KernelRecords
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.strategies.base import Strategy


class LongOnlyWarning(UserWarning):
    """A long-only market (spot, stock) turned a rule's short targets into flat bars."""


__all__ = [
    "BacktestError",
    "LongOnlyWarning",
    "MarketInferredWarning",
    "run_backtest",
    "signal_from",
    "unit_returns",
]


def signal_from(
    strategy_or_signals: Strategy | pd.Series | np.ndarray, bars: pd.DataFrame
) -> pd.Series:
    """The target-weight series on ``bars.index``.

    Parameters
    ----------
    strategy_or_signals : Strategy or pandas.Series or numpy.ndarray
        A strategy, whose ``compute(bars)['signal']`` is taken; or target weights, one per
        bar, as a Series on exactly ``bars.index`` or an array of shape ``(len(bars),)``.
    bars : pandas.DataFrame
        The OHLCV bars the signal is for.

    Returns
    -------
    pandas.Series
        Float64 target weights named ``"signal"`` on ``bars.index``, in [-1, 1] (values
        within 1e-12 beyond a bound are clipped to it). Shorts are kept: long-only
        clipping is :func:`run_backtest`'s, by market.

    Raises
    ------
    BacktestError
        If a Series has another index, an array another shape, or a value is NaN,
        infinite or outside [-1, 1].
    """
    values, _ = target_weights(_signal_values(strategy_or_signals, bars), long_only=False)
    return pd.Series(values, index=bars.index, name="signal", copy=False)


def _signal_values(
    strategy_or_signals: Strategy | pd.Series | np.ndarray, bars: pd.DataFrame
) -> np.ndarray:
    """The signal's values, one per bar, before :func:`target_weights` checks them."""
    if isinstance(strategy_or_signals, Strategy):
        return strategy_or_signals.compute(bars)["signal"].to_numpy(dtype=float)
    if isinstance(strategy_or_signals, pd.Series):
        if not strategy_or_signals.index.equals(bars.index):
            raise BacktestError(
                "the signal Series must have exactly the bars' index "
                f"({len(strategy_or_signals)} vs {len(bars)} rows or different timestamps)"
            )
        return strategy_or_signals.to_numpy(dtype=float)
    arr = np.asarray(strategy_or_signals, dtype=float)
    if arr.shape != (len(bars),):
        raise BacktestError(f"signal array must have shape ({len(bars)},), got {arr.shape}")
    return arr


def run_backtest(
    strategy_or_signals: Strategy | pd.Series | np.ndarray,
    bars: pd.DataFrame,
    *,
    costs: CostModel | None = None,
    sizing: float = 1.0,
    market: Market | MarketType | None = None,
    fill: Fill = "next_open",
    fee_side: FeeSide = "taker",
    stop_loss: float | None = 0.02,
    take_profit: float | None = 0.04,
    stop_unit: StopUnit = "fraction",
    atr_period: int = ATR_PERIOD,
    funding: pd.Series | float | None = None,
    initial_capital: float = 10_000.0,
    periods_per_year: float | None = None,
) -> BacktestResult:
    """Backtest a strategy or a target-weight signal on OHLCV bars.

    Parameters
    ----------
    strategy_or_signals : Strategy or pandas.Series or numpy.ndarray
        A :class:`~crypto_strategy_lab.strategies.base.Strategy` (its ``compute(bars)``
        ``signal`` column is used) or a Series/array in [-1, 1] on the bars' index.
    bars : pandas.DataFrame
        OHLCV frame (``data.schema.validate_ohlcv``).
    costs : CostModel or None
        Fees, slippage and default funding rate; ``CostModel()`` (Bybit base tier) if None.
    sizing : float, default 1.0
        Equity fraction per unit of signal (leverage on ``perp``; at most 1 elsewhere).
    market : {"spot", "perp", "linear", "stock"} or MarketType or None
        ``"spot"`` / ``"stock"`` (long-only, no funding) or ``"perp"`` (long/short, funding).
        ``None`` infers it from the bars' calendar as the CLI does (24/7 bars: ``perp``;
        weekday sessions: ``stock``) with a :class:`MarketInferredWarning` saying so; bars
        spanning less than two weeks cannot be inferred from and are refused.
    fill : {"next_open", "next_close"}, default "next_open"
        ``"next_open"`` (default) or ``"next_close"``: when a signal formed at bar t's close
        is executed.
    fee_side : {"taker", "maker"}, default "taker"
        Fee schedule of signal orders; stop exits always pay the taker fee.
    stop_loss, take_profit : float or None
        Distances of the protective exits from the average entry price: fractions of it
        (default 2 % / 4 %) or, with ``stop_unit="atr"``, multiples of the average true range
        of the bar the entry fill is known at; ``None`` or 0 disables.
    stop_unit : {"fraction", "atr"}, default "fraction"
        ``"fraction"`` (default) or ``"atr"`` (volatility-scaled stops: a level ``a - d k ATR``
        set from Wilder's ATR over ``atr_period`` bars up to and including that bar, so
        causal; a position entered during the ATR's warm-up carries no level).
    atr_period : int, default ATR_PERIOD
        Wilder's ATR period in bars (14, his choice) for ``stop_unit="atr"``.
    funding : pandas.Series or float or None
        Perpetual funding rate: a constant per 8 h or a Series indexed by funding times;
        ``None`` uses ``costs.funding_rate_8h``. Only for ``market="perp"``.
    initial_capital : float, default 10_000.0
        Starting cash in quote currency.
    periods_per_year : float or None
        Annualisation factor; inferred from the bar spacing and the market's calendar when
        None (crypto 365 d; stocks 252 sessions).

    Returns
    -------
    BacktestResult
        Per-bar net returns, equity, positions and the target weights followed; the trades,
        fills and summary statistics (built on first access); the settings it ran with.

    Raises
    ------
    BacktestError
        If the signal is misaligned, not finite or outside [-1, 1], or a setting is invalid
        (market, fill, fee side, stops, sizing, capital, funding off a perpetual).
    DataValidationError
        If ``bars`` fails the OHLCV schema.

    Warns
    -----
    LongOnlyWarning
        When a long-only market (spot, stock) turns short targets into flat bars.
    MarketInferredWarning
        When ``market`` is None and was inferred from the bars.
    """
    costs = costs or CostModel()
    inputs = prepare_inputs(
        bars,
        costs=costs,
        sizing=sizing,
        market=market,
        fill=fill,
        fee_side=fee_side,
        stop_loss=stop_loss,
        take_profit=take_profit,
        stop_unit=stop_unit,
        atr_period=atr_period,
        funding=funding,
        initial_capital=initial_capital,
        periods_per_year=periods_per_year,
    )
    mkt = inputs.market
    ppy = inputs.periods_per_year
    target, shorts = target_weights(
        _signal_values(strategy_or_signals, bars), long_only=mkt != "perp"
    )
    if shorts and mkt != "perp":
        # never drop a rule's shorts silently: a +-1 signal on the default spot market
        # would otherwise backtest as a different, long-only strategy
        warnings.warn(
            f"market={mkt!r} is long-only: {shorts} short target(s) of {len(target)} bars "
            "are flat in this backtest; pass market='perp' to trade them",
            LongOnlyWarning,
            stacklevel=2,
        )

    n = len(bars)
    equity = np.empty(n)
    qty = np.empty(n)
    rec_int = np.empty((n + 1, 4), dtype=np.int64)
    rec_float = np.empty((n + 1, 7))
    # at most two fills a bar (the order, then an exit); the last row receives the count, so
    # only the rows written are ever touched (no 2n-row initialisation)
    fill_rec = np.empty((2 * n + 1, 6))
    n_trades = kernel.simulate(
        *inputs.bars,
        target,
        inputs.funding,
        inputs.stop_unit,
        inputs.params,
        inputs.slip_mode,
        inputs.fill_at_close,
        equity,
        qty,
        rec_int,
        rec_float,
        fill_rec,
    )

    # the arrays are this run's own: the Series wrap them (pandas 3 copies by default)
    index = bars.index
    growth = kernel.simple_returns(equity.reshape(1, n), float(initial_capital)).reshape(n)
    returns = pd.Series(growth, index=index, name="returns", copy=False)
    equity_s = pd.Series(equity, index=index, name="equity", copy=False)
    positions = pd.Series(qty, index=index, name="position", copy=False)
    settings: dict[str, Any] = {
        "market": mkt,
        "fill": fill,
        "fee_side": fee_side,
        "sizing": sizing,
        "stop_loss": stop_loss,
        "take_profit": take_profit,
        "stop_unit": stop_unit,
        "atr_period": atr_period if stop_unit == "atr" else None,
        "initial_capital": initial_capital,
        "periods_per_year": ppy,
        "costs": costs.model_dump(mode="json"),
        "funding": "series" if isinstance(funding, pd.Series) else funding,
    }
    return BacktestResult(
        returns=returns,
        equity=equity_s,
        positions=positions,
        signal=pd.Series(target, index=index, name="signal", copy=False),
        close=bars["close"],
        settings=settings,
        # the few rows written, copied: the record buffers are sized for the worst case
        records=KernelRecords(
            trade_int=rec_int[:n_trades].copy(),
            trade_float=rec_float[:n_trades].copy(),
            fills=fill_rec[: int(fill_rec[-1, 0])].copy(),
            index=index,
        ),
    )


def unit_returns(
    strategy: Strategy, bars: pd.DataFrame, costs: CostModel, market: MarketType
) -> pd.Series:
    """Per-bar returns of ``strategy`` on ``bars`` at one unit of equity per unit of signal.

    :func:`run_backtest` with ``sizing=1`` and its default fills and stops: the returns a
    paper or deploy run estimates its sleeves' budgets from (the engine's
    ``engine.paper.UnitReturns``, passed in by the CLI because trading never backtests).

    Parameters
    ----------
    strategy : Strategy
        The strategy, with the parameters it trades.
    bars : pandas.DataFrame
        OHLCV history (before the traded period).
    costs : CostModel
        Fees, slippage and funding rate, as for :func:`run_backtest`.
    market : MarketType
        The market traded, as for :func:`run_backtest`.

    Returns
    -------
    pandas.Series
        Simple returns per bar on ``bars.index``.
    """
    return run_backtest(strategy, bars, costs=costs, market=market, sizing=1.0).returns
