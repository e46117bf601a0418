r"""``RiskLimits``: every number the risk engine enforces, with the brief's defaults.

All fractions are of current account equity. ``max_position_fraction`` defaults to the
``MAX_POSITION_SIZE`` setting (0.1 unless the environment says otherwise).

Drawdown de-risking schedule: with drawdown ``d = 1 - equity / peak_equity``, exposure limits
(per-strategy cap and portfolio heat) are multiplied by

.. math:: k(d) = \min\Big(1, \max\Big(0, \frac{d_{full} - d}{d_{full} - d_{start}}\Big)\Big),

i.e. full size up to ``drawdown_derisk_start`` (10 %), a linear scale-down to zero at
``drawdown_derisk_full`` (20 %), and no new risk beyond it (reducing orders still pass).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator


def _default_position_fraction() -> float:
    from crypto_strategy_lab.config.settings import get_settings

    return get_settings().MAX_POSITION_SIZE


class RiskLimits(BaseModel):
    """The configurable limits of :class:`~crypto_strategy_lab.risk.RiskEngine`.

    Fractions are of current account equity unless said otherwise; exposures are gross
    notionals marked at the last price.

    Attributes
    ----------
    max_position_fraction : float
        Gross notional of one strategy's positions <= this × equity; default the
        ``MAX_POSITION_SIZE`` setting (0.1).
    max_gross_exposure : float, default 0.5
        Gross notional of the whole book <= this × equity (portfolio heat), in (0, 10].
    stop_loss_pct, take_profit_pct : float, default 0.02 and 0.04
        Bracket distances attached to orders that add exposure, as fractions of the entry
        reference price (not of equity), in (0, 1).
    daily_loss_limit : float, default 0.05
        Loss since the UTC day's opening equity that halts new risk for the rest of the day.
    drawdown_derisk_start, drawdown_derisk_full : float, default 0.10 and 0.20
        Drawdowns from peak equity where the de-risking schedule ``k(d)`` of the module
        docstring starts and reaches 0.
    max_asset_class_exposure, max_venue_exposure : dict of str to float
        Gross exposure limit per asset class (``crypto``, ``equity``) or per venue, each in
        [0, 10]; groups not listed are unlimited.
    max_order_notional : float, default 250000.0
        Fat-finger guard: orders above this notional (account currency) are refused.
    price_band_pct : float, default 0.05
        Fat-finger guard: limit prices further than this fraction from the last price are
        refused.
    kelly_fraction : float, default 0.5
        Fraction of the Kelly bet ``mu / sigma^2`` a strategy's position may reach (when its
        return distribution is known).
    max_data_age_seconds : float, default 300.0
        Older market data pauses new risk.
    max_volatility_ratio : float, default 3.0
        Short-run over baseline volatility above this pauses new risk.
    max_spread_pct : float, default 0.005
        Quoted spread ``(ask - bid) / mid`` above this pauses new risk.
    quantity_step : Decimal, default 1e-8
        Approved quantities are rounded down to a multiple of it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_position_fraction: float = Field(default_factory=_default_position_fraction, gt=0, le=1)
    max_gross_exposure: float = Field(default=0.5, gt=0, le=10)
    stop_loss_pct: float = 0.02
    take_profit_pct: float = 0.04
    daily_loss_limit: float = Field(default=0.05, gt=0, lt=1)
    drawdown_derisk_start: float = Field(default=0.10, ge=0, lt=1)
    drawdown_derisk_full: float = Field(default=0.20, gt=0, le=1)
    max_asset_class_exposure: dict[str, float] = Field(
        default_factory=dict, description="asset class -> max gross exposure fraction"
    )
    max_venue_exposure: dict[str, float] = Field(
        default_factory=dict, description="venue -> max gross exposure fraction"
    )
    max_order_notional: float = Field(default=250_000.0, gt=0)
    price_band_pct: float = Field(default=0.05, gt=0, lt=1)
    kelly_fraction: float = Field(default=0.5, gt=0, le=1)
    max_data_age_seconds: float = Field(default=300.0, gt=0)
    max_volatility_ratio: float = Field(default=3.0, gt=1)
    max_spread_pct: float = Field(default=0.005, gt=0, lt=1)
    quantity_step: Decimal = Field(default=Decimal("0.00000001"), gt=0)

    @field_validator("stop_loss_pct", "take_profit_pct")
    @classmethod
    def _bracket_fraction(cls, value: float, info: ValidationInfo) -> float:
        # brackets sit at entry x (1 -/+ pct): at pct >= 1 a long's stop-loss and a short's
        # take-profit would be at or below a price of zero
        if not 0 < value < 1:
            raise ValueError(
                f"{info.field_name} must be a fraction strictly between 0 and 1 of the entry "
                f"price (0.02 = 2 %), got {value}: at 1 or more a long's stop-loss or a short's "
                "take-profit would sit at a price of zero or below"
            )
        return value

    @model_validator(mode="after")
    def _ordered(self) -> RiskLimits:
        if self.drawdown_derisk_full <= self.drawdown_derisk_start:
            raise ValueError(
                "drawdown_derisk_full must exceed drawdown_derisk_start "
                f"({self.drawdown_derisk_full} <= {self.drawdown_derisk_start})"
            )
        for name, table in (
            ("max_asset_class_exposure", self.max_asset_class_exposure),
            ("max_venue_exposure", self.max_venue_exposure),
        ):
            for key, value in table.items():
                if not 0 <= value <= 10:
                    raise ValueError(f"{name}.{key} must be in [0, 10], got {value}")
        return self

    def dec(self, name: str) -> Decimal:
        """A float limit as an exact ``Decimal`` (via its shortest repr).

        Parameters
        ----------
        name : str
            Field name, e.g. ``"max_gross_exposure"``.

        Returns
        -------
        Decimal
            ``Decimal(str(value))``: 0.1 becomes ``Decimal("0.1")``, not the binary float's
            expansion.
        """
        return Decimal(str(getattr(self, name)))
