"""``ProtectiveStops``: the stop policy of a deployed strategy's protective exits.

The engine places a reduce-only stop-loss and take-profit for each position once its entry
fill is known (``engine.exits``). Their distances are those of ``run_backtest``: fractions of
the average entry (``stop_unit="fraction"``, the brief's 2 % / 4 %, the trading default from
:class:`~crypto_strategy_lab.risk.RiskLimits`) or multiples of Wilder's ATR of the bar the fill
is known at (``stop_unit="atr"``, e.g. 2 and 4 ATR(14), the study's ``atr`` policy). The levels
come from :func:`~crypto_strategy_lab.core.execution.stop_levels`, the backtest kernel's rule,
through :func:`~crypto_strategy_lab.risk.bracket_prices`.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crypto_strategy_lab.core.enums import OrderSide
from crypto_strategy_lab.core.stop_policy import stop_policy_identity
from crypto_strategy_lab.risk.engine import bracket_prices
from crypto_strategy_lab.risk.limits import RiskLimits

#: Wilder's ATR period (his choice, and the study's ``atr`` policy's).
ATR_PERIOD = 14


class ProtectiveStops(BaseModel):
    """Levels of the protective exits, with the names and meaning of ``run_backtest``'s.

    Attributes
    ----------
    stop_unit : {"fraction", "atr"}, default "fraction"
        Unit of the distances: fractions of the average entry, or multiples of Wilder's ATR.
    stop_loss, take_profit : float or None
        Distances of the stop-loss and the take-profit; ``None`` places no such order. In
        fractions: in (0, 1); in ATR units: finite and > 0.
    atr_period : int, default 14
        Wilder's ATR period in bars (``stop_unit="atr"`` only).

    Examples
    --------
    In a deployment YAML, per strategy or for the whole deployment::

        stops: {stop_unit: atr, stop_loss: 2, take_profit: 4, atr_period: 14}
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    stop_unit: Literal["fraction", "atr"] = "fraction"
    stop_loss: float | None
    take_profit: float | None
    atr_period: int = Field(default=ATR_PERIOD, ge=1, strict=True)

    @model_validator(mode="after")
    def _levels_fit_their_unit(self) -> ProtectiveStops:
        for name in ("stop_loss", "take_profit"):
            level = getattr(self, name)
            if level is None:
                continue
            if self.stop_unit == "fraction" and not 0 < level < 1:
                raise ValueError(
                    f"{name} in fractions of the entry must be strictly between 0 and 1 "
                    f"(0.02 = 2 %), got {level:g}; for multiples of the ATR set stop_unit: atr"
                )
            if self.stop_unit == "atr" and not (math.isfinite(level) and level > 0):
                raise ValueError(f"{name} in ATR units must be a number > 0, got {level:g}")
        if self.stop_unit == "fraction" and "atr_period" in self.model_fields_set:
            raise ValueError("atr_period applies to stop_unit: atr only")
        return self

    @classmethod
    def from_limits(cls, limits: RiskLimits) -> ProtectiveStops:
        """The trading default: ``limits.stop_loss_pct`` / ``take_profit_pct`` of the entry.

        Parameters
        ----------
        limits : RiskLimits
            The run's risk limits.

        Returns
        -------
        ProtectiveStops
            Levels in fractions of the entry.
        """
        return cls(stop_loss=limits.stop_loss_pct, take_profit=limits.take_profit_pct)

    def levels(
        self, entry: OrderSide, average: Decimal, atr: float = math.nan
    ) -> tuple[Decimal | None, Decimal | None]:
        """Trigger prices of the stop-loss and take-profit of a position.

        Parameters
        ----------
        entry : OrderSide
            Side that opened the position (``BUY``: long).
        average : Decimal
            Its average entry price.
        atr : float, default NaN
            Wilder's ATR of the bar the entry fill is known at (``stop_unit="atr"`` only).

        Returns
        -------
        stop_loss, take_profit : Decimal or None
            The prices (rounded to 1e-8), or ``None`` for a level not placed: disabled, an
            ATR still in its warm-up (NaN: the position trades unprotected, as in the
            backtest), or a level at or below a price of zero (which no bar can reach).
        """
        # NaN (the ATR's warm-up) or 0 (a flat history): stop_levels places no level
        unit = atr if self.stop_unit == "atr" else None
        sl, tp = bracket_prices(
            entry,
            average,
            Decimal(str(self.stop_loss or 0)),
            Decimal(str(self.take_profit or 0)),
            unit,
        )
        return (sl if sl > 0 else None), (tp if tp > 0 else None)

    def identity(self) -> dict[str, Any]:
        """The policy as a gate verdict records it, for the comparison before going live.

        Returns
        -------
        dict
            :func:`~crypto_strategy_lab.core.stop_policy.stop_policy_identity` of the levels.
        """
        return stop_policy_identity(
            self.stop_loss, self.take_profit, self.stop_unit, self.atr_period
        )
