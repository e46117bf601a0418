"""The risk rules: one small named unit each (in the spirit of freqtrade's protections).

A rule looks at a :class:`RuleContext` and returns a
:class:`~crypto_strategy_lab.risk.decision.RuleVerdict`: pass, cap the quantity, reject new
risk or halt. Rejecting and halting rules still let the part of an order that only reduces an
existing position through (``max_quantity = reducing``): getting out is always allowed, except
past the fat-finger guards, which refuse the whole order.

Exposures are marked at the market's last price; the reference price for stop-loss,
take-profit and the fat-finger notional is the order's limit price when it has one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from crypto_strategy_lab.risk.decision import RuleVerdict, VerdictKind
from crypto_strategy_lab.risk.limits import RiskLimits
from crypto_strategy_lab.risk.sizing import (
    drawdown_scale,
    floor_to_step,
    kelly_fraction,
    max_order_quantity,
    reducing_quantity,
)
from crypto_strategy_lab.risk.state import (
    MarketState,
    OrderIntent,
    PortfolioState,
    PositionExposure,
)

PASS = VerdictKind.PASS
Member = Callable[[PositionExposure], bool]


@dataclass(frozen=True)
class RuleContext:
    """Everything a rule may look at for one evaluation."""

    intent: OrderIntent
    portfolio: PortfolioState
    market: MarketState
    limits: RiskLimits
    now: datetime
    kill_switch: bool
    daily_halt: bool
    new_risk_halt: str | None = None

    @property
    def side_sign(self) -> int:
        """+1 for a buy, -1 for a sell."""
        return self.intent.request.side.sign

    @property
    def position(self) -> Decimal:
        """Signed quantity the order's strategy holds in its symbol at its venue (0 if none)."""
        req = self.intent.request
        pos = self.portfolio.position(req.strategy, self.intent.venue, req.symbol)
        return pos.quantity if pos is not None else Decimal(0)

    @property
    def reducing(self) -> Decimal:
        """The part of the order that only reduces the existing position."""
        return reducing_quantity(self.position, self.side_sign)

    @property
    def price(self) -> Decimal:
        """The market's last price, at which exposures are marked."""
        return self.market.last_price

    @property
    def equity(self) -> Decimal:
        """Current account equity."""
        return self.portfolio.equity

    def group_gross(self, member: Member) -> Decimal:
        """Gross notional of the group's positions other than the order's own position.

        Parameters
        ----------
        member : callable
            Whether a position belongs to the group.

        Returns
        -------
        Decimal
            ``Σ |q| P`` over the group's other positions, at their mark prices.
        """
        req = self.intent.request
        own = (req.strategy, self.intent.venue, req.symbol)
        return sum(
            (
                p.notional
                for p in self.portfolio.positions
                if member(p) and (p.strategy, p.venue, p.symbol) != own
            ),
            Decimal(0),
        )

    def cap_for_group(self, limit_fraction: Decimal, member: Member) -> Decimal:
        """Largest order quantity that keeps a group's gross notional within its limit.

        Parameters
        ----------
        limit_fraction : Decimal
            The group's limit, as a fraction of equity.
        member : callable
            Whether a position belongs to the group.

        Returns
        -------
        Decimal
            :func:`~crypto_strategy_lab.risk.sizing.max_order_quantity` of the group.
        """
        return max_order_quantity(
            limit_fraction * self.equity,
            self.group_gross(member),
            self.position,
            self.side_sign,
            self.price,
            self.limits.quantity_step,
        )


class RiskRule(Protocol):
    """One named risk rule; ``name`` is the rule recorded in the journal."""

    name: str

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """The rule's verdict on one evaluation.

        Parameters
        ----------
        ctx : RuleContext
            The intent, portfolio, market, limits, time and halt states.

        Returns
        -------
        RuleVerdict
            ``pass``; ``cap`` with the largest quantity allowed; or ``reject`` / ``halt``
            with the quantity that may still reduce the position.
        """
        ...


def _cap(rule: str, ctx: RuleContext, cap: Decimal, reason: str) -> RuleVerdict:
    if cap >= ctx.intent.request.quantity:
        return RuleVerdict(rule, PASS)
    return RuleVerdict(rule, VerdictKind.CAP, reason, cap)


