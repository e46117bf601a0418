"""Assemble a paper run: data, simulated venue accounts, sleeves, engine and feed.

In ``simulated`` mode the "days" are **replayed** from historical bars (the bundled default
data, or a dataset of the local store) at a configurable speed-up (default: as fast as
possible); the feed's ``describe()`` says so, and the run's journaled config records the
data source and period. It never pretends to be live market data.

Capital and sizing for ``n`` sleeves: each strategy trades its own simulated account holding
``capital / n`` (sub-accounts: one strategy's protective exits can never close another's
position). Per unit of signal a sleeve targets ``f = min(max_position_fraction,
max_gross_exposure / n)`` of the *total* capital, i.e. ``L = f n`` of its own account, so the
per-strategy cap and the portfolio heat limit hold by construction when every signal is at
full strength (the risk engine enforces them anyway).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pandas as pd

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.data.timeframes import timeframe_delta
from crypto_strategy_lab.engine.feeds import HistoricalReplayFeed
from crypto_strategy_lab.engine.loop import TradingEngine
from crypto_strategy_lab.engine.monitor import EngineMonitor
from crypto_strategy_lab.engine.runner import StrategyRunner
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.exchanges.factory import ExchangeFactory
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import ProtectiveStops, RiskLimits
from crypto_strategy_lab.strategies import Strategy, get_strategy, list_strategies
from crypto_strategy_lab.strategies.registry import strategy_for_bars

#: ``warmup_bars`` that keeps every bar of the source before the replayed period.
FULL_HISTORY = 10**12


@dataclass(frozen=True)
class ReplayData:
    """Bars to replay: ``bars`` holds warm-up history before ``start``.

    Attributes
    ----------
    symbol : str
        The symbol the bars are traded as.
    bars : pandas.DataFrame
        OHLCV bars: the warm-up history, then the replayed period.
    start : pandas.Timestamp
        The open time of the first replayed bar.
    source : str
        The data source's name, as given.
    description : str
        The loader's description of the data.
    timeframe : str
        The bar size.
    """

    symbol: str
    bars: pd.DataFrame
    start: pd.Timestamp
    source: str
    description: str
    timeframe: str


def load_replay_data(
    days: float,
    *,
    source: str = "bundled:crypto",
    symbol: str = "BTCUSDT",
    warmup_bars: int = 0,
    read: Mapping[str, Any] | None = None,
) -> ReplayData:
    """The last ``days`` of ``source`` plus up to ``warmup_bars`` before them.

    Parameters
    ----------
    days : float
        Length of the replayed period, in days (fractions allowed): it starts at the first
        bar at or after ``last bar - days + one bar``, so it holds ``days`` of bars ending
        with the source's last one.
    source : str, default "bundled:crypto"
        Any name of :mod:`crypto_strategy_lab.data.spec` (``bundled:crypto``, a file,
        ``SOURCE:SYMBOL:TF``, ``store:EX/SYM/TF``).
    symbol : str, default "BTCUSDT"
        The symbol the bars are traded as (not read from the source).
    warmup_bars : int, default 0
        Bars of history kept before the replayed period, at most as many as the source has
        (:data:`FULL_HISTORY`: all of them).
    read : Mapping[str, Any] or None, optional
        How to read a file source (``ts_unit``, ``columns``), passed to
        :func:`~crypto_strategy_lab.data.loader.open_data` and recorded with the run;
        ``None``: the loader's defaults.

    Returns
    -------
    ReplayData
        The bars (warm-up history, then the replayed period), the period's first bar time
        ``start``, and the source's name, description and bar size.

    Raises
    ------
    ConfigError
        If `days` is not positive, or the source holds no bar before the period (it is
        ``days`` long or shorter).
    """
    if days <= 0:
        raise ConfigError(f"--days must be positive, got {days}")
    from crypto_strategy_lab.data.loader import open_data

    # The one data grammar and loader (path, SOURCE:SYMBOL:TF, bundled:KIND, store:EX/SYM/TF);
    # the run's market is the engine's, so the loader is not asked to decide one.
    loaded = open_data(source, require_market=False, **dict(read or {}))
    bars, description, timeframe = loaded.bars, loaded.description, loaded.timeframe
    start = bars.index[-1] - pd.Timedelta(days=days) + timeframe_delta(timeframe)
    first = int(bars.index.searchsorted(start))
    if first == 0:
        raise ConfigError(
            f"{source} holds {bars.index[-1] - bars.index[0]} of bars; --days {days:g} needs more "
            "(plus the strategies' warm-up)"
        )
    start = bars.index[first]
    bars = bars.iloc[max(0, first - warmup_bars) :]
    return ReplayData(symbol, bars, start, source, description, timeframe)


def resolve_strategies(name: str) -> list[str]:
    """The strategy names ``name`` stands for.

    Parameters
    ----------
    name : str
        A registered strategy name, or ``"all"``.

    Returns
    -------
    list of str
        Every registered strategy for ``"all"`` (:func:`list_strategies`' order), else
        ``[name]`` once the strategy was built with its default parameters.

    Raises
    ------
    UnknownStrategyError
        If `name` is neither ``"all"`` nor a registered strategy.
    """
    return list_strategies() if name == "all" else [get_strategy(name).name]


WEIGHTING_SAMPLE_BARS = 2000
"""Bars of strategy returns before the traded period from which ``inverse_volatility`` and
``fractional_kelly`` estimate each sleeve's volatility and mean: three weeks of 15-minute bars,
so that a strategy that trades a few times a week has returns to estimate from (the relative
standard error of a volatility estimate is about 1 / sqrt(2 n), 1.6 % here)."""

UnitReturns = Callable[[Strategy, pd.DataFrame, CostModel, MarketType], pd.Series]
"""``unit_returns(strategy, bars, costs, market)``: the per-bar returns of ``strategy`` trading
``bars`` at one unit of equity per unit of signal, with ``costs`` on ``market``; the estimated
weightings set the sleeves' budgets from them. The caller passes the backtest's
(:func:`crypto_strategy_lab.backtest.engine.unit_returns`): trading never imports research, so
the engine cannot run a backtest itself."""


def build_simulated_run(
    journal: Journal,
    strategies: list[str],
    *,
    days: float,
    capital: float,
    source: str = "bundled:crypto",
    market: MarketType = MarketType.LINEAR,
    speedup: float | None = None,
    costs: CostModel | None = None,
    limits: RiskLimits | None = None,
    run_id: str | None = None,
    equity_every: int = 1,
    params: dict[str, dict[str, Any]] | None = None,
    weighting: str = "equal",
    run_name: str = "paper",
    monitor: EngineMonitor | None = None,
    read: Mapping[str, Any] | None = None,
    on_prepared: Callable[[str], None] | None = None,
    unit_returns: UnitReturns | None = None,
    stops: Mapping[str, ProtectiveStops] | None = None,
) -> tuple[TradingEngine, HistoricalReplayFeed]:
    """A simulated paper run of ``strategies`` over the last ``days`` of ``source``.

    Each strategy trades its own simulated account of ``capital / n`` (see the module
    docstring for the sizing); every strategy sees all the source's bars before a decision,
    as in the backtest.

    Parameters
    ----------
    journal : Journal
        Where the run is recorded.
    strategies : list of str
        Registered strategy names, each at most once.
    days : float
        Length of the replayed period, in days (:func:`load_replay_data`).
    capital : float
        Total starting capital, in the quote currency, split evenly across the strategies'
        accounts.
    source : str, default "bundled:crypto"
        The data to replay (:func:`load_replay_data`).
    market : MarketType, default MarketType.LINEAR
        The market the strategies trade.
    speedup : float or None, optional
        Replay speed relative to real time; ``None`` (default): as fast as possible.
    costs : CostModel or None, optional
        The simulated venues' fees and slippage; ``None``: :class:`CostModel`'s defaults.
    limits : RiskLimits or None, optional
        The risk engine's limits (and the default protective exits); ``None``: the defaults.
    run_id : str or None, optional
        The run's id: the journal's run of this id is resumed, or started under it if the
        journal has none; ``None``: a new run with a new id.
    equity_every : int, default 1
        Journal an equity snapshot every this many bars.
    params : dict of str to dict, or None, optional
        Parameters per strategy name, replacing its defaults; spans are converted to the
        data's bar size (:func:`~crypto_strategy_lab.strategies.registry.strategy_for_bars`).
    weighting : {"equal", "inverse_volatility", "fractional_kelly"}, default "equal"
        How each sleeve's budget is set, by
        :func:`~crypto_strategy_lab.portfolio.capped_budgets` from the strategies' backtest
        returns on the :data:`WEIGHTING_SAMPLE_BARS` bars after their warm-up and before the
        traded period (never on the traded bars).
    run_name : str, default "paper"
        The run's name in the journal.
    monitor : EngineMonitor or None, optional
        Observer of the loop (metrics and alert rules, built by the caller); ``None``: none.
    read : Mapping[str, Any] or None, optional
        How to read a file source (:func:`load_replay_data`), recorded in the run's config.
    on_prepared : Callable[[str], None] or None, optional
        Called with each strategy's name once it has computed its signals over the history
        (the slow part of the build: a progress bar's advance).
    unit_returns : UnitReturns or None, optional
        Backtest returns of a strategy at one unit of signal (:data:`UnitReturns`); required
        unless `weighting` is ``"equal"``.
    stops : Mapping[str, ProtectiveStops] or None, optional
        A strategy's own protective exits, by name; a strategy not in it (or ``None``)
        trades the fractions of `limits`.

    Returns
    -------
    tuple of (TradingEngine, HistoricalReplayFeed)
        The engine, its journaled config recording the data, costs, limits, budgets (and the
        ``unfunded`` strategies an estimated weighting gave nothing), and the feed that
        replays the period to it.

    Raises
    ------
    ConfigError
        If the data is too short for `days` or for an estimated weighting's warm-up.
    TypeError
        If an estimated `weighting` is asked for without `unit_returns`.
    UnknownStrategyError
        If a name of `strategies` is not registered.
    """
    costs = costs or CostModel()
    limits = limits or RiskLimits()
    data = load_replay_data(days, source=source, warmup_bars=FULL_HISTORY, read=read)
    # the spans of every strategy in bars of the replayed data, as the lab validated them
    instances = [strategy_for_bars(n, (params or {}).get(n), data.timeframe) for n in strategies]
    warmup = max(s.warmup for s in instances) + 1
    if weighting != "equal":
        # the weights are estimated from backtest returns AFTER each strategy's warm-up, so the
        # history must hold the warm-up plus a sample of returns, not the warm-up alone
        warmup += WEIGHTING_SAMPLE_BARS
    # one definition of the history a decision sees, shared with the backtest and `csl
    # drift`: every bar of the source up to the decision (strategies whose state depends on
    # where history starts — GARCH refit schedules, VPIN buckets — would otherwise differ);
    # the budgets still estimate from the warm-up plus the weighting sample before the start
    first = int(data.bars.index.searchsorted(data.start))
    sample = replace(data, bars=data.bars.iloc[max(0, first - warmup) :])
    n = len(instances)
    budget = sleeve_budgets(instances, sample, weighting, limits, costs, market, unit_returns)
    # an estimated weighting gives nothing to a strategy that did not trade in its sample:
    # recorded with the run and said by `csl deploy`, never a silent zero
    unfunded = sorted(name for name, b in budget.items() if b == 0.0)
    sleeves = []
    traded_stops = {
        s.name: (stops or {}).get(s.name) or ProtectiveStops.from_limits(limits) for s in instances
    }
    for strategy in instances:
        fraction = budget[strategy.name]
        runner = StrategyRunner(strategy, data.symbol, market)
        runner.prepare(data.bars)
        if on_prepared is not None:
            on_prepared(strategy.name)
        venue = ExchangeFactory.create_exchange(
            "simulated",
            TradingMode.SIMULATED,
            cost_model=costs,
            cash=Decimal(str(capital / n)),
            bars={data.symbol: data.bars[data.bars.index < data.start]},
        )
        sleeves.append(
            Sleeve(
                runner,
                venue,
                allocation=fraction * n,
                costs=costs,
                stops=traded_stops[strategy.name],
            )
        )
    feed = HistoricalReplayFeed(
        {data.symbol: data.bars}, timeframe=data.timeframe, start=data.start, speedup=speedup
    )
    config: dict[str, Any] = {
        "data": {
            "source": source,
            **({"read": dict(read)} if read else {}),  # drift re-reads the file the same way
            "symbol": data.symbol,
            "start": data.start,
            "end": data.bars.index[-1],
            "timeframe": data.timeframe,
            "days": days,
            "replay": True,
            "speedup": speedup,
        },
        "market": market.value,
        "costs": costs.model_dump(mode="json"),
        "limits": limits.model_dump(mode="json"),
        "allocation": {k: float(v) for k, v in budget.items()},
        "unfunded": unfunded,
        "weighting": weighting,
        "strategies": {s.name: s.params.model_dump(mode="json") for s in instances},
        "stops": {name: st.model_dump(mode="json") for name, st in traded_stops.items()},
    }
    engine = TradingEngine(
        journal,
        sleeves,
        mode=TradingMode.SIMULATED,
        capital=capital,
        limits=limits,
        run_id=run_id,
        run_name=run_name,
        run_config=config,
        equity_every=equity_every,
        monitor=monitor,
    )
    return engine, feed


def sleeve_budgets(
    instances: list,
    data: ReplayData,
    weighting: str,
    limits: RiskLimits,
    costs: CostModel,
    market: MarketType,
    unit_returns: UnitReturns | None = None,
) -> dict[str, float]:
    """Per-strategy fraction of total capital per unit of signal, capped.

    Parameters
    ----------
    instances : list of Strategy
        The strategies, with their parameters.
    data : ReplayData
        The bars; an estimated weighting reads only those before ``data.start``.
    weighting : {"equal", "inverse_volatility", "fractional_kelly"}
        The rule of :func:`~crypto_strategy_lab.portfolio.capped_budgets`.
    limits : RiskLimits
        ``max_position_fraction`` caps each budget, ``max_gross_exposure`` their sum, and
        ``kelly_fraction`` scales the Kelly bet.
    costs : CostModel
        The costs the sample returns are computed with.
    market : MarketType
        The market the sample returns are computed on.
    unit_returns : UnitReturns or None, optional
        Backtest returns of a strategy at one unit of signal; required unless `weighting`
        is ``"equal"``.

    Returns
    -------
    dict of str to float
        Budget per strategy name: the fraction of total capital it targets per unit of
        signal (0.0 for a strategy an estimated weighting cannot fund).

    Raises
    ------
    TypeError
        If an estimated `weighting` is asked for without `unit_returns`.
    ConfigError
        If the history before ``data.start`` is no longer than a strategy's warm-up plus 2
        bars.
    PortfolioError
        From :func:`~crypto_strategy_lab.portfolio.capped_budgets` (returns too short).
    """
    from crypto_strategy_lab.portfolio import capped_budgets

    names = pd.Index([s.name for s in instances])
    returns = None
    if weighting != "equal":
        if unit_returns is None:
            raise TypeError(f"{weighting} weighting estimates from unit_returns; none was given")
        history = data.bars[data.bars.index < data.start]
        sample = {}
        for strategy in instances:
            if len(history) <= strategy.warmup + 2:
                raise ConfigError(
                    f"{weighting} weighting needs warm-up history for {strategy.name}"
                )
            sample[strategy.name] = unit_returns(strategy, history, costs, market)
        returns = pd.DataFrame(sample)
    capped = capped_budgets(
        weighting,  # type: ignore[arg-type]
        names,
        max_weight=limits.max_position_fraction,
        max_gross=limits.max_gross_exposure,
        returns=returns,
        kelly_fraction=limits.kelly_fraction,
    )
    return {str(k): float(v) for k, v in capped.items()}
