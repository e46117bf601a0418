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
    """The feed's bars until the wall clock passes ``until`` (``--days``)."""
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

    ``monitor``: an observer of the loop, :class:`~.monitor.EngineMonitor`; ``stops``: the
    protective exits, default ``limits``' fractions of the entry.
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
    balance = await exchange.get_balance()
    quote = next(iter(balance.values()))
    fraction = min(limits.max_position_fraction, float(capital) / float(quote.total or Decimal(1)))
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
