"""The deployment config (``configs/production.yaml``): a portfolio of strategies across venues.

It lives in the engine, not in ``config/``, because loading it checks each allocation against
the strategy registry and the ``risk:`` overrides against :class:`RiskLimits`, so a bad file
fails ``csl config validate`` with the same one line as ``csl deploy``. The engine, which builds
deployments from it, is the layer that may import both ``strategies`` and ``risk``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crypto_strategy_lab.config.validators import PositiveFinite, parse_database_url
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.risk.limits import RiskLimits
from crypto_strategy_lab.risk.stops import ProtectiveStops
from crypto_strategy_lab.strategies.registry import list_strategies, strategy_class


def _first_problem(exc: ValidationError, prefix: str) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    reason = first["msg"].removeprefix("Value error, ")
    return f"{prefix}.{where}: {reason}" if where else f"{prefix}: {reason}"


class StrategyAllocation(BaseModel):
    """One strategy of a deployment: where it trades, on which bars, with which parameters.

    The fields are the strategy's name, venue, symbol, market, timeframe, weight, parameter
    overrides and protective exits.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(description="Registered strategy name, e.g. 'lag_autocorr'.")
    venue: Literal["bybit", "alpaca", "simulated"]
    symbol: str = Field(min_length=1)
    market: MarketType = MarketType.LINEAR
    timeframe: str = "1h"
    weight: PositiveFinite = 1.0
    params: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the strategy's own parameter model."
    )
    stops: ProtectiveStops | None = Field(
        default=None,
        description="This strategy's protective exits (default: the deployment's `stops`).",
    )


class MonitoringConfig(BaseModel):
    """Alerts and metrics fed by the trading loop (``engine.monitor``); off unless enabled."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    enabled: bool = False
    every_bars: int = Field(default=1, ge=1, description="Run the alert rules every N bars.")
    webhook_url: str | None = Field(
        default=None, description="Alert webhook (a secret: never logged)."
    )
    webhook_format: Literal["generic", "slack", "discord", "telegram"] = "generic"
    telegram_chat_id: str | None = None
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="Serve /metrics on 127.0.0.1 (0: any port)."
    )
    stale_after_seconds: float = Field(default=7200.0, gt=0)


class DeploymentConfig(BaseModel):
    """A deployment (``kind: deployment``): the run's strategies, capital, risk and monitoring.

    Validation checks, when the file loads, that every strategy name is registered, that its
    venue, market and the mode go together, its ``params`` against the strategy's parameter
    model, and the ``risk`` overrides against :class:`RiskLimits`.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Literal["deployment"] = "deployment"
    name: str = Field(min_length=1)
    mode: TradingMode = TradingMode.SIMULATED
    capital: PositiveFinite
    journal_url: str | None = None
    weighting: Literal["inverse_volatility", "fractional_kelly", "equal"] = "inverse_volatility"
    strategies: list[StrategyAllocation] = Field(min_length=1)
    risk: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of RiskLimits fields (see risk/limits.py)."
    )
    stops: ProtectiveStops | None = Field(
        default=None,
        description=(
            "Protective exits of every strategy without its own `stops`, e.g. {stop_unit: "
            "atr, stop_loss: 2, take_profit: 4, atr_period: 14} (default: risk.stop_loss_pct "
            "and risk.take_profit_pct of the entry)."
        ),
    )
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    @field_validator("journal_url")
    @classmethod
    def _journal_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_database_url(value, "journal_url")
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("journal_url: ")) from None
        return value

    @model_validator(mode="after")
    def _check(self) -> DeploymentConfig:
        known = set(list_strategies())
        for i, alloc in enumerate(self.strategies):
            if alloc.name not in known:
                raise ValueError(
                    f"strategies.{i}.name: unknown strategy {alloc.name!r}; "
                    f"known: {', '.join(sorted(known))}"
                )
            if alloc.venue == "simulated" and self.mode is not TradingMode.SIMULATED:
                raise ValueError(
                    f"strategies.{i}.venue: 'simulated' cannot trade in mode {self.mode.value}; "
                    "use bybit or alpaca, or mode: simulated"
                )
            try:
                strategy_class(alloc.name).params_model.model_validate(alloc.params)
            except ValidationError as exc:
                raise ValueError(_first_problem(exc, f"strategies.{i}.params")) from None
            if alloc.venue == "alpaca" and alloc.market is not MarketType.STOCK:
                raise ValueError(f"strategies.{i}.market: alpaca trades 'stock' only")
            if alloc.venue == "bybit" and alloc.market is MarketType.STOCK:
                raise ValueError(f"strategies.{i}.market: bybit trades 'spot' or 'linear'")
        self._check_risk_overrides()
        return self

    def _check_risk_overrides(self) -> None:
        """Validate ``risk`` against :class:`RiskLimits` now.

        So a typo or an out-of-range limit fails ``csl config validate`` instead of the
        deployment.
        """
        try:
            RiskLimits.model_validate(self.risk)
        except ValidationError as exc:
            raise ValueError(_first_problem(exc, "risk")) from None

    def stops_for(self, alloc: StrategyAllocation) -> ProtectiveStops:
        """The protective exits ``alloc`` trades.

        Its own ``stops``, else the deployment's, else the fractions of the entry in ``risk``
        (``stop_loss_pct``, ``take_profit_pct``).

        Parameters
        ----------
        alloc : StrategyAllocation
            One of the deployment's ``strategies``.

        Returns
        -------
        ProtectiveStops
            The stop-loss and take-profit the allocation's sleeve rests at the venue.
        """
        return alloc.stops or self.stops or ProtectiveStops.from_limits(self.risk_limits())

    def risk_limits(self) -> RiskLimits:
        """The run's :class:`RiskLimits`: the defaults with the ``risk:`` overrides.

        The overrides were checked when the config loaded.

        Returns
        -------
        RiskLimits
            A new instance on every call.
        """
        return RiskLimits(**self.risk)