class KillSwitch:
    """Emergency stop (``csl kill``): while engaged, only position-reducing orders pass."""

    name = "kill_switch"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Halt while the kill switch is engaged.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` when ``ctx.kill_switch`` is off; else ``halt`` with ``max_quantity =
            ctx.reducing``.
        """
        if not ctx.kill_switch:
            return RuleVerdict(self.name, PASS)
        return RuleVerdict(
            self.name,
            VerdictKind.HALT,
            "kill switch engaged: trading halted until re-armed by hand",
            ctx.reducing,
        )


class NewRiskHalt:
    """A trading engine's fail-closed halt: only position-reducing orders pass.

    Set on a reconciliation mismatch, a failed venue query or an order whose outcome is
    unknown, until the engine clears it after a clean reconciliation. Held by the risk
    engine, the one halt state.
    """

    name = "engine_halt"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Halt while the engine's fail-closed halt is set.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` when ``ctx.new_risk_halt`` is None; else ``halt`` with the halt's reason and
            ``max_quantity = ctx.reducing``.
        """
        if ctx.new_risk_halt is None:
            return RuleVerdict(self.name, PASS)
        return RuleVerdict(self.name, VerdictKind.HALT, ctx.new_risk_halt, ctx.reducing)


class DailyLossLimit:
    """Halt new risk for the rest of the UTC day once the daily loss limit is reached.

    The loss is measured from the UTC day's opening equity; the engine keeps the halt even
    if equity recovers.
    """

    name = "daily_loss_limit"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Halt once today's loss from the day's opening equity reaches the limit.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``halt`` (``max_quantity = ctx.reducing``) when the day is already halted or the loss
            ``(E_open - E) / E_open`` is at least ``limits.daily_loss_limit``; else ``pass``.
        """
        start = ctx.portfolio.day_start_equity
        loss = (start - ctx.equity) / start
        limit = ctx.limits.dec("daily_loss_limit")
        if not ctx.daily_halt and loss < limit:
            return RuleVerdict(self.name, PASS)
        return RuleVerdict(
            self.name,
            VerdictKind.HALT,
            f"daily loss {loss:.2%} reached the {limit:.2%} limit: no new risk until "
            f"{ctx.now.date()} ends (UTC)",
            ctx.reducing,
        )


class StaleData:
    """Pause new risk when the last price is older than ``max_data_age_seconds``."""

    name = "stale_data"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Reject new risk when the last price is older than the limit.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``reject`` (``max_quantity = ctx.reducing``) when ``now - market.timestamp`` exceeds
            ``limits.max_data_age_seconds``; else ``pass``.
        """
        age = (ctx.now - ctx.market.timestamp).total_seconds()
        if age <= ctx.limits.max_data_age_seconds:
            return RuleVerdict(self.name, PASS)
        return RuleVerdict(
            self.name,
            VerdictKind.REJECT,
            f"market data is {age:.0f}s old (limit {ctx.limits.max_data_age_seconds:.0f}s)",
            ctx.reducing,
        )


class VolatilitySpike:
    """Pause new risk when short-run volatility exceeds ``max_volatility_ratio`` × baseline.

    Passes when either volatility is unknown or the baseline is not positive.
    """

    name = "volatility_spike"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Reject new risk when volatility exceeds its multiple of the baseline.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``reject`` (``max_quantity = ctx.reducing``) when ``volatility / baseline_volatility``
            exceeds ``limits.max_volatility_ratio``; ``pass`` otherwise, or when either
            volatility is None or the baseline is not positive.
        """
        vol, base = ctx.market.volatility, ctx.market.baseline_volatility
        if vol is None or base is None or base <= 0:
            return RuleVerdict(self.name, PASS)
        ratio = vol / base
        if ratio <= ctx.limits.max_volatility_ratio:
            return RuleVerdict(self.name, PASS)
        return RuleVerdict(
            self.name,
            VerdictKind.REJECT,
            f"volatility {ratio:.2f}x its baseline (limit {ctx.limits.max_volatility_ratio}x)",
            ctx.reducing,
        )


