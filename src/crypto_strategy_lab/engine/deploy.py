"""``csl deploy``: a portfolio of strategies from one validated deployment YAML.

``mode: simulated`` replays the last ``--days`` of the bundled data (crypto for spot/linear
allocations, the S&P 500 daily series for stock ones) through one simulated account per
strategy, with the config's ``weighting`` and ``risk`` overrides. Venue modes (testnet, paper,
live) start one engine per allocation (one strategy per venue account and symbol, see
:mod:`.venue_run`) and run them concurrently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.engine.deployment import DeploymentConfig
from crypto_strategy_lab.engine.monitor import EngineMonitor
from crypto_strategy_lab.engine.paper import UnitReturns, build_simulated_run
from crypto_strategy_lab.journal import Journal


def build_deployment(
    journal: Journal,
    cfg: DeploymentConfig,
    *,
    days: float,
    on_prepared: Callable[[str], None] | None = None,
    monitor: EngineMonitor | None = None,
    unit_returns: UnitReturns | None = None,
) -> tuple[Any, Any, str]:
    """Engine, feed and a one-line description for a simulated deployment.

    Every allocation of ``cfg`` becomes a sleeve of one simulated run
    (:func:`~crypto_strategy_lab.engine.paper.build_simulated_run`) replaying the bundled
    data of their market, with the config's capital, weighting, risk overrides, parameters
    and protective exits.

    Parameters
    ----------
    journal : Journal
        Where the run is recorded.
    cfg : DeploymentConfig
        The validated deployment, in ``mode: simulated``.
    days : float
        Length of the replayed period, in days.
    on_prepared : Callable[[str], None] or None, optional
        Called with each strategy's name once its signals are computed (progress).
    monitor : EngineMonitor or None, optional
        Observer of the loop; the caller builds it from ``cfg.monitoring``.
    unit_returns : UnitReturns or None, optional
        Backtest returns at one unit of signal; required unless ``cfg.weighting`` is
        ``"equal"``.

    Returns
    -------
    tuple of (TradingEngine, HistoricalReplayFeed, str)
        The engine, its feed, and a line naming the deployment, its number of strategies,
        the replayed data and any strategy the weighting left without a budget.

    Raises
    ------
    ConfigError
        If ``cfg.mode`` is not simulated (venue modes run one engine per allocation), the
        allocations trade more than one market, or a strategy appears twice; also from
        :func:`~crypto_strategy_lab.engine.paper.build_simulated_run` (data too short).
    """
    limits = cfg.risk_limits()
    if cfg.mode is not TradingMode.SIMULATED:
        raise ConfigError(
            f"deployment mode {cfg.mode.value}: start each allocation with `csl paper --mode "
            f"{cfg.mode.value}` / `csl live` (one strategy per venue account); `csl deploy` runs "
            "simulated portfolios"
        )
    markets = {a.market for a in cfg.strategies}
    if len(markets) != 1:
        raise ConfigError(f"a simulated deployment replays one market, got {sorted(markets)}")
    market = markets.pop()
    source = "bundled:stocks" if market is MarketType.STOCK else "bundled:crypto"
    names = [a.name for a in cfg.strategies]
    if len(set(names)) != len(names):
        raise ConfigError("each strategy may appear once in a simulated deployment")
    engine, feed = build_simulated_run(
        journal,
        names,
        days=days,
        capital=cfg.capital,
        source=source,
        market=market,
        limits=limits,
        params={a.name: a.params for a in cfg.strategies},
        weighting=cfg.weighting,
        run_name=f"deploy:{cfg.name}",
        monitor=monitor,
        on_prepared=on_prepared,
        unit_returns=unit_returns,
        stops={a.name: cfg.stops_for(a) for a in cfg.strategies},
    )
    text = f"deployment {cfg.name}: {len(names)} strategies; {feed.describe()}"
    unfunded = engine.run_config.get("unfunded") or []
    if unfunded:
        text += (
            f"; no budget under {cfg.weighting} for {', '.join(unfunded)} (no trades in the "
            "weighting sample before the start: nothing to estimate its risk from)"
        )
    return engine, feed, text
