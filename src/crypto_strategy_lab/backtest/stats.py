"""Summary statistics of a backtest: a float64 ``pd.Series``, like backtesting.py's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crypto_strategy_lab.performance.metrics import (
    annualised,
    max_drawdown,
    return_moments,
    sortino_ratio,
)

#: Statistics that are fractions (shown as percentages by the result's displays).
PERCENT_STATS = frozenset(
    {
        "total_return",
        "cagr",
        "volatility",
        "max_drawdown",
        "win_rate",
        "avg_trade_return",
        "exposure",
    }
)


def summary_stats(
    returns: pd.Series,
    equity: pd.Series,
    positions: pd.Series,
    trades: pd.DataFrame,
    close: pd.Series,
    initial_capital: float,
    periods_per_year: float,
) -> pd.Series:
    """Headline numbers of one backtest.

    Sharpe ratios: ``sharpe`` is annualised, ``sharpe_per_period`` is the per-bar value that
    PSR/DSR take; ``skew`` and ``kurtosis`` (raw, 3 = normal) are of the per-bar returns.
    ``cagr`` compounds over ``n_obs / periods_per_year`` years; ``exposure`` is the share of
    bars ending with a position; ``turnover`` is traded notional (valued at the close) over
    mean equity. Every value is a float (counts too), so the Series is float64 and arithmetic on
    it works; the run's first and last timestamps are ``BacktestResult.start``/``end``.

    Parameters
    ----------
    returns : pandas.Series
        Net simple return of the book per bar.
    equity : pandas.Series
        Equity at each bar's close, in quote currency.
    positions : pandas.Series
        Signed quantity held at each bar's close (base units).
    trades : pandas.DataFrame
        The round trips (``BacktestResult.trades`` columns), the still-open one included.
    close : pandas.Series
        Close prices, at which traded quantity is valued for ``turnover``.
    initial_capital : float
        Starting equity.
    periods_per_year : float
        Bars per year, for ``cagr``, ``volatility``, ``sharpe`` and ``sortino``.

    Returns
    -------
    pandas.Series
        float64 named ``"stats"``: ``n_obs``, ``periods_per_year``, ``initial_capital``,
        ``final_equity``, ``total_return``, ``cagr``, ``volatility`` (annualised std,
        ddof=1), ``sharpe``, ``sharpe_per_period``, ``sortino``, ``max_drawdown`` (positive
        fraction), ``calmar`` (``cagr / max_drawdown``), ``skew``, ``kurtosis``,
        ``n_trades``, ``win_rate`` and ``profit_factor`` (gross wins over gross losses),
        ``avg_trade_return``, ``total_fees``, ``total_funding``, ``exposure``, ``turnover``.
        Moment-based values are NaN with fewer than two bars; ``win_rate`` and
        ``profit_factor`` count closed trades only (``win_rate`` is NaN without a closed
        trade, ``profit_factor`` without a losing one), while ``n_trades``,
        ``avg_trade_return`` and the totals include a trade still open.
    """
    r = returns.to_numpy(dtype=float)
    n = r.size
    final = float(equity.iloc[-1]) if n else initial_capital
    years = n / periods_per_year if periods_per_year else np.nan
    total = final / initial_capital - 1.0
    cagr = (final / initial_capital) ** (1.0 / years) - 1.0 if years and final > 0 else np.nan
    moments = return_moments(r) if n >= 2 else None
    mdd = max_drawdown(equity)
    closed = trades[trades["exit_reason"] != "open"] if len(trades) else trades
    wins = closed["pnl"] > 0 if len(closed) else pd.Series(dtype=bool)
    gross_win = float(closed.loc[wins, "pnl"].sum()) if len(closed) else 0.0
    gross_loss = float(-closed.loc[~wins, "pnl"].sum()) if len(closed) else 0.0
    traded = np.abs(np.diff(np.concatenate([[0.0], positions.to_numpy()])))
    notional = float(np.sum(traded * close.to_numpy(dtype=float)))
    vol = float(r.std(ddof=1)) if n >= 2 else np.nan
    return pd.Series(
        {
            "n_obs": n,
            "periods_per_year": periods_per_year,
            "initial_capital": initial_capital,
            "final_equity": final,
            "total_return": total,
            "cagr": cagr,
            "volatility": vol * np.sqrt(periods_per_year) if n >= 2 else np.nan,
            "sharpe": annualised(moments.sr, periods_per_year) if moments else np.nan,
            "sharpe_per_period": moments.sr if moments else np.nan,
            "sortino": sortino_ratio(r, periods_per_year) if n >= 2 else np.nan,
            "max_drawdown": mdd,
            "calmar": cagr / mdd if mdd > 0 and np.isfinite(cagr) else np.nan,
            "skew": moments.skew if moments else np.nan,
            "kurtosis": moments.kurtosis if moments else np.nan,
            "n_trades": len(trades),
            "win_rate": float(wins.mean()) if len(closed) else np.nan,
            "profit_factor": gross_win / gross_loss if gross_loss > 0 else np.nan,
            "avg_trade_return": float(trades["return"].mean()) if len(trades) else np.nan,
            "total_fees": float(trades["fees"].sum()) if len(trades) else 0.0,
            "total_funding": float(trades["funding"].sum()) if len(trades) else 0.0,
            "exposure": float(np.mean(positions.to_numpy() != 0.0)) if n else 0.0,
            "turnover": notional / float(equity.mean()) if n else 0.0,
        },
        dtype=np.float64,
        name="stats",
    )