class WideSpread:
    """Pause new risk when the quoted spread ``(ask - bid) / mid`` exceeds ``max_spread_pct``."""

    name = "wide_spread"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Reject new risk when the quoted spread is too wide or the book is crossed.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` when bid or ask is unknown (None) or ``(ask - bid) / mid <=
            limits.max_spread_pct``; else ``reject`` (``max_quantity = ctx.reducing``), also
            for a crossed or empty book (``bid <= 0`` or ``ask < bid``).
        """
        bid, ask = ctx.market.bid, ctx.market.ask
        if bid is None or ask is None:
            return RuleVerdict(self.name, PASS)
        if bid <= 0 or ask < bid:
            return RuleVerdict(
                self.name,
                VerdictKind.REJECT,
                f"crossed or empty book: bid {bid}, ask {ask}",
                ctx.reducing,
            )
        spread = (ask - bid) / ((ask + bid) / 2)
        limit = ctx.limits.dec("max_spread_pct")
        if spread <= limit:
            return RuleVerdict(self.name, PASS)
        return RuleVerdict(
            self.name,
            VerdictKind.REJECT,
            f"spread {spread:.4%} wider than {limit:.4%}",
            ctx.reducing,
        )


class PriceBand:
    """Fat-finger guard: refuse a limit price more than ``price_band_pct`` from the last price.

    The whole order is refused, reducing part included.
    """

    name = "price_band"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Refuse a limit price too far from the last price.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` for an order without a limit price or one within ``limits.price_band_pct``
            of the last price (``|p - P| / P``); else ``reject`` with ``max_quantity = 0``
            (the reducing part is refused too).
        """
        price = ctx.intent.request.price
        if price is None:
            return RuleVerdict(self.name, PASS)
        band = ctx.limits.dec("price_band_pct")
        deviation = abs(price - ctx.price) / ctx.price
        if deviation <= band:
            return RuleVerdict(self.name, PASS)
        return RuleVerdict(
            self.name,
            VerdictKind.REJECT,
            f"limit price {price} is {deviation:.2%} from last {ctx.price} (band {band:.2%})",
            Decimal(0),
        )


class MaxOrderNotional:
    """Fat-finger guard: refuse an order whose notional exceeds ``max_order_notional``.

    The notional is taken at the larger of the limit and last prices; the whole order is
    refused, reducing part included.
    """

    name = "max_order_notional"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Refuse an order whose notional exceeds the fat-finger limit.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``reject`` with ``max_quantity = 0`` when ``quantity × max(limit, last price)``
            exceeds ``limits.max_order_notional``; else ``pass``.
        """
        req = ctx.intent.request
        price = max(ctx.price, req.price) if req.price is not None else ctx.price
        notional = req.quantity * price
        limit = ctx.limits.dec("max_order_notional")
        if notional <= limit:
            return RuleVerdict(self.name, PASS)
        return RuleVerdict(
            self.name,
            VerdictKind.REJECT,
            f"order notional {notional:.2f} exceeds the fat-finger limit {limit}",
            Decimal(0),
        )


class PositionCap:
    """Gross notional of one strategy's positions ≤ ``max_position_fraction`` × equity."""

    name = "position_cap"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Cap the order so the strategy's gross notional stays within its limit.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` when the order fits; else ``cap`` with the largest quantity (a multiple of
            ``limits.quantity_step``) that keeps the strategy's gross notional, over all its
            symbols and venues, within ``max_position_fraction × equity``.
        """
        frac = ctx.limits.dec("max_position_fraction")
        strategy = ctx.intent.request.strategy
        cap = ctx.cap_for_group(frac, lambda p: p.strategy == strategy)
        return _cap(self.name, ctx, cap, f"strategy {strategy} capped at {frac:.0%} of equity")


class PortfolioHeat:
    """Gross exposure of the whole book ≤ ``max_gross_exposure`` × equity."""

    name = "portfolio_heat"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Cap the order so the book's gross exposure stays within its limit.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` when the order fits; else ``cap`` with the largest quantity that keeps the
            gross notional of every position within ``max_gross_exposure × equity``.
        """
        frac = ctx.limits.dec("max_gross_exposure")
        cap = ctx.cap_for_group(frac, lambda p: True)
        return _cap(self.name, ctx, cap, f"portfolio heat capped at {frac:.0%} of equity")


