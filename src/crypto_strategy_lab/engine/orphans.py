"""The kill switch for runs no engine drives: flatten what a dead run left open at its venue.

``csl kill`` records the halt; a running engine sees it and flattens itself
(:meth:`~.exits.Exits.flatten`). A run whose process died (a crash, ``kill -9``, a machine
restart) has no engine to see it, so its positions would stay open until it is resumed.
:func:`flatten_orphans` does that engine's flatten for it, with the same
:class:`~.exits.Exits` (one rule, one place): the run's own open orders are cancelled, and
each strategy's journaled share is closed reduce-only, capped at what the venue holds
(``Exchange.closing_order``), approved by ``RiskEngine.approve_reduce_only`` and journaled
before it is sent, under the run's id.

Liveness: an engine at a venue journals an equity snapshot on every bar (``equity_every=1``,
:mod:`.venue_run`), so a ``running`` run whose last snapshot (or start) is older than
``stale_bars`` of its bars is taken as dead. A ``running`` run fresher than that is left to
its engine. A simulated run's venue book lived in its process and died with it: nothing to
close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from crypto_strategy_lab.core.enums import MarketType, OrderStatus, TradingMode
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.data.timeframes import timeframe_delta
from crypto_strategy_lab.engine.book import Book
from crypto_strategy_lab.engine.clock import WallClock
from crypto_strategy_lab.engine.exits import Exits
from crypto_strategy_lab.engine.halts import Halts
from crypto_strategy_lab.engine.orders import OrderManager
from crypto_strategy_lab.engine.resume import RunProgress
from crypto_strategy_lab.engine.runner import StrategyRunner
from crypto_strategy_lab.engine.sleeve import Sleeve
from crypto_strategy_lab.exchanges import Exchange
from crypto_strategy_lab.exchanges.factory import ExchangeFactory
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import RiskEngine, RiskLimits

VENUES = ("bybit", "alpaca")


@dataclass(frozen=True)
class OrphanOutcome:
    """What the kill did with one run holding a journaled position (or an open order).

    ``action`` is ``closed`` (flattened), ``left`` (a live engine flattens it), ``skipped``
    (a simulated venue, gone with its process) or ``error`` (the venue could not be
    reached; ``detail`` says why, without secrets).

    Attributes
    ----------
    run_id : str
        The run.
    venue : str
        The venue it trades on.
    action : {"closed", "left", "skipped", "error"}
        What the kill did.
    detail : str
        One line: the closing orders (:func:`flatten_run`'s lines joined by ``"; "``, or
        ``"nothing left at venue"``), why it was left or skipped, or the error.
    """

    run_id: str
    venue: str
    action: str
    detail: str


class _Closing:
    """The runner's strategy stand-in: the kill closes positions, it never computes a signal.

    So a run whose strategy no longer loads can still be flattened.
    """

    warmup = 0

    def __init__(self, name: str) -> None:
        self.name = name

    def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        raise CSLError("the kill switch's flatten computes no signal")


def _heartbeat(journal: Journal, run: Any) -> datetime:
    """When the run last showed life: its last equity snapshot, else its start."""
    equity = journal.equity_frame(run.run_id)
    return equity.index[-1].to_pydatetime() if len(equity) else run.started_at


def _bar(config: dict[str, Any]) -> pd.Timedelta:
    """One bar of the run (``data.source`` is ``venue:SYMBOL:TIMEFRAME``)."""
    return timeframe_delta(str(config["data"]["source"]).rsplit(":", 1)[-1])


def _symbol(config: dict[str, Any]) -> str:
    return str(config["data"]["source"]).split(":")[1]


def _has_open_orders(journal: Journal, run: Any, venue: str) -> bool:
    """Whether the journal leaves an order of the run open.

    It may have filled at the venue after the last fill the dead engine journaled, so the run
    may hold what its fills do not show yet (the flatten reads it back before closing).
    """
    orders = OrderManager(journal, run.run_id, dict.fromkeys(run.strategies, venue))
    orders.load()
    return bool(orders.open_orders())


def _alive(journal: Journal, run: Any, now: datetime, stale_bars: float) -> bool:
    if run.status != "running":
        return False
    beat = pd.Timestamp(_heartbeat(journal, run))
    beat = beat.tz_localize("UTC") if beat.tzinfo is None else beat
    return pd.Timestamp(now) - beat <= stale_bars * _bar(run.config)


async def flatten_run(
    journal: Journal,
    run: Any,
    exchange: Exchange,
    reason: str,
    now: datetime,
) -> list[str]:
    """Flatten the dead run ``run`` at ``exchange`` as its engine would.

    The run's orders are loaded from the journal and :meth:`Exits.flatten` cancels them and
    closes each strategy's share; each closing order is then read back once so that its fill
    (a market order fills at once) is journaled and a later kill closes nothing twice.

    Parameters
    ----------
    journal : Journal
        The journal holding the run's orders and fills; the closing orders are recorded in it.
    run : Any
        The run's journal row (a :class:`~crypto_strategy_lab.journal.models.Run`): its
        config gives the market, symbol and risk limits, ``strategies`` the sleeves.
    exchange : Exchange
        The venue account the run traded.
    reason : str
        Why it is flattened, recorded with the closing orders.
    now : datetime.datetime
        The time the records are stamped with (UTC).

    Returns
    -------
    list of str
        One line per closing order, ``"sell 0.01 BTCUSDT (<client order id>, filled)"``,
        with the order's status in place of ``filled`` when it did not fill; empty when the
        run held nothing.
    """
    config = run.config
    market = MarketType(config["market"])
    symbol = _symbol(config)
    limits = RiskLimits.model_validate(config.get("limits") or {})
    sleeves: Sequence[Sleeve] = [
        Sleeve(
            StrategyRunner(_Closing(name), symbol, market, lookback=1),  # type: ignore[arg-type]
            exchange,
            allocation=0.0,
            name=name,
        )
        for name in run.strategies
    ]
    risk = RiskEngine(limits, journal=journal, run_id=run.run_id)
    orders = OrderManager(journal, run.run_id, {s.name: s.venue for s in sleeves})
    orders.load()
    before = set(orders.orders)
    halts = Halts(risk, WallClock(), None, 0.0)
    book = Book(journal, run.run_id, sleeves, Decimal(str(run.capital)), halts)
    exits = Exits(journal, run.run_id, orders, risk, book, halts, limits, RunProgress())
    await exits.flatten(sleeves, reason, now)
    lines = []
    for coid in set(orders.orders) - before:
        state = orders.orders[coid]
        if state.venue_order_id is not None and state.open:
            result = await exchange.get_order(state.venue_order_id, symbol, market=market)
            orders.apply_result(state, result, ts=now)
        request = orders.journaled_request(coid)
        filled = "filled" if state.status is OrderStatus.FILLED else state.status.value
        lines.append(f"{request.side.value.lower()} {request.quantity} {symbol} ({coid}, {filled})")
    return lines


async def flatten_orphans(
    journal: Journal,
    reason: str,
    now: datetime,
    *,
    stale_bars: float = 3.0,
) -> list[OrphanOutcome]:
    """Flatten every venue run that no engine drives and that holds or may hold a position.

    A run qualifies when it holds a journaled position or has a journaled order still open.

    Parameters
    ----------
    journal : Journal
        The journal the halt was recorded in.
    reason : str
        The kill's reason (audited with each flatten).
    now : datetime
        Timezone-aware: the orders' time and the liveness reference.
    stale_bars : float
        A ``running`` run whose last equity snapshot is older than this many of its bars
        is dead (its engine journals one every bar).

    Returns
    -------
    list of OrphanOutcome
        One per run holding a position, in journal order. A venue error is reported, not
        raised: the other runs are still flattened, and the halt stays recorded.
    """
    outcomes = []
    for run in journal.runs():
        venue = str(run.config.get("venue", "simulated"))
        simulated = venue not in VENUES or run.mode == TradingMode.SIMULATED.value
        holds = any(q != 0 for q in journal.net_quantities(run.run_id).values())
        if not holds and (simulated or not _has_open_orders(journal, run, venue)):
            continue
        if simulated:
            outcomes.append(
                OrphanOutcome(
                    run.run_id, venue, "skipped", "simulated venue: its book ended with its process"
                )
            )
            continue
        try:
            alive = _alive(journal, run, now, stale_bars)
        except (KeyError, ValueError) as exc:
            detail = f"its recorded config names no timeframe ({exc!r})"
            outcomes.append(OrphanOutcome(run.run_id, venue, "error", detail))
            continue
        if alive:
            outcomes.append(
                OrphanOutcome(run.run_id, venue, "left", "running: left to its engine's flatten")
            )
            continue
        try:
            market = MarketType(run.config["market"])
            exchange = ExchangeFactory.create_exchange(venue, run.mode, default_market=market)
            try:
                # reach the venue first: a flatten reports its venue errors as alerts and
                # goes on, and an unreachable venue must be this run's one-line error
                await exchange.holding(_symbol(run.config), market=market)
                lines = await flatten_run(journal, run, exchange, reason, now)
            finally:
                await exchange.close()
        except CSLError as exc:
            outcomes.append(OrphanOutcome(run.run_id, venue, "error", str(exc).splitlines()[0]))
            continue
        except (KeyError, ValueError) as exc:  # a recorded config this flatten cannot read
            detail = f"its recorded config names no market/symbol/timeframe ({exc!r})"
            outcomes.append(OrphanOutcome(run.run_id, venue, "error", detail))
            continue
        outcomes.append(
            OrphanOutcome(run.run_id, venue, "closed", "; ".join(lines) or "nothing left at venue")
        )
    return outcomes
