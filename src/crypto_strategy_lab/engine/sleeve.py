"""A sleeve: one strategy trading one symbol through one venue account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from crypto_strategy_lab.core import execution
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, TimeInForce
from crypto_strategy_lab.engine.runner import StrategyRunner
from crypto_strategy_lab.exchanges.base import Exchange
from crypto_strategy_lab.exchanges.simulated.matching import Bar, slippage_of
from crypto_strategy_lab.risk.stops import ProtectiveStops

QTY_STEP = Decimal("1e-8")
D0 = Decimal(0)
_OHLCV = ("open", "high", "low", "close", "volume")


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
    stops:
        Levels of the protective exits (``None``: the run's ``RiskLimits`` fractions).
    """

    runner: StrategyRunner
    exchange: Exchange
    allocation: float
    costs: CostModel = field(default_factory=CostModel)
    name: str = ""
    stops: ProtectiveStops | None = None
    last_target: float = 0.0
    exit_orders: list[str] = field(default_factory=list)
    # the venue's net position in the run's latest venue snapshot, as reconciliation last
    # journaled it (None: none yet, or not read from the journal yet in this process)
    venue_reported: Decimal | None = None

    def __post_init__(self) -> None:
        """Name the sleeve after its strategy unless a name was given."""
        self.name = self.name or self.runner.name

    @property
    def symbol(self) -> str:
        """The runner's symbol."""
        return self.runner.symbol

    @property
    def market(self) -> MarketType:
        """The runner's market."""
        return self.runner.market

    @property
    def venue(self) -> str:
        """The exchange's venue name."""
        return self.exchange.venue

    @property
    def time_in_force(self) -> TimeInForce:
        """``DAY`` for US equities, ``GTC`` elsewhere.

        Alpaca accepts fractional orders only as simple DAY orders, as
        ``Exchange.close_position`` knows.
        """
        return TimeInForce.DAY if self.market is MarketType.STOCK else TimeInForce.GTC

    def target_quantity(
        self, weight: float, equity: Decimal, bar: Mapping[str, float], held: Decimal = D0
    ) -> Decimal:
        """Signed base quantity for target weight ``w`` decided on ``bar``'s close.

        :func:`target_quantity` with the sleeve's allocation and cost model.

        Parameters
        ----------
        weight : float
            The target weight ``w`` in [-1, 1].
        equity : Decimal
            The account equity ``E``.
        bar : mapping of str to float
            The bar's ``open``, ``high``, ``low``, ``close`` and ``volume``.
        held : Decimal, default 0
            The signed quantity held now.

        Returns
        -------
        Decimal
            The signed quantity to hold, rounded towards zero to ``QTY_STEP`` (``held``
            itself when it lies within the slippage band of the target).
        """
        return target_quantity(weight, self.allocation, equity, bar, held, self.costs)


def target_quantity(
    weight: float,
    allocation: float,
    equity: Decimal,
    bar: Mapping[str, float],
    held: Decimal,
    costs: CostModel,
) -> Decimal:
    """Signed base quantity for target weight ``w`` decided on ``bar``'s close.

    :func:`~crypto_strategy_lab.core.execution.target_quantity` — the backtest kernel's
    sizing: ``q* = w L E / (P (1 + d s) (1 + f))`` with the account equity ``E``, the bar's
    close ``P``, the slippage ``s`` estimated on the bar, the taker fee ``f`` (the engine
    sends market orders) and ``d`` the side of the trade from ``held``; ``held`` itself when
    it lies within the slippage band of the target. Rounded towards zero to the quantity
    step.

    Parameters
    ----------
    weight : float
        The target weight ``w`` in [-1, 1] (the strategy's signal).
    allocation : float
        The sleeve's leverage ``L`` per unit of signal: the fraction of its account's
        equity it holds at ``|w| = 1``.
    equity : Decimal
        The account equity ``E``, in the quote currency.
    bar : Mapping[str, float]
        The bar's ``open``, ``high``, ``low``, ``close`` and ``volume``; ``P`` is the close,
        and the cost model's slippage is estimated on the bar.
    held : Decimal
        The signed base quantity held now.
    costs : CostModel
        Gives the slippage ``s`` and the taker fee rate ``f``.

    Returns
    -------
    Decimal
        The signed base quantity to hold: ``held`` itself (the same object) inside the
        slippage band, else ``q*`` rounded towards zero to ``QTY_STEP``.
    """
    slip = slippage_of(costs, Bar(*(float(bar[k]) for k in _OHLCV)), 0.0)
    qty = execution.target_quantity(
        float(weight),
        allocation,
        float(equity),
        float(bar["close"]),
        slip,
        costs.fee_rate(maker=False),
        float(held),
    )
    if qty == float(held):
        return held
    size = Decimal(repr(abs(qty))).quantize(QTY_STEP, rounding=ROUND_DOWN)
    return size if qty > 0 else -size