class DrawdownDeRisk:
    """Shrink the strategy cap and the heat limit as the drawdown deepens.

    Beyond ``drawdown_derisk_start`` below peak equity both limits shrink linearly to zero at
    ``drawdown_derisk_full`` (the schedule ``k(d)`` of ``RiskLimits``).
    """

    name = "drawdown_derisk"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Cap the order at the position and heat limits scaled by ``k(d)``.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` when ``k(d) = 1`` (drawdown ``d`` at most ``drawdown_derisk_start``) or the
            order fits; else ``cap`` at the smaller of the strategy cap and the heat cap, each
            limit multiplied by ``k(d)``.
        """
        lim = ctx.limits
        k = drawdown_scale(
            ctx.equity,
            ctx.portfolio.peak_equity,
            lim.dec("drawdown_derisk_start"),
            lim.dec("drawdown_derisk_full"),
        )
        if k == 1:
            return RuleVerdict(self.name, PASS)
        strategy = ctx.intent.request.strategy
        cap = min(
            ctx.cap_for_group(
                k * lim.dec("max_position_fraction"), lambda p: p.strategy == strategy
            ),
            ctx.cap_for_group(k * lim.dec("max_gross_exposure"), lambda p: True),
        )
        drawdown = 1 - ctx.equity / ctx.portfolio.peak_equity
        return _cap(
            self.name, ctx, cap, f"drawdown {drawdown:.2%}: exposure limits scaled by {k:.3f}"
        )


class _GroupExposure:
    """Gross exposure of a group sharing the order's ``attribute`` ≤ its limit × equity.

    The group is the positions with the order's asset class or venue; its limit is
    ``limits.<limits_field>[value]``, and groups without a limit pass.
    """

    name: str
    attribute: str
    limits_field: str
    label: str

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Cap the order so its group's gross notional stays within the group's limit.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` when the order's group has no limit or the order fits; else ``cap``
            with the largest quantity that keeps the group's gross notional within
            ``limits.<limits_field>[group] × equity``.
        """
        group = getattr(ctx.intent, self.attribute)
        limits = getattr(ctx.limits, self.limits_field)
        if group not in limits:
            return RuleVerdict(self.name, PASS)
        frac = Decimal(str(limits[group]))
        cap = ctx.cap_for_group(frac, lambda p: getattr(p, self.attribute) == group)
        return _cap(self.name, ctx, cap, f"{self.label} {group} capped at {frac:.0%} of equity")


class AssetClassExposure(_GroupExposure):
    """Gross exposure per asset class ≤ ``max_asset_class_exposure[class]`` × equity."""

    name = "asset_class_exposure"
    attribute = "asset_class"
    limits_field = "max_asset_class_exposure"
    label = "asset class"


class VenueExposure(_GroupExposure):
    """Gross exposure per venue ≤ ``max_venue_exposure[venue]`` × equity."""

    name = "venue_exposure"
    attribute = "venue"
    limits_field = "max_venue_exposure"
    label = "venue"


class KellySizing:
    """Cap a strategy's position in the symbol at ``kelly_fraction × f*`` of equity.

    ``f* = μ/σ²`` from the strategy's per-period return distribution (the rule passes when
    it is unknown); never above the strategy cap, which :class:`PositionCap` enforces
    separately. No edge (``f* ≤ 0``) means no new risk.
    """

    name = "kelly_sizing"

    def check(self, ctx: RuleContext) -> RuleVerdict:
        """Cap the position in the symbol at the fractional Kelly fraction of equity.

        Parameters
        ----------
        ctx : RuleContext
            The order intent, portfolio, market, limits and halt states.

        Returns
        -------
        RuleVerdict
            ``pass`` when the intent carries no return distribution or the order fits; ``reject``
            (``max_quantity = ctx.reducing``) when ``kelly_fraction × f* <= 0``; else ``cap``
            at the quantity whose notional, at the last price, is ``kelly_fraction × f* ×
            equity`` (floored to ``limits.quantity_step``).
        """
        dist = ctx.intent.returns
        if dist is None:
            return RuleVerdict(self.name, PASS)
        f_star = kelly_fraction(dist.mean, dist.variance)
        frac = Decimal(str(ctx.limits.kelly_fraction * f_star))
        if frac <= 0:
            return RuleVerdict(
                self.name,
                VerdictKind.REJECT,
                f"Kelly fraction {f_star:.4f} <= 0: no edge, no new position",
                ctx.reducing,
            )
        # the group is this one position: no other members
        cap = max_order_quantity(
            frac * ctx.equity,
            Decimal(0),
            ctx.position,
            ctx.side_sign,
            ctx.price,
            ctx.limits.quantity_step,
        )
        return _cap(
            self.name,
            ctx,
            floor_to_step(cap, ctx.limits.quantity_step),
            f"fractional Kelly {ctx.limits.kelly_fraction} x f*={f_star:.4f} -> {frac:.2%}",
        )


DEFAULT_RULES: tuple[RiskRule, ...] = (
    KillSwitch(),
    NewRiskHalt(),
    DailyLossLimit(),
    StaleData(),
    VolatilitySpike(),
    WideSpread(),
    PriceBand(),
    MaxOrderNotional(),
    PositionCap(),
    PortfolioHeat(),
    DrawdownDeRisk(),
    AssetClassExposure(),
    VenueExposure(),
    KellySizing(),
)
