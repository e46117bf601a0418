"""Strategies: per-strategy P&L, attribution, rolling Sharpe, drift against a reference run.

Attribution is by strategy, by venue and asset class, and market beta vs residual.

Returns: the portfolio's are the equity curve's simple returns; a strategy's are the changes of
its cumulative net P&L divided by the run's capital (its contribution to the portfolio
return). The market factor is the bar-to-bar return of a traded symbol's price as the
strategies saw it (``signals.price``), sampled at the equity timestamps. The drift reference
is another journal run over the same period, typically a replay of the backtest (the replay
engine reproduces ``run_backtest``), so the gap is live-vs-backtest drift.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crypto_strategy_lab.monitoring.attribution import (
    AttributionError,
    asset_class,
    factor_attribution,
    fill_position_mismatches,
    latest_prices,
    open_positions,
    pnl_attribution,
    realized_pnl,
)
from crypto_strategy_lab.monitoring.dashboard import charts
from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext, run_labels
from crypto_strategy_lab.monitoring.dashboard.views.common import equity_or_note, run_id
from crypto_strategy_lab.monitoring.performance import (
    drift_against,
    rolling_sharpe,
    strategy_pnl_curves,
)
from crypto_strategy_lab.performance.metrics import infer_periods_per_year


def market_returns(prices: pd.DataFrame, symbol: str, index: pd.DatetimeIndex) -> pd.Series:
    """``symbol``'s price sampled (last known) at ``index``, as simple returns.

    Parameters
    ----------
    prices : pandas.DataFrame
        Price observations (``ts``, ``symbol``, ``price``); of duplicate timestamps the
        last row is kept.
    symbol : str
        The symbol whose prices are used.
    index : pandas.DatetimeIndex
        The times to sample at (e.g. a strategy's P&L index).

    Returns
    -------
    pandas.Series
        ``p_t / p_{t-1} - 1`` of the forward-filled prices on ``index``, named ``symbol``;
        NaN at the first time and before the symbol's first price.
    """
    series = prices.loc[prices["symbol"] == symbol].set_index("ts")["price"].sort_index()
    series = series[~series.index.duplicated(keep="last")]
    return series.reindex(index, method="ffill").pct_change().rename(symbol)


def marking_prices(signals: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """``ts, symbol, price``: bar prices from the signals, plus position-snapshot marks.

    Parameters
    ----------
    signals : pandas.DataFrame
        The run's signals (``ts``, ``symbol``, ``price``: the bar price each decision saw).
    history : pandas.DataFrame
        Position snapshots (``ts``, ``symbol``, ``mark_price``).

    Returns
    -------
    pandas.DataFrame
        Columns ``ts``, ``symbol``, ``price`` sorted by time, NaN prices dropped; at a
        ``(ts, symbol)`` present in both, the signal's price wins.
    """
    marks = history.rename(columns={"mark_price": "price"})[["ts", "symbol", "price"]]
    frames = [f for f in (signals[["ts", "symbol", "price"]], marks) if len(f)]
    if not frames:
        return pd.DataFrame(columns=["ts", "symbol", "price"])
    prices = pd.concat(frames).dropna(subset=["price"]).sort_values("ts", kind="stable")
    return prices.drop_duplicates(["ts", "symbol"], keep="first").reset_index(drop=True)


def _attribution(
    ctx: DashboardContext, fills: pd.DataFrame, prices: pd.DataFrame, history: pd.DataFrame
) -> None:
    st.subheader("Attribution")
    assert ctx.reader is not None and ctx.run is not None
    if len(fills) == 0:
        st.caption("No fill yet: nothing to attribute.")
        return
    ledger = realized_pnl(fills)
    markets = {}
    if len(history):
        markets = {(r.venue, r.symbol): r.market for r in history.itertuples()}
    ledger["asset_class"] = [
        asset_class(v, markets.get((v, s)))
        for v, s in zip(ledger["venue"], ledger["symbol"], strict=True)
    ]
    unreal = open_positions(ledger, latest_prices(prices))
    unreal["asset_class"] = [
        asset_class(v, markets.get((v, s)))
        for v, s in zip(unreal["venue"], unreal["symbol"], strict=True)
    ]
    mismatches = fill_position_mismatches(ledger, ctx.reader.positions(run_id(ctx)))
    if len(mismatches):
        st.warning(
            f"The journal's fills do not reproduce its positions for {len(mismatches)} book(s) "
            "(fills missing or extra): attribution below is incomplete for them. Check the "
            "engine's fill journaling (`csl audit verify`, `csl status`)."
        )
        st.dataframe(mismatches, hide_index=True, key="st_mismatch")
    by_strategy = pnl_attribution(ledger, "strategy", unrealized=unreal)
    by_venue = pnl_attribution(ledger, ["venue", "asset_class"], unrealized=unreal)
    left, right = st.columns(2)
    left.plotly_chart(
        charts.attribution_bars(by_strategy, "Net P&L by strategy"), key="st_attr_strategy"
    )
    right.plotly_chart(
        charts.attribution_bars(by_venue, "Net P&L by venue / asset class"), key="st_attr_venue"
    )
    st.dataframe(by_strategy.reset_index(), hide_index=True, key="st_attr_table")
    equity = ctx.reader.equity(run_id(ctx))
    if len(equity):
        change = float(equity["equity"].iloc[-1]) - float(ctx.run["capital"])
        attributed = float(by_strategy["net_pnl"].sum())
        st.caption(
            f"Attributed net P&L {attributed:+,.2f} vs equity change {change:+,.2f}: "
            f"unattributed {change - attributed:+,.2f} (funding payments, marks between the "
            "last bar price and the equity snapshot, anything not booked as a fill)."
        )


def _factor(
    equity: pd.DataFrame, curves: pd.DataFrame, prices: pd.DataFrame, capital: float
) -> None:
    st.subheader("Factor split: market beta vs residual")
    if len(prices) == 0:
        st.caption("No bar prices recorded in `signals` yet: the market factor needs them.")
        return
    symbols = sorted(prices["symbol"].unique())
    options = ["portfolio", *[str(c) for c in curves.columns]]
    c1, c2 = st.columns(2)
    symbol = c1.selectbox("Market factor (symbol)", symbols, key="st_factor_symbol")
    who = c2.selectbox("Returns of", options, key="st_factor_who")
    index = pd.DatetimeIndex(equity.index)
    if who == "portfolio":
        returns = equity["equity"].pct_change()
    else:
        returns = curves[who].reindex(index, method="ffill").fillna(0.0).diff() / capital
    market = market_returns(prices, symbol, index)
    try:
        fa = factor_attribution(returns, market)
    except AttributionError as exc:
        st.caption(f"Not enough data for the regression yet: {exc}")
        return
    left, right = st.columns([2, 1])
    left.plotly_chart(
        charts.factor_split(fa.market_return, fa.residual_return, fa.total_return), key="st_factor"
    )
    right.dataframe(
        pd.DataFrame(
            {
                "value": [fa.beta, fa.beta_tstat, fa.alpha, fa.alpha_tstat, fa.r_squared, fa.n_obs],
            },
            index=[
                "beta",
                "t(beta)",
                "alpha / period",
                "t(alpha)",
                "R² (systematic share)",
                "periods",
            ],
        ),
        key="st_factor_table",
    )


def _rolling(equity: pd.DataFrame, curves: pd.DataFrame, capital: float) -> None:
    st.subheader("Rolling Sharpe (annualised, 24/7 calendar)")
    index = pd.DatetimeIndex(equity.index)
    if len(index) < 10:
        st.caption("Too few equity points for a rolling Sharpe yet.")
        return
    ppy = infer_periods_per_year(index)
    default = int(min(max(10, round(ppy / 52)), max(10, len(index) // 2)))
    window = st.slider("Window (periods)", 5, max(10, len(index) - 1), default, key="st_window")
    frame = {"portfolio": rolling_sharpe(equity["equity"].pct_change(), window, ppy)}
    for name in curves.columns:
        r = curves[name].reindex(index, method="ffill").fillna(0.0).diff() / capital
        frame[str(name)] = rolling_sharpe(r, window, ppy)
    st.plotly_chart(
        charts.lines(pd.DataFrame(frame), f"Rolling Sharpe, {window} periods", "Sharpe"),
        key="st_sharpe",
    )


def _drift(ctx: DashboardContext, equity: pd.DataFrame) -> None:
    st.subheader("Live vs backtest drift")
    others = ctx.runs[ctx.runs["run_id"] != run_id(ctx)]
    if len(others) == 0:
        st.caption(
            "No reference run in this journal. Replay the same period with the simulated venue "
            "(the replay reproduces the backtest) to compare live fills with the backtest."
        )
        return
    labels = {"(none)": None} | dict(zip(run_labels(others), others["run_id"], strict=True))
    choice = st.selectbox("Reference run (backtest / replay)", list(labels), key="st_reference")
    if labels[choice] is None:
        return
    assert ctx.reader is not None
    reference = ctx.reader.equity(labels[choice])
    if len(reference) == 0:
        st.caption("The reference run has no equity points.")
        return
    index = pd.DatetimeIndex(equity.index)
    ppy = infer_periods_per_year(index) if len(index) >= 2 else float("nan")
    drift = drift_against(equity["equity"], reference["equity"], ppy)
    if drift is None:
        st.caption("The two runs share fewer than 3 timestamps: pick a run over the same period.")
        return
    c1, c2 = st.columns(2)
    c1.metric("Return gap (live - reference)", f"{drift.final_gap:+.2%}")
    c2.metric("Tracking error (annualised)", f"{drift.tracking_error:.2%}")
    st.plotly_chart(charts.lines(100 * drift.frame, "Cumulative return, %", "%"), key="st_drift")


def render(ctx: DashboardContext) -> None:
    """Draw the strategies page of the chosen run.

    Parameters
    ----------
    ctx : DashboardContext
        The page's context; :func:`~crypto_strategy_lab.monitoring.dashboard.app.run_page`
        calls it only with a readable journal and a chosen run.
    """
    assert ctx.reader is not None and ctx.run is not None
    rid = run_id(ctx)
    fills = ctx.reader.fills(rid)
    history = ctx.reader.position_history(rid)
    signal_prices = ctx.reader.signals_prices(rid)
    prices = marking_prices(signal_prices, history)
    curves = strategy_pnl_curves(fills, prices)
    capital = float(ctx.run["capital"])
    st.subheader("P&L by strategy")
    if len(curves):
        st.plotly_chart(
            charts.lines(curves, "Cumulative net P&L by strategy (marked to market)", "P&L"),
            key="st_curves",
        )
    else:
        st.caption("No fill yet.")
    _attribution(ctx, fills, prices, history)
    equity = equity_or_note(ctx)
    if equity is None:
        return
    _factor(equity, curves, signal_prices, capital)
    _rolling(equity, curves, capital)
    _drift(ctx, equity)
