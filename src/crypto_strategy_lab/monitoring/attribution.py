"""Performance attribution: where the P&L came from.

Three cuts, all on plain pandas objects so they work on a journal, a backtest or a test frame:

1. **Realised P&L per fill** with average-cost accounting per book ``(strategy, venue,
   symbol)``, and the open books marked to the latest price on the same cost basis (mixing
   our realised P&L with another component's unrealised P&L would double count whenever the
   two cost bases differ). A fill that adds to a position moves its average price to the
   quantity-weighted mean; a fill that reduces it realises
   ``closed_qty * (price - avg) * sign(position)``; a fill that crosses zero realises the
   whole old position and opens the remainder at the fill price. Fees are kept separate
   (``fee`` column) so gross and net P&L can both be shown.
2. **Grouped attribution** (:func:`pnl_attribution`): realised, fees, unrealised and net P&L
   summed by any keys (strategy; venue and asset class), with each group's signed share of
   the gross absolute P&L.
3. **Factor split** (:func:`factor_attribution`): the OLS regression
   ``r_t = alpha + beta * m_t + e_t`` of strategy returns on market returns (statsmodels).
   Because the regression has an intercept the residuals sum to zero, so the total return
   splits exactly into a market part ``beta * sum(m_t)`` and a residual part
   ``n * alpha`` (the strategy's own edge); the variance splits into the systematic share
   ``R^2`` and the idiosyncratic share ``1 - R^2``. Standard errors are OLS by default or
   Newey–West HAC with ``hac_lags`` (returns of overlapping positions are autocorrelated).

Amounts are floats here: attribution is for display and analysis; the journal keeps the exact
decimals.

References
----------
Sharpe, W. F. (1964). Capital asset prices: a theory of market equilibrium. *J. Finance* 19(3).
Newey, W. K. and West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity and
autocorrelation consistent covariance matrix. *Econometrica* 55(3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from crypto_strategy_lab.core import execution
from crypto_strategy_lab.core.errors import CSLError

_FLAT = 1e-12  # |position| below this (float residue of exact decimals) is flat
FILL_COLUMNS = ("ts", "strategy", "venue", "symbol", "side", "quantity", "price", "fee")


class AttributionError(CSLError):
    """Attribution inputs are missing columns, misaligned or too short."""


def asset_class(venue: str, market: str | None) -> str:
    """The asset class of a book on ``venue`` in ``market``.

    ``equity`` (Alpaca / stock market), ``crypto_spot``, ``crypto_perp`` (Bybit linear
    perpetuals, Bybit's default market), or ``crypto`` when a simulated venue does not say
    which.

    Parameters
    ----------
    venue : str
        The venue's name (``"alpaca"``, ``"bybit"``, a simulated venue...).
    market : str or None
        The book's market (``"stock"``, ``"spot"``, ``"linear"``); None when not recorded.

    Returns
    -------
    str
        ``"equity"``, ``"crypto_spot"``, ``"crypto_perp"`` or ``"crypto"``; the market, when
        given, wins over the venue's default (Bybit spot is ``crypto_spot``).
    """
    if market == "stock" or venue == "alpaca":
        return "equity"
    if market == "spot":
        return "crypto_spot"
    if market == "linear" or venue == "bybit":
        return "crypto_perp"
    return "crypto"


BOOK = ["strategy", "venue", "symbol"]


def realized_pnl(fills: pd.DataFrame) -> pd.DataFrame:
    """The average-cost ledger of ``fills``, one row per fill in ``ts`` order.

    Books are ``(strategy, venue, symbol)``; ``side`` is ``BUY``/``SELL``; ``quantity`` is
    positive. A missing strategy is booked as ``"(none)"``.

    Parameters
    ----------
    fills : pandas.DataFrame
        Columns ``ts, strategy, venue, symbol, side, quantity, price, fee``.

    Returns
    -------
    pandas.DataFrame
        ``fills`` sorted by ``ts`` (stable) with ``realized_pnl`` per fill and the book's state
        after it: ``position`` (signed) and ``average_price`` (0 when flat).

    Raises
    ------
    AttributionError
        If a column is missing.

    Notes
    -----
    One average-cost rule for the whole project (:mod:`crypto_strategy_lab.core.execution`'s
    ``realised_pnl`` and ``average_entry``). A fill of signed ``dq`` at ``p`` against a
    position ``q`` at average ``a`` realises ``min(|q|, |dq|) (p - a) sgn(q)`` when it reduces
    or flips the position, 0 when it opens or adds; adding re-averages to
    ``(|q| a + |dq| p) / (|q| + |dq|)``, reducing keeps ``a``, a flip starts the new side at
    ``p``. Fees are not netted here. A position within ``1e-12`` of zero (decimal residue) is
    flat.
    """
    missing = [c for c in FILL_COLUMNS if c not in fills.columns]
    if missing:
        raise AttributionError(f"fills frame lacks column(s): {', '.join(missing)}")
    out = fills.sort_values("ts", kind="stable").reset_index(drop=True).copy()
    out["strategy"] = out["strategy"].fillna("(none)")
    books: dict[tuple[str, str, str], tuple[float, float]] = {}
    realized = np.zeros(len(out))
    after_qty = np.zeros(len(out))
    after_avg = np.zeros(len(out))
    for i, row in enumerate(out.itertuples(index=False)):
        book = (row.strategy, row.venue, row.symbol)
        qty, avg = books.get(book, (0.0, 0.0))
        sign = 1.0 if str(row.side).upper() == "BUY" else -1.0
        delta, price = sign * float(row.quantity), float(row.price)
        # the one average-cost ledger (core.execution), the simulated venue's and the
        # backtest's stop levels' too
        realized[i] = execution.realised_pnl(qty, avg, delta, price)
        avg = execution.average_entry(qty, avg, delta, price)
        qty += delta
        if abs(qty) < _FLAT:
            qty, avg = 0.0, 0.0
        books[book] = (qty, avg)
        after_qty[i], after_avg[i] = qty, avg
    out["realized_pnl"] = realized
    out["position"] = after_qty
    out["average_price"] = after_avg
    return out


def latest_prices(prices: pd.DataFrame) -> pd.Series:
    """The last known price per symbol from a ``ts, symbol, price`` frame.

    Parameters
    ----------
    prices : pandas.DataFrame
        Price observations with columns ``ts``, ``symbol`` and ``price`` (any order; NaN
        prices are skipped).

    Returns
    -------
    pandas.Series
        The price at the latest ``ts`` per symbol, indexed by symbol (sorted); of two
        observations at the same ``ts`` the later row wins.
    """
    ordered = prices.dropna(subset=["price"]).sort_values("ts", kind="stable")
    return ordered.groupby("symbol")["price"].last()


def open_positions(ledger: pd.DataFrame, marks: pd.Series) -> pd.DataFrame:
    """Open books of a :func:`realized_pnl` ledger marked at ``marks``.

    Parameters
    ----------
    ledger : pandas.DataFrame
        The :func:`realized_pnl` ledger.
    marks : pandas.Series
        Price per symbol (e.g. :func:`latest_prices`).

    Returns
    -------
    pandas.DataFrame
        ``strategy, venue, symbol, quantity, average_price, mark_price, unrealized_pnl`` per
        book whose last position is not flat, with ``unrealized = quantity * (mark -
        average_price)``; a missing mark is the book's average price (zero unrealised P&L).
    """
    last = ledger.groupby(BOOK, sort=True).tail(1)
    last = last[last["position"].abs() >= _FLAT]
    out = last[BOOK].copy()
    out["quantity"] = last["position"].to_numpy()
    out["average_price"] = last["average_price"].to_numpy()
    out["mark_price"] = out["symbol"].map(marks).fillna(out["average_price"]).astype(float)
    out["unrealized_pnl"] = out["quantity"] * (out["mark_price"] - out["average_price"])
    return out.reset_index(drop=True)


def fill_position_mismatches(
    ledger: pd.DataFrame, snapshots: pd.DataFrame, tolerance: float = 1e-9
) -> pd.DataFrame:
    """Books whose position implied by the fills differs from the latest journaled position.

    A non-empty result means the journal is missing fills (or holds extra ones), so
    fill-based attribution for those books is incomplete.

    Parameters
    ----------
    ledger : pandas.DataFrame
        The :func:`realized_pnl` ledger.
    snapshots : pandas.DataFrame
        The latest position per book (``strategy, venue, symbol, quantity``; flat books may
        be absent, a missing strategy is ``"(none)"`` as in the ledger).
    tolerance : float, default 1e-9
        Largest absolute quantity difference that still agrees.

    Returns
    -------
    pandas.DataFrame
        ``strategy, venue, symbol, from_fills, journaled`` for each book that disagrees (a
        book missing on one side counts as flat there).
    """
    from_fills = ledger.groupby(BOOK, sort=True)["position"].last().rename("from_fills")
    snap = snapshots.assign(strategy=snapshots["strategy"].fillna("(none)"))
    journaled = snap.groupby(BOOK, sort=True)["quantity"].last().rename("journaled")
    both = pd.concat([from_fills, journaled], axis=1).fillna(0.0)
    bad = both[(both["from_fills"] - both["journaled"]).abs() > tolerance]
    return bad.reset_index()


def pnl_attribution(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    *,
    unrealized: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Net P&L by group: ``realized - fees + unrealized``, and each group's share of the total.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`realized_pnl` (needs ``realized_pnl``, ``fee`` and the ``by`` keys).
    by : str or Sequence[str]
        Grouping key(s), e.g. ``"strategy"`` or ``["venue", "asset_class"]``.
    unrealized : pandas.DataFrame, optional
        Open-position P&L with the ``by`` keys and an ``unrealized_pnl`` column (e.g.
        :func:`open_positions`).

    Returns
    -------
    pandas.DataFrame
        Indexed by the keys with ``realized_pnl, fees, unrealized_pnl, net_pnl, trades,
        share``, sorted by ``net_pnl`` (largest first). ``share = net / sum(|net|)`` over the
        groups: signed, and meaningful even when winners and losers nearly cancel (a share of
        the *net* total explodes as the total approaches zero). NaN when every group's net P&L
        is zero.

    Raises
    ------
    AttributionError
        If ``frame`` lacks a key, ``realized_pnl`` or ``fee``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    for name in [*keys, "realized_pnl", "fee"]:
        if name not in frame.columns:
            raise AttributionError(f"attribution frame lacks column {name!r}")
    grouped = frame.groupby(keys, dropna=False).agg(
        realized_pnl=("realized_pnl", "sum"), fees=("fee", "sum"), trades=("fee", "size")
    )
    if unrealized is not None and len(unrealized):
        extra = unrealized.groupby(keys, dropna=False)["unrealized_pnl"].sum()
        grouped = grouped.join(extra, how="outer")
    else:
        grouped["unrealized_pnl"] = 0.0
    grouped = grouped.fillna({"realized_pnl": 0.0, "fees": 0.0, "trades": 0, "unrealized_pnl": 0.0})
    grouped["trades"] = grouped["trades"].astype(int)
    grouped["net_pnl"] = grouped["realized_pnl"] - grouped["fees"] + grouped["unrealized_pnl"]
    gross = grouped["net_pnl"].abs().sum()
    grouped["share"] = grouped["net_pnl"] / gross if gross > 0 else np.nan
    columns = ["realized_pnl", "fees", "unrealized_pnl", "net_pnl", "trades", "share"]
    return grouped[columns].sort_values("net_pnl", ascending=False)


@dataclass(frozen=True)
class FactorAttribution:
    """Result of :func:`factor_attribution` (per-period alpha; sums in return units).

    Attributes
    ----------
    alpha, beta : float
        OLS intercept (per period) and slope of ``r_t = alpha + beta m_t + e_t``.
    alpha_tstat, beta_tstat : float
        Their t-statistics (classical OLS or Newey–West HAC errors).
    r_squared : float
        The systematic share of the variance.
    n_obs : int
        Periods in the regression.
    total_return : float
        ``sum(r_t)``: the sum of the simple per-period returns (not compounded).
    market_return : float
        ``beta * sum(m_t)``.
    residual_return : float
        ``sum(r_t - beta m_t)``, equal to ``n_obs * alpha`` (OLS residuals sum to zero).
    components : pandas.DataFrame
        Per period: ``strategy`` (``r_t``), ``market`` (``beta m_t``), ``residual``
        (``r_t - beta m_t``).
    """

    alpha: float
    beta: float
    alpha_tstat: float
    beta_tstat: float
    r_squared: float
    n_obs: int
    total_return: float
    market_return: float
    residual_return: float
    components: pd.DataFrame  # per period: strategy, market (beta*m), residual (r - beta*m)


def factor_attribution(
    returns: pd.Series, market: pd.Series, *, hac_lags: int | None = None
) -> FactorAttribution:
    """Split ``returns`` into market beta and residual by OLS on ``market`` (see module notes).

    Parameters
    ----------
    returns, market : pandas.Series
        Simple per-period returns; aligned on their common index, NaNs dropped.
    hac_lags : int, optional
        Newey–West lags for the t-statistics (``None``: classical OLS errors).

    Returns
    -------
    FactorAttribution
        The fit and the split of the summed return into market and residual parts.

    Raises
    ------
    AttributionError
        With fewer than 3 overlapping periods, or constant market returns (beta is not
        identified).

    Notes
    -----
    OLS of ``r_t = alpha + beta m_t + e_t`` (statsmodels). With an intercept the residuals
    ``e_t`` sum to zero, so ``sum(r_t) = beta sum(m_t) + n alpha`` exactly (Sharpe 1964 for the
    market model; Newey & West 1987 for the HAC errors, references in the module docstring).
    """
    data = pd.concat({"r": returns, "m": market}, axis=1, join="inner").dropna()
    if len(data) < 3:
        raise AttributionError(
            f"factor attribution needs at least 3 overlapping periods, got {len(data)}"
        )
    if np.isclose(data["m"].var(ddof=0), 0.0):
        raise AttributionError("market returns are constant: beta is not identified")
    X = sm.add_constant(data["m"].to_numpy())
    model = sm.OLS(data["r"].to_numpy(), X)
    fit = (
        model.fit(cov_type="HAC", cov_kwds={"maxlags": hac_lags})
        if hac_lags is not None
        else model.fit()
    )
    alpha, beta = (float(v) for v in fit.params)
    market_part = beta * data["m"]
    components = pd.DataFrame(
        {"strategy": data["r"], "market": market_part, "residual": data["r"] - market_part}
    )
    return FactorAttribution(
        alpha=alpha,
        beta=beta,
        alpha_tstat=float(fit.tvalues[0]),
        beta_tstat=float(fit.tvalues[1]),
        r_squared=float(fit.rsquared),
        n_obs=int(fit.nobs),
        total_return=float(data["r"].sum()),
        market_return=float(market_part.sum()),
        residual_return=float(components["residual"].sum()),
        components=components,
    )
