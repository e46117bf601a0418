"""Assemble a run against a real venue (Bybit testnet/live, Alpaca paper/live).

One strategy per venue account and symbol (the venue nets positions per symbol, so two
strategies on one account could not be told apart by reconciliation; run them on separate
accounts/sub-accounts). Bars come from the venue's klines (REST polling), the clock is the
wall clock, and the engine reconciles on every bar.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.engine.clock import WallClock
from crypto_strategy_lab.engine.feeds import BarEvent, RestPollingFeed
from crypto_strategy_lab.engine.loop import TradingEngine
from crypto_strategy_lab.engine.monitor import EngineMonitor
from crypto_strategy_lab.engine.runner import StrategyRunner
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.exchanges.factory import ExchangeFactory
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import ProtectiveStops, RiskLimits
from crypto_strategy_lab.strategies.registry import strategy_for_bars


async def bounded(feed: AsyncIterator[BarEvent] | Any, until: datetime) -> AsyncIterator[BarEvent]:
    """The feed's bars until the wall clock passes ``until`` (``--days``).

    Waiting for a bar is cut short at ``until``, so a quiet feed cannot hold the run past
    it.

    Parameters
    ----------
    feed : AsyncIterator[BarEvent]
        Any async iterable of bars (its ``__aiter__`` is called once).
    until : datetime.datetime
        The timezone-aware wall-clock time the run ends at.

    Yields
    ------
    BarEvent
        The feed's bars, in its order, until `until` passes or the feed ends.
    """
    iterator = feed.__aiter__()
    while True:
        remaining = (until - datetime.now(UTC)).total_seconds()
        if remaining <= 0:
            return
        try:
            yield await asyncio.wait_for(iterator.__anext__(), timeout=remaining)
        except (StopAsyncIteration, TimeoutError):
            return


async def build_venue_run(
    journal: Journal,
    strategy: str,
    *,
    venue: str,
    mode: TradingMode,
    capital: float,
    symbol: str,
    timeframe: str,
    market: MarketType,
    days: float,
    limits: RiskLimits | None = None,
    params: dict[str, Any] | None = None,
    base_url: str | None = None,
    run_id: str | None = None,
    monitor: EngineMonitor | None = None,
    stops: ProtectiveStops | None = None,
) -> tuple[TradingEngine, AsyncIterator[BarEvent]]:
    """Engine and bounded feed for ``strategy`` on ``venue`` in ``mode``.

    The strategy's window is seeded with the venue's latest ``lookback`` klines, and the
    feed starts with the bar after them. The sleeve's allocation is
    ``min(max_position_fraction, capital / equity)``, with the account's equity as
    :meth:`~crypto_strategy_lab.exchanges.base.Exchange.get_account_value` reads it (the
    total of its quote currency, else of the first currency the venue lists), as the book
    does on every bar: ``capital`` is the part of the account the strategy trades.

    Parameters
    ----------
    journal : Journal
        Where the run is recorded.
    strategy : str
        A registered strategy name.
    venue : str
        The venue (``"bybit"``, ``"alpaca"``), as
        :meth:`~crypto_strategy_lab.exchanges.factory.ExchangeFactory.create_exchange` names it.
    mode : TradingMode
        Testnet, paper or live.
    capital : float
        The capital the strategy trades, in the quote currency.
    symbol : str
        The traded symbol, in our notation (``"BTCUSDT"``).
    timeframe : str
        The bar size polled (``"15m"``); the strategy's spans are converted to it.
    market : MarketType
        The market the strategy trades.
    days : float
        How long the run lasts, in wall-clock days from now.
    limits : RiskLimits or None, optional
        The risk engine's limits; ``None``: the defaults.
    params : dict or None, optional
        The strategy's parameters, replacing its defaults.
    base_url : str or None, optional
        Another endpoint (e.g. a local emulator); ``None``: ``CSL_BYBIT_BASE_URL`` /
        ``CSL_ALPACA_BASE_URL`` when set, else the venue's address for `mode`.
    run_id : str or None, optional
        Resume the journal's run of this id (or start one under it); ``None``: a new run.
    monitor : EngineMonitor or None, optional
        Observer of the loop (metrics and alert rules); ``None``: none.
    stops : ProtectiveStops or None, optional
        The protective exits; ``None``: the fractions of the entry in `limits`.

    Returns
    -------
    tuple of (TradingEngine, AsyncIterator[BarEvent])
        The engine (wall clock, reconciling on every bar) and the venue's closed bars
        polled over REST, bounded to `days` (:func:`bounded`).

    Raises
    ------
    ExchangeError
        If the venue's klines or balance cannot be read.
    """
    limits = limits or RiskLimits()
    stops = stops or ProtectiveStops.from_limits(limits)
    exchange = ExchangeFactory.create_exchange(
        venue, mode, base_url=base_url, default_market=market
    )
    instance = strategy_for_bars(strategy, params, timeframe)  # spans in bars of the feed
    runner = StrategyRunner(instance, symbol, market)
    history = await exchange.get_ohlcv(symbol, timeframe, limit=runner.lookback, market=market)
    runner.seed_window(history)
    # the account's equity by the venue's one rule (Exchange.get_account_value), as the book
    # reads it on every bar
    account = await exchange.get_account_value(symbol, market=market)
    fraction = min(
        limits.max_position_fraction, float(capital) / float(account.equity or Decimal(1))
    )
    sleeve = Sleeve(runner, exchange, allocation=fraction, costs=CostModel(), stops=stops)
    config = {
        "data": {"source": f"{venue}:{symbol}:{timeframe}", "live": True, "days": days},
        "market": market.value,
        "venue": venue,
        "limits": limits.model_dump(mode="json"),
        "allocation": fraction,
        "strategies": {strategy: instance.params.model_dump(mode="json")},
        "stops": {strategy: stops.model_dump(mode="json")},
    }
    engine = TradingEngine(
        journal,
        [sleeve],
        mode=mode,
        capital=capital,
        limits=limits,
        clock=WallClock(),
        run_id=run_id,
        run_name=f"{mode.value}:{strategy}",
        run_config=config,
        reconcile_every=1,
        monitor=monitor,
    )
    after = history.index[-1] if len(history) else None
    feed = RestPollingFeed(exchange, symbol, timeframe, market=market, after=after)
    return engine, bounded(feed, datetime.now(UTC) + timedelta(days=days))
