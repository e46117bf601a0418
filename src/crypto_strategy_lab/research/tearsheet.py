"""The numbers of a lab row's tear sheet: its selected configuration against buy-and-hold.

One job: numbers. The HTML is :mod:`crypto_strategy_lab.research.report`'s; the files beside
it are :mod:`crypto_strategy_lab.research.results`'.

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
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import BacktestResult, run_backtest
from crypto_strategy_lab.core.costs import SlippageModel
from crypto_strategy_lab.performance.metrics import return_moments
from crypto_strategy_lab.research.assessment import StrategyAssessment
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
    """Costs over the gate window in quote currency, and the P&L before and after them."""

    fees: float
    slippage: float
    funding: float
    net_pnl: float
    start_equity: float

    @property
    def total(self) -> float:
        return self.fees + self.slippage + self.funding

    @property
    def gross_pnl(self) -> float:
        return self.net_pnl + self.total


@dataclass(frozen=True)
class Capacity:
    """Net SR (annualised) at cost levels, gross SR and the break-even cost (module
    docstring). ``breakeven_bps`` is NaN when the configuration does not trade or loses
    before fees and slippage (no cost level breaks even)."""

    cost_bps: tuple[float, ...]
    net_sr: tuple[float, ...]
    gross_sr: float
    breakeven_bps: float


@dataclass(frozen=True)
class ParameterHeatmap:
    """Annualised net SR of the study's grid over two of the strategy's parameter axes
    (mean over the others); ``y`` is ``None`` for a one-axis grid."""

    x: str
    y: str | None
    sr: pd.DataFrame  # index: y values (or a single row), columns: x values


@dataclass(frozen=True)
class TearSheet:
    """Everything a row's tear sheet shows (module docstring); series on the gate window."""

    label: str
    backtest: BacktestResult
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
    n_trades: int
    stop_share: dict[str, float]
    trades: pd.DataFrame
    heatmap: ParameterHeatmap | None
    capacity: Capacity

    @property
    def last_trades(self) -> pd.DataFrame:
        return self.trades.tail(TRADE_LIST_LENGTH)


def growth(returns: pd.Series) -> pd.Series:
    """Growth of 1 from per-bar simple returns."""
    return (1.0 + returns).cumprod()


def drawdown_of(equity: pd.Series) -> pd.Series:
    """``equity / running peak - 1`` (0 at a new high, negative below it)."""
    return equity / equity.cummax() - 1.0


def period_returns(returns: pd.Series, freq: str) -> pd.Series:
    """Compounded return per calendar period (``"M"`` months, ``"Y"`` years), labelled by
    the period."""
    periods = returns.index.tz_localize(None).to_period(freq)
    return (1.0 + returns).groupby(periods).prod() - 1.0


def monthly_table(returns: pd.Series) -> pd.DataFrame:
    """Compounded monthly returns, one row per year, one column per month (1-12)."""
    monthly = period_returns(returns, "M")
    frame = pd.DataFrame(
        {"year": monthly.index.year, "month": monthly.index.month, "r": monthly.to_numpy()}
    )
    return frame.pivot(index="year", columns="month", values="r")


