"""``RiskEngine``: the only path from strategies to a venue.

``evaluate(intent, portfolio, market)`` runs every rule (``risk.rules.DEFAULT_RULES``), takes
the smallest quantity any rule allows, attaches stop-loss and take-profit to every order that
adds exposure, and returns a :class:`~crypto_strategy_lab.risk.decision.RiskDecision`:

* ``approve`` — the order as requested (plus brackets);
* ``resize`` — a smaller quantity (rounded down to ``quantity_step``);
* ``reject`` — nothing may be sent (a limit, a fat-finger guard or an abnormal market);
* ``halt`` — nothing may be sent because trading is halted (kill switch, daily loss).

Every decision is written to the journal as a ``risk_events`` row when the engine has one.

Halts that must survive a restart live in the journal's ``halt_events``: the kill switch
(scope ``global``, re-armed only by a named human) and the daily-loss halt (scope
``daily_loss:YYYY-MM-DD``, which lapses by itself when the UTC day changes). A replay's
daily-loss halt is its run's own (``daily_loss:YYYY-MM-DD:run-<h>``, see
:func:`daily_loss_scope`): its account and its days live in the run, and another replay of
the same days in the journal must decide as it would alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from crypto_strategy_lab.core.enums import OrderSide
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.core.execution import stop_levels
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.journal.halts import KILL_SWITCH_SCOPE
from crypto_strategy_lab.journal.repository import Journal
from crypto_strategy_lab.risk.decision import RiskAction, RiskDecision, RuleVerdict, VerdictKind
from crypto_strategy_lab.risk.limits import RiskLimits
from crypto_strategy_lab.risk.rules import DEFAULT_RULES, RiskRule, RuleContext
from crypto_strategy_lab.risk.sizing import floor_to_step
from crypto_strategy_lab.risk.state import MarketState, OrderIntent, PortfolioState


class RiskError(CSLError):
    """Inputs the risk engine cannot evaluate (e.g. market data for another symbol)."""


@lru_cache(maxsize=256)  # asked on every decision; a run's days are few
def daily_loss_scope(day: date, run_id: str | None = None) -> str:
    """The journal halt scope of the daily-loss halt of one UTC day.

    Parameters
    ----------
    day : datetime.date
        The UTC day.
    run_id : str or None, optional
        The run whose own halt it is (an account that lives in the run: a replay's simulated
        venue); None (default): every run of the journal shares it (a venue account).

    Returns
    -------
    str
        ``daily_loss:YYYY-MM-DD``, or ``daily_loss:YYYY-MM-DD:run-<h>`` with ``h`` the first
        16 hex digits of SHA-256 of ``run_id`` (a run id may be 64 characters, a scope too:
        the halt event's own ``run_id`` column names the run).
    """
    scope = f"daily_loss:{day.isoformat()}"
    if run_id is None:
        return scope
    return f"{scope}:run-{hashlib.sha256(run_id.encode()).hexdigest()[:16]}"


def bracket_prices(
    side: OrderSide,
    reference: Decimal,
    stop_loss_pct: Decimal,
    take_profit_pct: Decimal,
    unit: float | None = None,
) -> tuple[Decimal, Decimal]:
    """Stop-loss and take-profit trigger prices around `reference`.

    Parameters
    ----------
    side : OrderSide
        Side of the order that opens or adds to the position.
    reference : Decimal
        Entry reference price (the limit price, else the last price).
    stop_loss_pct, take_profit_pct : Decimal
        Distances: fractions of `reference` (0.02 = 2 %), in (0, 1), when ``unit`` is None;
        else multiples of ``unit``. 0 disables a level.
    unit : float or None, default None
        Price unit of the distances (Wilder's ATR of the entry's bar), or None for
        fractions; a unit that is not > 0 (NaN: an ATR in its warm-up; 0: a flat history)
        places neither level.

    Returns
    -------
    stop_loss, take_profit : Decimal
        A long's stop is ``reference × (1 - sl)`` and its target ``reference × (1 + tp)``
        (``reference ∓ sl × unit`` in units); a short's are mirrored. Rounded to 1e-8; 0 for
        a level not placed.

    Notes
    -----
    Computed in float by :func:`~crypto_strategy_lab.core.execution.stop_levels`, so the
    levels equal the backtest's to the last bit before the rounding to 1e-8.
    """
    scaled = unit is not None
    sl, tp = stop_levels(
        side.sign,
        float(reference),
        float(stop_loss_pct),
        float(take_profit_pct),
        unit if scaled else 0.0,
        scaled,
    )
    return _price(sl), _price(tp)


def _price(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("1e-8"))


class RiskEngine:
    """Pre-trade risk checks with the brief's limits.

    Parameters
    ----------
    limits : RiskLimits, optional
        The limits to enforce (``RiskLimits()`` gives the brief's defaults).
    journal : Journal, optional
        Where decisions and halts are written and read back after a restart. Without one
        the engine keeps its halts in memory (backtests, unit tests).
    run_id : str, optional
        The journal run the decisions belong to.
    rules : sequence of RiskRule, default DEFAULT_RULES
        The rules to apply, in order (default: all of ``risk.rules.DEFAULT_RULES``).
    run_daily_halt : bool, default False
        The daily-loss halt is this run's own (:func:`daily_loss_scope` with ``run_id``):
        for accounts that live in the run (a replay's simulated venue, whose days are
        history), so another replay of the same days in the journal is not halted by it.
        False: one halt per UTC day for every run of the journal, so a venue account stays
        halted after a restart in a new run.

    Attributes
    ----------
    new_risk_halt : str or None
        Reason of the in-memory fail-closed halt (:meth:`halt_new_risk`), or ``None``.
    """

    def __init__(
        self,
        limits: RiskLimits | None = None,
        *,
        journal: Journal | None = None,
        run_id: str | None = None,
        rules: Sequence[RiskRule] = DEFAULT_RULES,
        run_daily_halt: bool = False,
    ) -> None:
        self.limits = limits or RiskLimits()
        self.journal = journal
        self.run_id = run_id
        self.rules = tuple(rules)
        self._daily_owner = run_id if run_daily_halt else None
        self._memory_halts: dict[str, bool] = {}
        self.new_risk_halt: str | None = None

    # -- halt switches -------------------------------------------------------------------

    def _halted(self, *scopes: str) -> tuple[bool, ...]:
        """Whether each scope is halted: read from the journal on every call when there is one.

        Never cached: ``csl kill`` engages the kill switch from another process, and the next
        decision must see it. The journal answers every scope in one statement.
        """
        if self.journal is not None:
            return self.journal.halted(*scopes)
        return tuple(self._memory_halts.get(scope, False) for scope in scopes)

    def _set_halt(self, scope: str, reason: str, actor: str, ts: datetime | None = None) -> None:
        if self.journal is not None:
            self.journal.halt(reason, scope=scope, actor=actor, run_id=self.run_id, ts=ts)
        self._memory_halts[scope] = True

    @property
    def kill_switch_engaged(self) -> bool:
        """Whether the kill switch is engaged (read from the journal when there is one)."""
        return self._halted(KILL_SWITCH_SCOPE)[0]

    def kill(self, reason: str, *, actor: str = "system") -> None:
        """Engage the kill switch: no new risk until :meth:`rearm` (persisted).

        Parameters
        ----------
        reason : str
            Why, for the journal's ``halt_events``.
        actor : str, default "system"
            Who engaged it.
        """
        self._set_halt(KILL_SWITCH_SCOPE, reason, actor)

    def rearm(self, reason: str, *, actor: str) -> None:
        """Re-arm the kill switch by hand.

        Parameters
        ----------
        reason : str
            Why it is safe to trade again, for the journal.
        actor : str
            The person re-arming it; ``"system"`` is refused.

        Raises
        ------
        RiskError
            If `actor` is empty or ``"system"``.
        """
        if not actor or actor == "system":
            raise RiskError("re-arming the kill switch needs a named human actor")
        if self.journal is not None:
            self.journal.rearm(reason, actor=actor)
        self._memory_halts[KILL_SWITCH_SCOPE] = False

    def halt_new_risk(self, reason: str) -> None:
        """Fail closed: refuse new risk until :meth:`clear_new_risk_halt`.

        Reducing orders still pass. The trading engine's halt for a reconciliation problem
        or an order of unknown outcome; held in memory only (the kill switch and the daily
        halt are the persisted ones).

        Parameters
        ----------
        reason : str
            Shown as the reason of every verdict the halt causes.
        """
        self.new_risk_halt = reason

    def clear_new_risk_halt(self) -> None:
        """Lift the :meth:`halt_new_risk` halt (after a clean reconciliation)."""
        self.new_risk_halt = None

    def daily_halt_active(self, day: date) -> bool:
        """Whether the daily-loss halt of UTC day `day` is set.

        Parameters
        ----------
        day : datetime.date
            The UTC day.

        Returns
        -------
        bool
            True once the daily loss limit was reached that day; it lapses with the day.
        """
        return self._halted(daily_loss_scope(day, self._daily_owner))[0]

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(
        self,
        intent: OrderIntent,
        portfolio: PortfolioState,
        market: MarketState,
        *,
        now: datetime | None = None,
    ) -> RiskDecision:
        """Decide on one order intent, journal the decision and return it.

        Parameters
        ----------
        intent : OrderIntent
            The order a strategy wants, with its venue and return distribution.
        portfolio : PortfolioState
            Equity, peak and day-start equity, and open positions.
        market : MarketState
            The latest market data for the order's symbol.
        now : datetime.datetime, optional
            Evaluation time (default: the wall clock, UTC); sets the UTC day of the
            daily-loss halt and the data age.

        Returns
        -------
        RiskDecision
            ``approve``/``resize`` with the order to send (quantity rounded down to
            ``quantity_step``, stop-loss and take-profit attached when it adds exposure),
            or ``reject``/``halt`` with no order. A journaled decision carries its
            ``risk_event_id``.

        Raises
        ------
        RiskError
            If `market` is for another symbol than the order.

        Notes
        -----
        Every rule is checked; the approved quantity is the smallest ``max_quantity`` of
        their verdicts. A rule that halts or rejects still allows the part of the order that
        only reduces the position, except the fat-finger guards (price band, order notional),
        which allow nothing. Reaching the daily loss limit persists that day's halt.
        """
        request = intent.request
        if market.symbol != request.symbol:
            raise RiskError(
                f"market data is for {market.symbol} but the order is for {request.symbol}"
            )
        now = (now or datetime.now(UTC)).astimezone(UTC)
        kill_switch, daily_halt = self._halted(
            KILL_SWITCH_SCOPE, daily_loss_scope(now.date(), self._daily_owner)
        )
        ctx = RuleContext(
            intent=intent,
            portfolio=portfolio,
            market=market,
            limits=self.limits,
            now=now,
            kill_switch=kill_switch,
            daily_halt=daily_halt,
            new_risk_halt=self.new_risk_halt,
        )
        verdicts = tuple(v for rule in self.rules if (v := rule.check(ctx)).kind != "pass")
        decision = self._decide(ctx, verdicts)
        self._persist_daily_halt(ctx, verdicts)
        return self._journal(intent, decision, now)

    def approve_reduce_only(
        self, intent: OrderIntent, reference_price: Decimal, *, now: datetime | None = None
    ) -> RiskDecision:
        """Approve and journal a reduce-only order without checking the rules.

        The path of protective exits, the kill-switch flatten, reconcile resends and
        restores: a reduce-only order cannot add exposure (the venue fills at most the
        position it finds), so it is never blocked by a halt — getting out must always be
        possible.

        Parameters
        ----------
        intent : OrderIntent
            The reduce-only order.
        reference_price : Decimal
            Price recorded when the order has neither a limit nor a stop price.
        now : datetime.datetime, optional
            Journal timestamp (default: the wall clock, UTC).

        Returns
        -------
        RiskDecision
            An ``approve`` decision for the full quantity (rule ``reduce_only``).

        Raises
        ------
        RiskError
            For an order that is not reduce-only (it must go through :meth:`evaluate`).
        """
        request = intent.request
        if not request.reduce_only:
            raise RiskError(
                f"order {request.client_order_id} is not reduce-only: it needs evaluate()"
            )
        now = (now or datetime.now(UTC)).astimezone(UTC)
        decision = RiskDecision(
            action=RiskAction.APPROVE,
            requested_quantity=request.quantity,
            approved_quantity=request.quantity,
            reference_price=request.price or request.stop_price or reference_price,
            order=request,
            rule="reduce_only",
            reason="reduce-only order: cannot add exposure, never blocked by a halt",
            verdicts=(),
        )
        return self._journal(intent, decision, now)

    def _decide(self, ctx: RuleContext, verdicts: tuple[RuleVerdict, ...]) -> RiskDecision:
        request = ctx.intent.request
        requested = request.quantity
        allowed = requested
        deciding: RuleVerdict | None = None
        for verdict in verdicts:
            if verdict.max_quantity is not None and verdict.max_quantity < allowed:
                allowed, deciding = verdict.max_quantity, verdict
        allowed = floor_to_step(allowed, self.limits.quantity_step)
        reference = request.price or request.stop_price or ctx.price
        if allowed <= 0:
            halting = next((v for v in verdicts if v.kind is VerdictKind.HALT), None)
            deciding = halting or deciding or verdicts[0]
            action = RiskAction.HALT if halting is not None else RiskAction.REJECT
            return RiskDecision(
                action=action,
                requested_quantity=requested,
                approved_quantity=Decimal(0),
                reference_price=reference,
                order=None,
                rule=deciding.rule,
                reason=deciding.reason,
                verdicts=verdicts,
            )
        adds_exposure = allowed > ctx.reducing
        order = request if allowed == requested else request.with_quantities(quantity=allowed)
        if adds_exposure:
            order = self._attach_brackets(order, reference)
        action = RiskAction.APPROVE if allowed == requested else RiskAction.RESIZE
        reason = "within all limits" if deciding is None else deciding.reason
        return RiskDecision(
            action=action,
            requested_quantity=requested,
            approved_quantity=allowed,
            reference_price=reference,
            order=order,
            rule=None if deciding is None else deciding.rule,
            reason=reason,
            verdicts=verdicts,
        )

    def _attach_brackets(self, order: OrderRequest, reference: Decimal) -> OrderRequest:
        """Attach the stop-loss/take-profit; a strategy's own tighter stop is kept."""
        sl, tp = bracket_prices(
            order.side,
            reference,
            self.limits.dec("stop_loss_pct"),
            self.limits.dec("take_profit_pct"),
        )
        if order.stop_loss is not None:
            tighter = order.stop_loss > sl if order.side is OrderSide.BUY else order.stop_loss < sl
            if tighter:
                sl = order.stop_loss
        if order.take_profit is not None:
            tp = order.take_profit
        return order.with_quantities(stop_loss=sl, take_profit=tp)

    def _persist_daily_halt(self, ctx: RuleContext, verdicts: tuple[RuleVerdict, ...]) -> None:
        if ctx.daily_halt:
            return
        for verdict in verdicts:
            if verdict.rule == "daily_loss_limit":
                scope = daily_loss_scope(ctx.now.date(), self._daily_owner)
                # stamped with the decision's time (a replay's bar), as its risk event is
                self._set_halt(scope, verdict.reason, "risk_engine", ctx.now)
                return

    def _journal(self, intent: OrderIntent, decision: RiskDecision, now: datetime) -> RiskDecision:
        if self.journal is None:
            return decision
        request = intent.request
        order = decision.order
        record = self.journal.record_risk_event(
            run_id=self.run_id,
            decision=decision.action.value,
            rule=decision.rule,
            reason=decision.reason,
            client_order_id=request.client_order_id,
            strategy=request.strategy,
            venue=intent.venue,
            symbol=request.symbol,
            side=request.side.value,
            requested_quantity=decision.requested_quantity,
            approved_quantity=decision.approved_quantity,
            reference_price=decision.reference_price,
            stop_loss=order.stop_loss if order is not None else None,
            take_profit=order.take_profit if order is not None else None,
            rules=[v.as_dict() for v in decision.verdicts],
            ts=now,
        )
        return replace(decision, risk_event_id=record.id)
