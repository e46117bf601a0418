"""The numbers of a lab row's and a book's tear sheets, against buy-and-hold.

One job: numbers. The HTML is :mod:`crypto_strategy_lab.research.report`'s (the tear sheets'
sections: :mod:`crypto_strategy_lab.research.report_tearsheets`); the files beside it are
:mod:`crypto_strategy_lab.research.results`'.

The selected configuration is backtested once more, by the function every trial runs
(:func:`~crypto_strategy_lab.research.trial.backtest_configuration`) with the settings it ran
with, on the bars the study used, so its per-bar returns are the study's (the tests check
they are identical). Every statistic covers the **gate window**: the bars the gate judged
(after the study's largest warm-up). Trade statistics count the fills and trades that start
in the window. Fees, slippage and funding are read from the backtest's fills and trades
(:class:`~crypto_strategy_lab.backtest.BacktestResult`), never recomputed:

* fees: ``sum(fills.fee)``;
* slippage: ``sum(|q| * |price - reference|)`` over the fills (the reference is the price
  before slippage);
* funding: ``sum(trades.funding)`` (paid; negative = received);
* gross P&L = net P&L + fees + slippage + funding.

**Books.** A validated book's tear sheet (:func:`book_tear_sheet`) has the sections that
apply to a portfolio (:class:`Performance`, built by the one :func:`performance` a row's
tear sheet is built by) and the members' budgets over time; its costs are its members'
per-bar costs weighted by their budgets (:func:`book_tear_sheet`). Stop exits, the trade
list, the heatmap and capacity are a strategy's.

**Capacity.** The cost of a trade is ``c`` basis points of its notional per signal fill
(fee plus slippage; a round trip pays ``2c``). The study's target weights
(``BacktestResult.signal``) are re-run through :func:`~crypto_strategy_lab.backtest.
run_backtest` at the cost levels of :data:`CAPACITY_BPS` and at the study's own stated cost
(:func:`stated_cost_bps`): the stated fees and fixed slippage scaled so that a signal fill
costs ``c``, the dataset's funding kept; at the stated cost the re-run is the study's, so the
curve passes through the gate's net SR. Slippage and fee are not interchangeable on a
stopped book: a stop or take-profit level is relative to the entry *fill* price, and a level
missed by 2 bps turns a take-profit into a later stop-loss (seen on the bundled lab).

The break-even cost uses the approximation that positions do not depend on the cost level,
so a bar's return falls linearly with its traded notional: ``r_t(c) = r_t(0) - c * tau_t``
with ``tau_t`` the notional traded at bar ``t`` over the equity before it; the mean, hence
the Sharpe ratio, is zero at ``c* = mean(r(0)) / mean(tau)``. It ignores the feedback of
costs on equity-proportional sizes and on stop levels (relative to fill prices); the tests
compare it with a re-run at ``c*``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import BacktestResult, run_backtest
from crypto_strategy_lab.core.costs import SlippageModel
from crypto_strategy_lab.performance.metrics import return_moments
from crypto_strategy_lab.research.assessment import StrategyAssessment
from crypto_strategy_lab.research.book import BookAssessment
from crypto_strategy_lab.research.lab import LabResult
from crypto_strategy_lab.research.spaces import LAB_SPACES, RULE_SPACE
from crypto_strategy_lab.research.trial import BacktestSettings, backtest_configuration

#: Cost levels of the net SR vs cost curve, bps of notional per fill (fee + slippage).
CAPACITY_BPS: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: Trades a tear sheet lists (the last ones; the count of all is given beside).
TRADE_LIST_LENGTH = 25
#: Exit reasons that are stop-policy exits (``BacktestResult.trades.exit_reason``).
STOP_EXITS = ("stop_loss", "take_profit")


@dataclass(frozen=True)
class CostAttribution:
    """Costs over the gate window in quote currency, and the P&L before and after them.

    Attributes
    ----------
    fees : float
        Fees paid, ``sum(fills.fee)``.
    slippage : float
        ``sum(|q| * |price - reference|)`` over the fills: what filling away from the price
        before slippage cost.
    funding : float
        Funding paid (negative: received).
    net_pnl : float
        Equity at the last bar minus ``start_equity``.
    start_equity : float
        Equity before the window's first bar (a book's: its initial capital).
    """

    fees: float
    slippage: float
    funding: float
    net_pnl: float
    start_equity: float

    @property
    def total(self) -> float:
        """Fees plus slippage plus funding."""
        return self.fees + self.slippage + self.funding

    @property
    def gross_pnl(self) -> float:
        """The net P&L with the costs added back."""
        return self.net_pnl + self.total


@dataclass(frozen=True)
class Capacity:
    """Net SR (annualised) at cost levels, gross SR and the break-even cost (module docstring).

    ``breakeven_bps`` is NaN when the configuration does not trade or loses before fees and
    slippage (no cost level breaks even).

    Attributes
    ----------
    cost_bps : tuple of float
        The cost levels per signal fill, bps of notional, ascending.
    net_sr : tuple of float
        Annualised net SR at each level.
    gross_sr : float
        Annualised SR without fees, slippage or funding.
    breakeven_bps : float
        The linear break-even cost (:func:`capacity`).
    """

    cost_bps: tuple[float, ...]
    net_sr: tuple[float, ...]
    gross_sr: float
    breakeven_bps: float


@dataclass(frozen=True)
class ParameterHeatmap:
    """Annualised net SR of the study's grid over two of the strategy's parameter axes.

    The mean over the other axes; ``y`` is ``None`` for a one-axis grid.

    Attributes
    ----------
    x : str
        The first parameter axis that varies (the columns).
    y : str or None
        The second (the index); ``None`` for a one-axis grid, whose ``sr`` has one row.
    sr : pandas.DataFrame
        Mean annualised net SR per cell, values of ``y`` by values of ``x`` (as text, in the
        grid's order).
    """

    x: str
    y: str | None
    sr: pd.DataFrame  # index: y values (or a single row), columns: x values


@dataclass(frozen=True)
class Performance:
    """The sections a strategy's and a book's tear sheets share, on the gate window.

    Equity and drawdown against buy-and-hold, monthly and yearly returns, exposure, turnover
    and cost attribution (:func:`performance`).

    Attributes
    ----------
    label : str
        The row's (or the book's) label.
    returns : pandas.Series
        Net simple returns per bar.
    equity, benchmark : pandas.Series
        Growth of 1 of the strategy and of buy-and-hold of the same asset(s) on the same bars.
    drawdown, benchmark_drawdown : pandas.Series
        Their drawdowns, ``equity / running peak - 1`` (0 or negative).
    monthly : pandas.DataFrame
        Compounded strategy returns, one row per year, one column per month present (1-12).
    yearly : pandas.DataFrame
        Compounded returns per calendar year (the index), columns ``strategy`` and
        ``buy_and_hold``.
    time_in_market : float
        Share of bars a position is held, in [0, 1].
    gross_exposure : float
        Mean ``|position notional| / equity`` at the close.
    turnover : float
        Traded notional over the equity before the bar, mean per bar times bars per year.
    costs : CostAttribution
        Fees, slippage, funding and the net P&L.
    """

    label: str
    returns: pd.Series
    equity: pd.Series
    benchmark: pd.Series
    drawdown: pd.Series
    benchmark_drawdown: pd.Series
    monthly: pd.DataFrame
    yearly: pd.DataFrame
    time_in_market: float
    gross_exposure: float
    turnover: float
    costs: CostAttribution


@dataclass(frozen=True)
class TearSheet(Performance):
    """Everything a row's tear sheet shows (module docstring); series on the gate window.

    Attributes
    ----------
    backtest : BacktestResult
        The selected configuration re-run on the study's bars (every bar, warm-up included).
    n_trades : int
        Trades entered in the window, the one still open at the end included.
    stop_share : dict of str to float
        Share of the closed trades that exited by ``stop_loss`` and by ``take_profit``; NaN
        when no trade closed.
    trades : pandas.DataFrame
        The trades entered in the window (``BacktestResult.trades``' columns), in entry order.
    heatmap : ParameterHeatmap or None
        The study's net SR over its parameter axes (:func:`parameter_heatmap`).
    capacity : Capacity
        Net SR against the cost per fill and the break-even cost (:func:`capacity`).

    Notes
    -----
    The fields of :class:`Performance` come first.
    """

    backtest: BacktestResult
    n_trades: int
    stop_share: dict[str, float]
    trades: pd.DataFrame
    heatmap: ParameterHeatmap | None
    capacity: Capacity

    @property
    def last_trades(self) -> pd.DataFrame:
        """The last ``TRADE_LIST_LENGTH`` trades, as the tear sheet lists them."""
        return self.trades.tail(TRADE_LIST_LENGTH)


@dataclass(frozen=True)
class BookTearSheet(Performance):
    """A validated book's tear sheet (:func:`book_tear_sheet`).

    The shared sections and the members' budgets per bar (``weights``, columns: the selected
    candidate's members).

    Attributes
    ----------
    weights : pandas.DataFrame
        Each member's budget per bar, a fraction of the book's equity
        (:meth:`~crypto_strategy_lab.research.book.BookAssessment.budgets`).

    Notes
    -----
    The fields of :class:`Performance` come first.
    """

    weights: pd.DataFrame


def growth(returns: pd.Series) -> pd.Series:
    """Growth of 1 from per-bar simple returns.

    Parameters
    ----------
    returns : pandas.Series
        Simple returns, one per bar.

    Returns
    -------
    pandas.Series
        ``prod(1 + r)`` up to and including each bar.
    """
    return (1.0 + returns).cumprod()


def drawdown_of(equity: pd.Series) -> pd.Series:
    """``equity / running peak - 1`` (0 at a new high, negative below it).

    Parameters
    ----------
    equity : pandas.Series
        An equity curve (any positive scale: growth of 1 or quote currency).

    Returns
    -------
    pandas.Series
        The drawdown per bar, a fraction of the peak.
    """
    return equity / equity.cummax() - 1.0


def period_returns(returns: pd.Series, freq: str) -> pd.Series:
    """Compounded return per calendar period, labelled by the period.

    ``"M"``: months, ``"Y"``: years.

    Parameters
    ----------
    returns : pandas.Series
        Simple returns on a ``DatetimeIndex``; periods are those of its wall-clock time (UTC
        for the lab's bars).
    freq : str
        A pandas period frequency, ``"M"`` or ``"Y"``.

    Returns
    -------
    pandas.Series
        ``prod(1 + r) - 1`` per period with a bar, on a ``PeriodIndex``.
    """
    periods = returns.index.tz_localize(None).to_period(freq)
    return (1.0 + returns).groupby(periods).prod() - 1.0


def monthly_table(returns: pd.Series) -> pd.DataFrame:
    """Compounded monthly returns, one row per year, one column per month (1-12).

    Parameters
    ----------
    returns : pandas.Series
        Simple returns on a ``DatetimeIndex``.

    Returns
    -------
    pandas.DataFrame
        Index: the years; columns: the months with a bar in some year; NaN for a month without
        a bar in that year.
    """
    monthly = period_returns(returns, "M")
    frame = pd.DataFrame(
        {"year": monthly.index.year, "month": monthly.index.month, "r": monthly.to_numpy()}
    )
    return frame.pivot(index="year", columns="month", values="r")


def buy_and_hold_returns(closes: pd.DataFrame | pd.Series) -> pd.Series:
    """Per-bar return of holding the asset(s).

    One asset's close-to-close return, or the equal-weight average of several assets'
    (rebalanced to equal weights every bar; a bar an asset has no close for averages the
    others). The asset is held through a missing close: the next bar's return is measured
    from the last close before the gap, so the move across the gap is counted once (pandas
    3's ``pct_change`` no longer fills, and would drop it).

    Parameters
    ----------
    closes : pandas.DataFrame or pandas.Series
        Close prices, one column per asset.

    Returns
    -------
    pandas.Series
        Simple returns named ``buy_and_hold``; NaN at the first bar (no close before it).
    """
    frame = closes.to_frame() if isinstance(closes, pd.Series) else closes
    returns = frame / frame.ffill().shift(1) - 1.0
    return returns.mean(axis=1, skipna=True).rename("buy_and_hold")


def equity_before(backtest: BacktestResult) -> pd.Series:
    """Per bar: the equity it starts from.

    The previous close's; the first bar's is the initial capital.

    Parameters
    ----------
    backtest : BacktestResult
        A backtest; its equity at each close and its initial capital.

    Returns
    -------
    pandas.Series
        Equity in quote currency on the backtest's bars.
    """
    equity = backtest.equity.to_numpy(dtype=float)
    before = np.concatenate([[backtest.settings["initial_capital"]], equity[:-1]])
    return pd.Series(before, index=backtest.equity.index)


def traded_fraction(backtest: BacktestResult) -> pd.Series:
    """Per bar: the notional its fills traded over the equity before the bar.

    The equity before the first bar is the initial capital.

    Parameters
    ----------
    backtest : BacktestResult
        A backtest; its fills (quantity and price) and equity.

    Returns
    -------
    pandas.Series
        ``τ_t = sum(|q| * price) / equity_before_t`` per bar, named ``traded_fraction``; 0 for
        a bar without fills and where the equity before is not positive.
    """
    fills = backtest.fills
    index = backtest.returns.index
    notional = np.zeros(len(index))
    if fills is not None and len(fills):
        at = index.get_indexer(pd.DatetimeIndex(fills["time"]))
        np.add.at(notional, at, (fills["quantity"] * fills["price"]).to_numpy(dtype=float))
    before = equity_before(backtest).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(before > 0.0, notional / before, 0.0)
    return pd.Series(tau, index=index, name="traded_fraction")


def gross_exposure_of(backtest: BacktestResult) -> pd.Series:
    """Per bar: |position notional at the close| / equity at the close.

    Parameters
    ----------
    backtest : BacktestResult
        A backtest; its positions, closes and equity.

    Returns
    -------
    pandas.Series
        The gross exposure per bar (1.0: the equity's worth of the asset, long or short).
    """
    return (backtest.positions * backtest.close).abs() / backtest.equity


#: The costs of :func:`bar_costs`, in the order the tear sheets list them.
COST_KINDS = ("fees", "slippage", "funding")


def bar_costs(backtest: BacktestResult) -> pd.DataFrame:
    """Per bar, in quote currency: the costs of its fills and the funding of its trades.

    The fees and slippage of its fills and the funding of the trades entered at it (a trade's
    funding is booked at its entry bar, the bar from which the tear sheets count a trade).
    Columns :data:`COST_KINDS`.

    Parameters
    ----------
    backtest : BacktestResult
        A backtest; its fills (fee, quantity, price, reference price) and trades (funding).

    Returns
    -------
    pandas.DataFrame
        Columns ``fees``, ``slippage`` (``|q| * |price - reference|``) and ``funding`` (paid;
        negative: received) on the backtest's bars; 0 where nothing happened.
    """
    index = backtest.returns.index
    out = np.zeros((len(index), len(COST_KINDS)))
    fills = backtest.fills
    if fills is not None and len(fills):
        at = index.get_indexer(pd.DatetimeIndex(fills["time"]))
        q = fills["quantity"].to_numpy(dtype=float)
        slip = q * (fills["price"] - fills["reference"]).abs().to_numpy(dtype=float)
        np.add.at(out[:, 0], at, fills["fee"].to_numpy(dtype=float))
        np.add.at(out[:, 1], at, slip)
    trades = backtest.trades
    if len(trades):
        at = index.get_indexer(pd.DatetimeIndex(trades["entry_time"]))
        np.add.at(out[:, 2], at, trades["funding"].to_numpy(dtype=float))
    return pd.DataFrame(out, index=index, columns=list(COST_KINDS))


def cost_attribution(backtest: BacktestResult, start: pd.Timestamp) -> CostAttribution:
    """Fees, slippage and funding from ``start`` on, and the net P&L over the same span.

    The costs of the fills and trades from ``start`` on; the net P&L of the equity from the
    close before ``start`` (module docstring).

    Parameters
    ----------
    backtest : BacktestResult
        A backtest.
    start : pandas.Timestamp
        The gate window's first bar (a bar of the backtest).

    Returns
    -------
    CostAttribution
        The window's costs, net P&L and starting equity, in quote currency.
    """
    totals = bar_costs(backtest).loc[start:].sum()
    equity = backtest.equity
    start_equity = float(equity_before(backtest).loc[start])
    return CostAttribution(
        fees=float(totals["fees"]),
        slippage=float(totals["slippage"]),
        funding=float(totals["funding"]),
        net_pnl=float(equity.iloc[-1]) - start_equity,
        start_equity=start_equity,
    )


def performance(
    label: str,
    returns: pd.Series,
    benchmark_returns: pd.Series,
    in_market: pd.Series,
    exposure: pd.Series,
    traded: pd.Series,
    costs: CostAttribution,
    periods_per_year: float,
) -> Performance:
    """The shared sections from per-bar series on the gate window.

    The series are net ``returns``, the buy-and-hold returns, whether a position is held, gross
    exposure (|notional| / equity) and traded notional over the equity before the bar;
    turnover is its mean per year.

    Parameters
    ----------
    label : str
        The row's or the book's label.
    returns : pandas.Series
        Net simple returns per bar.
    benchmark_returns : pandas.Series
        Buy-and-hold returns on the same bars (:func:`buy_and_hold_returns`).
    in_market : pandas.Series
        Per bar, whether a position is held (bool).
    exposure : pandas.Series
        Gross exposure per bar (:func:`gross_exposure_of`).
    traded : pandas.Series
        Traded notional over the equity before the bar (:func:`traded_fraction`).
    costs : CostAttribution
        The window's costs.
    periods_per_year : float
        Bars per year, to annualise the turnover.

    Returns
    -------
    Performance
        Growth of 1 and drawdowns of both, monthly and yearly returns, time in market, mean
        gross exposure, turnover per year and ``costs``.
    """
    equity, benchmark = growth(returns), growth(benchmark_returns)
    yearly = pd.DataFrame(
        {
            "strategy": period_returns(returns, "Y"),
            "buy_and_hold": period_returns(benchmark_returns, "Y"),
        }
    )
    yearly.index = yearly.index.year
    return Performance(
        label=label,
        returns=returns,
        equity=equity,
        benchmark=benchmark,
        drawdown=drawdown_of(equity),
        benchmark_drawdown=drawdown_of(benchmark),
        monthly=monthly_table(returns),
        yearly=yearly,
        time_in_market=float(in_market.mean()),
        gross_exposure=float(exposure.mean()),
        turnover=float(traded.mean() * periods_per_year),
        costs=costs,
    )


def _annual_sr(returns: pd.Series, periods_per_year: float) -> float:
    return return_moments(returns).sr * math.sqrt(periods_per_year)


def stated_cost_bps(settings: BacktestSettings) -> float:
    """The cost per fill the study's settings state, bps of notional.

    The signal orders' fee plus the fixed slippage (a range or volume slippage model adds
    nothing here: its cost is not a constant per fill).

    Parameters
    ----------
    settings : BacktestSettings
        A study's backtest settings; its cost model and fee side.

    Returns
    -------
    float
        Taker (or, with ``fee_side="maker"``, maker) fee plus fixed slippage, in bps.
    """
    costs = settings.costs
    fee = costs.fee_rate(maker=settings.fee_side == "maker") * 1e4
    slip = costs.slippage_bps if costs.slippage == SlippageModel.FIXED else 0.0
    return fee + slip


def with_cost_per_fill(settings: BacktestSettings, bps: float | None) -> BacktestSettings:
    """``settings`` with its stated costs scaled so that a signal fill costs ``bps``.

    Fees of both kinds and the fixed slippage in the stated proportions (all fee when it
    states none), funding kept; ``None``: no fee, slippage or funding at all (the gross run).
    At the stated cost the settings come back unchanged.

    Parameters
    ----------
    settings : BacktestSettings
        The study's settings.
    bps : float or None
        The cost per signal fill, bps of notional (fee plus slippage); ``None`` for the gross
        run.

    Returns
    -------
    BacktestSettings
        A copy with the cost model scaled; its slippage model is always fixed (a range or
        volume model's slippage is dropped and the fee alone scaled to ``bps``).
    """
    costs = settings.costs
    if bps is None:
        update = {"taker_fee_bps": 0.0, "maker_fee_bps": 0.0, "slippage_bps": 0.0}
        update |= {"slippage": SlippageModel.FIXED, "funding_rate_8h": 0.0}
        return settings.model_copy(update={"costs": costs.model_copy(update=update)})
    stated = stated_cost_bps(settings)
    if stated <= 0:
        update = {"taker_fee_bps": bps, "maker_fee_bps": bps, "slippage_bps": 0.0}
    else:
        k = bps / stated
        slip = costs.slippage_bps if costs.slippage == SlippageModel.FIXED else 0.0
        update = {
            "taker_fee_bps": costs.taker_fee_bps * k,
            "maker_fee_bps": costs.maker_fee_bps * k,
            "slippage_bps": slip * k,
        }
    update |= {"slippage": SlippageModel.FIXED}
    return settings.model_copy(update={"costs": costs.model_copy(update=update)})


def rerun(
    backtest: BacktestResult, bars: pd.DataFrame, settings: BacktestSettings
) -> BacktestResult:
    """The backtest's target weights re-run under ``settings``.

    The signal does not depend on costs, so the strategy is not recomputed.

    Parameters
    ----------
    backtest : BacktestResult
        The backtest whose target weights (``BacktestResult.signal``) are traded again.
    bars : pandas.DataFrame
        The bars it ran on.
    settings : BacktestSettings
        The settings of the re-run.

    Returns
    -------
    BacktestResult
        :func:`~crypto_strategy_lab.backtest.run_backtest` of the same signal under
        ``settings``.
    """
    return run_backtest(backtest.signal, bars, **settings.backtest_kwargs())


def capacity(
    backtest: BacktestResult,
    bars: pd.DataFrame,
    settings: BacktestSettings,
    start: pd.Timestamp,
    levels: tuple[float, ...] = CAPACITY_BPS,
) -> Capacity:
    """Net SR vs cost by re-runs, gross SR and the linear break-even cost (module docstring).

    Parameters
    ----------
    backtest : BacktestResult
        The selected configuration's backtest; its target weights are re-run.
    bars : pandas.DataFrame
        The bars it ran on.
    settings : BacktestSettings
        The study's settings, whose stated costs are scaled to each level.
    start : pandas.Timestamp
        First bar of the gate window the ratios are measured on.
    levels : tuple of float, default ``CAPACITY_BPS``
        Costs per signal fill, bps of notional; the stated cost is always added.

    Returns
    -------
    Capacity
        Annualised net SR at each level (ascending), the gross SR (no fee, slippage or
        funding) and the break-even cost in bps.

    Notes
    -----
    With ``r_t(0)`` the per-bar returns of the re-run at zero fee and slippage (funding kept)
    and ``τ_t`` its notional traded at bar ``t`` over the equity before it, both from
    ``start`` on, the break-even cost is ``c* = mean(r(0)) / mean(τ)`` (times 1e4 for bps):
    the cost at which ``r_t(c) = r_t(0) - c τ_t`` has zero mean, hence zero Sharpe ratio. NaN
    when ``mean(τ) = 0`` (no trade) or ``mean(r(0)) <= 0``.
    """
    ppy = backtest.settings["periods_per_year"]
    # the study's own cost is a point of the curve: there the net SR is the gate's
    levels = tuple(sorted(set(levels) | {round(stated_cost_bps(settings), 6)}))
    runs = {c: rerun(backtest, bars, with_cost_per_fill(settings, c)) for c in levels}
    free = runs[0.0] if 0.0 in runs else rerun(backtest, bars, with_cost_per_fill(settings, 0.0))
    gross = rerun(backtest, bars, with_cost_per_fill(settings, None))
    r0 = free.returns.loc[start:]
    tau = traded_fraction(free).loc[start:]
    mean_r, mean_tau = float(r0.mean()), float(tau.mean())
    breakeven = mean_r / mean_tau * 1e4 if mean_tau > 0 and mean_r > 0 else math.nan
    return Capacity(
        cost_bps=tuple(levels),
        net_sr=tuple(_annual_sr(runs[c].returns.loc[start:], ppy) for c in levels),
        gross_sr=_annual_sr(gross.returns.loc[start:], ppy),
        breakeven_bps=breakeven,
    )


def parameter_heatmap(assessment: StrategyAssessment) -> ParameterHeatmap | None:
    """The study's grid over its first two parameter axes that vary, annualised net SR.

    The grid is the configurations at the default cost-aware rules; ``None`` when no axis
    varies.

    Parameters
    ----------
    assessment : StrategyAssessment
        A lab row; its study's trials (parameters, stop policy, annualised SR).

    Returns
    -------
    ParameterHeatmap or None
        The mean SR per cell over the strategy's own axes (in its study space's order), the
        trials without an SR left out; ``None`` when the study has no SR column or no axis of
        the strategy varies at the default rules.
    """
    trials = assessment.study.trials
    if "sr_annual" not in trials:
        return None
    trials = trials[trials["sr_annual"].notna()]
    defaults = {k: v[0] for k, v in RULE_SPACE.items() if k != "stop"}
    params = pd.DataFrame(list(trials["params"]), index=trials.index)
    grid = (trials["stop"] == RULE_SPACE["stop"][0]).to_numpy()
    for k, v in defaults.items():
        if k in params:
            # a rule that is off (min_hold None) reads back as NaN from the frame
            match = params[k].isna() if v is None else params[k] == v
            grid = grid & match.to_numpy(dtype=bool)
    params = params[grid].astype(str)
    axes = [
        k for k in LAB_SPACES.get(assessment.study.spec.strategy, {}) if params[k].nunique() > 1
    ]
    if not axes:
        return None
    frame = params.assign(sr=trials.loc[params.index, "sr_annual"].astype(float))
    x, y = axes[0], axes[1] if len(axes) > 1 else None
    if y is None:
        sr = frame.groupby(x, sort=False)["sr"].mean().to_frame().T
    else:
        sr = frame.pivot_table(index=y, columns=x, values="sr", aggfunc="mean", sort=False)
    return ParameterHeatmap(x, y, sr)


def tear_sheet(assessment: StrategyAssessment, bars: pd.DataFrame) -> TearSheet:
    """The tear sheet of one lab row (module docstring).

    ``bars`` are the bars its study ran on.

    Parameters
    ----------
    assessment : StrategyAssessment
        The row; its selected configuration is backtested once more with the settings it ran
        with.
    bars : pandas.DataFrame
        The bars its study ran on (resampled to its timeframe,
        :meth:`~crypto_strategy_lab.research.lab.LabResult.cell_bars`).

    Returns
    -------
    TearSheet
        Every number of the row's tear sheet on the gate window (the bars of
        ``assessment.returns``); the capacity curve costs one re-run per cost level.
    """
    study = assessment.study
    settings = study.trial_settings(assessment.selected)
    params = study.trials.loc[assessment.selected, "params"]
    backtest = backtest_configuration(study.spec.strategy, params, settings, bars)
    start = assessment.returns.index[0]
    trades = backtest.trades[backtest.trades["entry_time"] >= start].reset_index(drop=True)
    closed = trades[trades["exit_reason"] != "open"]
    stop_share = {
        reason: float((closed["exit_reason"] == reason).mean()) if len(closed) else math.nan
        for reason in STOP_EXITS
    }
    shared = performance(
        assessment.strategy,
        backtest.returns.loc[start:],
        buy_and_hold_returns(backtest.close).loc[start:],
        (backtest.positions != 0).loc[start:],
        gross_exposure_of(backtest).loc[start:],
        traded_fraction(backtest).loc[start:],
        cost_attribution(backtest, start),
        study.periods_per_year,
    )
    return TearSheet(
        **vars(shared),
        backtest=backtest,
        n_trades=len(trades),
        stop_share=stop_share,
        trades=trades,
        heatmap=parameter_heatmap(assessment),
        capacity=capacity(backtest, bars, settings, start),
    )


def book_tear_sheet(book: BookAssessment, sheets: Mapping[str, TearSheet]) -> BookTearSheet:
    """The tear sheet of a validated book from its members' tear sheets (by row label).

    The book holds ``b_s,t`` of its equity in member ``s`` at bar ``t``
    (:meth:`~crypto_strategy_lab.research.book.BookAssessment.budgets`), so a member's
    per-bar quantity over its own equity (gross exposure, traded notional, each cost)
    enters the book's weighted by ``b_s,t``; a cost in quote currency is that fraction of the
    book's equity before the bar, the book starting from the members' initial capital. As the
    book's returns do, this leaves out the cost of resizing sleeves at a re-estimation.

    Parameters
    ----------
    book : BookAssessment
        The validated book: its selected candidate, members and returns.
    sheets : Mapping of str to TearSheet
        The rows' tear sheets by row label; every member's is needed.

    Returns
    -------
    BookTearSheet
        The shared sections on the book's bars (buy-and-hold of the first member's asset; a
        bar is in the market when a member with a budget holds a position) and the budgets.
    """
    weights = book.budgets()
    returns = book.assessment.returns
    index = returns.index
    member = {name: sheets[book.members[name].strategy].backtest for name in weights}
    first = next(iter(member.values()))
    initial = float(first.settings["initial_capital"])
    book_before = initial * growth(returns).shift(1, fill_value=1.0)
    in_market = pd.Series(False, index=index)
    exposure = pd.Series(0.0, index=index)
    traded = pd.Series(0.0, index=index)
    costs = pd.DataFrame(0.0, index=index, columns=list(COST_KINDS))
    for name, bt in member.items():
        w = weights[name]
        in_market |= (w > 0) & (bt.positions.reindex(index) != 0)
        exposure += w * gross_exposure_of(bt).reindex(index)
        traded += w * traded_fraction(bt).reindex(index)
        share = bar_costs(bt).div(equity_before(bt), axis=0).reindex(index)
        costs += share.mul(w * book_before, axis=0)
    totals = costs.sum()
    attribution = CostAttribution(
        fees=float(totals["fees"]),
        slippage=float(totals["slippage"]),
        funding=float(totals["funding"]),
        net_pnl=initial * (float(growth(returns).iloc[-1]) - 1.0),
        start_equity=initial,
    )
    shared = performance(
        book.label,
        returns,
        buy_and_hold_returns(first.close).reindex(index),
        in_market,
        exposure,
        traded,
        attribution,
        book.assessment.study.periods_per_year,
    )
    return BookTearSheet(**vars(shared), weights=weights)


def lab_tear_sheets(result: LabResult) -> dict[str, TearSheet]:
    """The tear sheet of every evaluated row of a lab run, by row label.

    Parameters
    ----------
    result : LabResult
        The lab run; each row is re-run on its own bars (:func:`tear_sheet`).

    Returns
    -------
    dict of str to TearSheet
        One per row of ``result.assessments``, in their order.
    """
    return {a.strategy: tear_sheet(a, result.cell_bars(a.strategy)) for a in result.assessments}


def lab_book_sheets(result: LabResult, sheets: Mapping[str, TearSheet]) -> dict[str, BookTearSheet]:
    """The tear sheet of every validated book of a lab run, by book label.

    ``sheets``: the rows' tear sheets (:func:`lab_tear_sheets`).

    Parameters
    ----------
    result : LabResult
        The lab run; its books.
    sheets : Mapping of str to TearSheet
        The rows' tear sheets by row label (:func:`lab_tear_sheets`).

    Returns
    -------
    dict of str to BookTearSheet
        One per book of ``result.books``, in their order.
    """
    return {b.label: book_tear_sheet(b, sheets) for b in result.books}
