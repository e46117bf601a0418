"""A sleeve: one strategy trading one symbol through one venue account."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.engine.runner import StrategyRunner
from crypto_strategy_lab.exchanges.base import Exchange

QTY_STEP = Decimal("1e-8")


@dataclass
class Sleeve:
    """One strategy on one symbol at one venue account.

    Parameters
    ----------
    runner:
        The strategy runner (its symbol and market are the sleeve's).
    exchange:
        The venue account the sleeve trades through (a simulated sleeve has its own).
    allocation:
        Notional per unit of signal as a fraction of the account's equity (``L``).
    costs:
        The cost model used to size orders (the simulated venue's own; an estimate on a real
        venue).
    name:
        Unique sleeve name (default: the strategy's name); journaled as the order's
        ``strategy``.
    """

    runner: StrategyRunner
    exchange: Exchange
    allocation: float
    costs: CostModel = field(default_factory=CostModel)
    name: str = ""
    last_target: float = 0.0
    exit_orders: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or self.runner.name

    @property
    def symbol(self) -> str:
        return self.runner.symbol

    @property
    def market(self) -> MarketType:
        return self.runner.market

    @property
    def venue(self) -> str:
        return self.exchange.venue

    def target_quantity(self, weight: float, equity: Decimal, price: float) -> Decimal:
        """Signed base quantity for target weight ``w``.

        ``q* = w L E / (P (1 + sgn(w) s) (1 + f))`` with the account equity ``E``, the last
        close ``P``, the slippage fraction ``s`` and taker fee rate ``f`` — the backtest
        kernel's sizing (``backtest.kernel``), with the decision-time price standing in for
        the next open the kernel sizes at (see the engine README on parity).
        """
        if weight == 0 or equity <= 0 or price <= 0:
            return Decimal(0)
        side = 1.0 if weight > 0 else -1.0
        slip = (
            float(self.costs.slippage_fraction(price, price, price, 0.0))
            if (self.costs.slippage.value == "fixed")
            else 0.0
        )
        fill = price * (1.0 + side * slip)
        notional = weight * self.allocation * float(equity) / (1.0 + self.costs.fee_rate())
        qty = Decimal(repr(abs(notional) / fill)).quantize(QTY_STEP, rounding=ROUND_DOWN)
        return qty if weight > 0 else -qty
