"""The one cost model: fees, slippage and perpetual funding.

Both the backtest engine and the simulated venue price their fills with :class:`CostModel`, so
a paper run and a backtest over the same bars pay the same costs.

Conventions
-----------
* Fees are charged on traded notional: ``fee = |q| * fill_price * bps / 1e4``.
* Slippage is an adverse fractional move of the reference price (the next bar's open by
  default): a buy fills at ``ref * (1 + s)``, a sell at ``ref * (1 - s)``, where ``s`` is

  - ``fixed``:  ``s = slippage_bps / 1e4``;
  - ``range``:  ``s = range_fraction * (high - low) / open`` of the fill bar (wider bars cost
    more, a common proxy for the half-spread plus impact when no book data exist);
  - ``volume``: ``s = slippage_bps / 1e4 + min(impact_coefficient * |q| / volume,
    max_participation_slippage)`` (linear in the participation rate of the fill bar's volume,
    capped; a zero-volume bar is charged the cap).
* Perpetual funding is exchanged every 8 hours (00:00, 08:00, 16:00 UTC on Bybit): a position
  of signed notional ``N`` pays ``N * rate`` (longs pay shorts when the rate is positive).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from crypto_strategy_lab.core import execution
from crypto_strategy_lab.core.execution import SLIP_FIXED, SLIP_RANGE, SLIP_VOLUME

FUNDING_INTERVAL_HOURS = 8


class SlippageModel(StrEnum):
    """How :class:`CostModel` prices slippage: ``fixed``, ``range`` or ``volume`` (module notes)."""

    FIXED = "fixed"
    RANGE = "range"
    VOLUME = "volume"


SLIP_CODES = {
    SlippageModel.FIXED: SLIP_FIXED,
    SlippageModel.RANGE: SLIP_RANGE,
    SlippageModel.VOLUME: SLIP_VOLUME,
}
"""The :mod:`~crypto_strategy_lab.core.execution` code of each slippage model."""


class CostModel(BaseModel):
    """Trading costs: fees, slippage, funding and the maintenance margin.

    Defaults are Bybit's base-tier linear perpetual fees (taker 5.5 bps, maker 2 bps) and a
    2 bps fixed slippage.

    Attributes
    ----------
    taker_fee_bps, maker_fee_bps : float, default 5.5 and 2.0
        Fees in basis points of traded notional; a negative maker fee is a rebate.
    slippage : SlippageModel, default "fixed"
        The slippage model (module notes).
    slippage_bps : float, default 2.0
        Fixed slippage, and the base of the ``volume`` model, in basis points of the
        reference price.
    range_fraction : float, default 0.1
        ``range`` model: fraction ``k`` of the fill bar's ``(high - low) / open``.
    impact_coefficient : float, default 0.1
        ``volume`` model: slippage per unit of participation ``|q| / volume``.
    max_participation_slippage : float, default 0.01
        ``volume`` model: cap on the impact term (a fraction, not bps), also charged on a
        zero-volume bar.
    funding_rate_8h : float, default 0.0001
        Perpetual funding rate per 8-hour funding instant (0.01 %); longs pay when positive.
    maintenance_margin_rate : float, default 0.005
        Maintenance margin as a fraction of position notional (liquidation price).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    taker_fee_bps: float = Field(default=5.5, ge=0, le=1000)
    maker_fee_bps: float = Field(default=2.0, ge=-100, le=1000)
    slippage: SlippageModel = SlippageModel.FIXED
    slippage_bps: float = Field(default=2.0, ge=0, le=1000)
    range_fraction: float = Field(default=0.1, ge=0, le=1)
    impact_coefficient: float = Field(default=0.1, ge=0)
    max_participation_slippage: float = Field(default=0.01, ge=0, le=0.5)
    funding_rate_8h: float = Field(default=0.0001, ge=-0.05, le=0.05)
    # Bybit's first risk-limit tier of BTCUSDT / ETHUSDT (core.execution.liquidation_price)
    maintenance_margin_rate: float = Field(default=0.005, ge=0, lt=1)

    def fee_rate(self, *, maker: bool = False) -> float:
        """Fee as a fraction of notional.

        Parameters
        ----------
        maker : bool, default False
            The maker rate instead of the taker rate.

        Returns
        -------
        float
            ``bps / 1e4``.
        """
        return (self.maker_fee_bps if maker else self.taker_fee_bps) / 1e4

    def slippage_fraction(
        self,
        open_: np.ndarray | float,
        high: np.ndarray | float,
        low: np.ndarray | float,
        volume: np.ndarray | float,
        quantity: np.ndarray | float = 0.0,
    ) -> np.ndarray:
        """Adverse fractional price move ``s >= 0`` for a fill on a bar.

        Parameters
        ----------
        open_, high, low, volume : numpy.ndarray or float
            The fill bar (broadcast together).
        quantity : numpy.ndarray or float, default 0.0
            Base-unit quantity of the fill (``volume`` model only; 0 gives its base fraction).

        Returns
        -------
        numpy.ndarray
            ``s`` per fill, as a fraction of the reference price (module notes);
            :func:`~crypto_strategy_lab.core.execution.slippage_fraction` broadcast over
            arrays.
        """
        return np.asarray(
            _slippage(
                SLIP_CODES[self.slippage],
                self.slippage_bps,
                self.range_fraction,
                self.impact_coefficient,
                self.max_participation_slippage,
                open_,
                high,
                low,
                volume,
                quantity,
            ),
            dtype=float,
        )

    @staticmethod
    def fill_price(
        reference_price: np.ndarray | float,
        side_sign: np.ndarray | float,
        slippage_fraction: np.ndarray | float,
    ) -> np.ndarray:
        """Fill price ``ref * (1 + sign * s)``: buys pay up, sells receive less.

        Parameters
        ----------
        reference_price : numpy.ndarray or float
            Reference price (the next bar's open by default).
        side_sign : numpy.ndarray or float
            Side; only its sign is used (+1 buy, -1 sell).
        slippage_fraction : numpy.ndarray or float
            ``s >= 0`` from :meth:`slippage_fraction`.

        Returns
        -------
        numpy.ndarray
            The fill prices.
        """
        return np.asarray(
            execution.fill_price(
                np.asarray(reference_price, dtype=float),
                np.sign(np.asarray(side_sign, dtype=float)),
                np.asarray(slippage_fraction, dtype=float),
            )
        )

    def fee(self, notional: np.ndarray | float, *, maker: bool = False) -> np.ndarray:
        """Fee on traded notional.

        Parameters
        ----------
        notional : numpy.ndarray or float
            Traded notional, any sign (the fee is charged on ``|notional|``).
        maker : bool, default False
            Charge the maker rate instead of the taker rate.

        Returns
        -------
        numpy.ndarray
            ``|notional| * fee_rate(maker)``, in the notional's currency.
        """
        return np.abs(np.asarray(notional, dtype=float)) * self.fee_rate(maker=maker)

    def funding_payment(
        self, signed_notional: np.ndarray | float, rate: np.ndarray | float | None = None
    ) -> np.ndarray:
        """Cash paid at one funding instant by a position.

        Parameters
        ----------
        signed_notional : numpy.ndarray or float
            Position notional, positive long, negative short.
        rate : numpy.ndarray or float, optional
            Funding rate of that instant (default `funding_rate_8h`).

        Returns
        -------
        numpy.ndarray
            ``signed_notional * rate``; negative means received (shorts receive a positive
            rate).
        """
        r = self.funding_rate_8h if rate is None else rate
        return np.asarray(
            execution.funding_payment(
                np.asarray(signed_notional, dtype=float), 1.0, np.asarray(r, dtype=float)
            )
        )


_slippage = np.vectorize(execution.slippage_fraction, otypes=[float])