def traded_fraction(backtest: BacktestResult) -> pd.Series:
    """Per bar: the notional its fills traded over the equity before the bar (the first bar's
    is the initial capital)."""
    fills = backtest.fills
    index = backtest.returns.index
    notional = np.zeros(len(index))
    if fills is not None and len(fills):
        at = index.get_indexer(pd.DatetimeIndex(fills["time"]))
        np.add.at(notional, at, (fills["quantity"] * fills["price"]).to_numpy(dtype=float))
    equity = backtest.equity.to_numpy(dtype=float)
    before = np.concatenate([[backtest.settings["initial_capital"]], equity[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(before > 0.0, notional / before, 0.0)
    return pd.Series(tau, index=index, name="traded_fraction")


def cost_attribution(backtest: BacktestResult, start: pd.Timestamp) -> CostAttribution:
    """Fees, slippage and funding of the fills and trades from ``start`` on, and the net P&L
    of the equity from the close before ``start`` (module docstring)."""
    fills = backtest.fills if backtest.fills is not None else pd.DataFrame()
    if len(fills):
        fills = fills[fills["time"] >= start]
    trades = backtest.trades[backtest.trades["entry_time"] >= start]
    equity = backtest.equity
    pos = equity.index.get_loc(start)
    start_equity = (
        float(equity.iloc[pos - 1]) if pos > 0 else float(backtest.settings["initial_capital"])
    )
    slippage = (
        float((fills["quantity"] * (fills["price"] - fills["reference"]).abs()).sum())
        if len(fills)
        else 0.0
    )
    return CostAttribution(
        fees=float(fills["fee"].sum()) if len(fills) else 0.0,
        slippage=slippage,
        funding=float(trades["funding"].sum()),
        net_pnl=float(equity.iloc[-1]) - start_equity,
        start_equity=start_equity,
    )


def _annual_sr(returns: pd.Series, periods_per_year: float) -> float:
    return return_moments(returns).sr * math.sqrt(periods_per_year)


def stated_cost_bps(settings: BacktestSettings) -> float:
    """The cost per fill the study's settings state, bps of notional: the signal orders' fee
    plus the fixed slippage (a range or volume slippage model adds nothing here: its cost is
    not a constant per fill)."""
    costs = settings.costs
    fee = costs.fee_rate(maker=settings.fee_side == "maker") * 1e4
    slip = costs.slippage_bps if costs.slippage == SlippageModel.FIXED else 0.0
    return fee + slip


def with_cost_per_fill(settings: BacktestSettings, bps: float | None) -> BacktestSettings:
    """``settings`` with its stated costs scaled so that a signal fill costs ``bps`` (fees of
    both kinds and the fixed slippage in the stated proportions; all fee when it states
    none), funding kept; ``None``: no fee, slippage or funding at all (the gross run). At the
    stated cost the settings come back unchanged."""
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
    """The backtest's target weights re-run under ``settings`` (the signal does not depend on
    costs, so the strategy is not recomputed)."""
    return run_backtest(backtest.signal, bars, **settings.backtest_kwargs())


def capacity(
    backtest: BacktestResult,
    bars: pd.DataFrame,
    settings: BacktestSettings,
    start: pd.Timestamp,
    levels: tuple[float, ...] = CAPACITY_BPS,
) -> Capacity:
    """Net SR vs cost by re-runs, gross SR and the linear break-even cost (module docstring)."""
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
    """The study's grid (configurations at the default cost-aware rules) over its first two
    parameter axes that vary, annualised net SR; ``None`` when no axis varies."""
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
    """The tear sheet of one lab row (module docstring); ``bars`` are the bars its study ran
    on."""
    study = assessment.study
    settings = study.trial_settings(assessment.selected)
    params = study.trials.loc[assessment.selected, "params"]
    backtest = backtest_configuration(study.spec.strategy, params, settings, bars)
    start = assessment.returns.index[0]
    returns = backtest.returns.loc[start:]
    close = backtest.close
    bench_returns = close.pct_change().loc[start:]
    equity = growth(returns)
    benchmark = growth(bench_returns)
    positions = backtest.positions.loc[start:]
    notional = (positions * close.loc[start:]).abs()
    trades = backtest.trades[backtest.trades["entry_time"] >= start].reset_index(drop=True)
    closed = trades[trades["exit_reason"] != "open"]
    stop_share = {
        reason: float((closed["exit_reason"] == reason).mean()) if len(closed) else math.nan
        for reason in STOP_EXITS
    }
    ppy = study.periods_per_year
    yearly = pd.DataFrame(
        {
            "strategy": period_returns(returns, "Y"),
            "buy_and_hold": period_returns(bench_returns, "Y"),
        }
    )
    yearly.index = yearly.index.year
    return TearSheet(
        label=assessment.strategy,
        backtest=backtest,
        returns=returns,
        equity=equity,
        benchmark=benchmark,
        drawdown=drawdown_of(equity),
        benchmark_drawdown=drawdown_of(benchmark),
        monthly=monthly_table(returns),
        yearly=yearly,
        time_in_market=float((positions != 0).mean()),
        gross_exposure=float((notional / backtest.equity.loc[start:]).mean()),
        turnover=float(traded_fraction(backtest).loc[start:].mean() * ppy),
        costs=cost_attribution(backtest, start),
        n_trades=len(trades),
        stop_share=stop_share,
        trades=trades,
        heatmap=parameter_heatmap(assessment),
        capacity=capacity(backtest, bars, settings, start),
    )


def lab_tear_sheets(result: LabResult) -> dict[str, TearSheet]:
    """The tear sheet of every evaluated row of a lab run, by row label."""
    return {a.strategy: tear_sheet(a, result.cell_bars(a.strategy)) for a in result.assessments}
