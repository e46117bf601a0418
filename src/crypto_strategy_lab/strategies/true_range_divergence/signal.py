"""Price-volatility divergence on true ranges: follow confirmed moves, fade divergent ones.

A move that expanding true ranges confirm is followed; one made on contracting ranges is
faded. See README.md in this folder for the derivation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import strategy_frame

if TYPE_CHECKING:
    import pandas as pd


class TrueRangeDivergenceParams(StrategyParams):
    """Parameters of :class:`TrueRangeDivergenceSignal` (defaults tuned for 15m bars).

    Attributes
    ----------
    timeframe : str, default "15m"
        Bar size the spans are converted for.
    atr_period : int, default 14
        Wilder ATR period ``n`` in bars (at least 2).
    horizon : Span, default "6h"
        Horizon ``m`` of the price and ATR moves (24 bars at 15m).
    calib : Span, default "125h"
        Trailing span that standardises both moves (500 bars at 15m; at least 50).
    alpha : float, default 0.05
        Two-sided level of the divergence test.
    d_full : float, default 4.0
        ``|divergence|`` that takes a full position.
    """

    timeframe: str = "15m"
    atr_period: int = Field(14, ge=2, description="Wilder ATR period.")
    horizon: Span = span("6h", min_obs=1, description="Horizon of the price and ATR moves")
    calib: Span = span("125h", min_obs=50, description="Trailing time that standardises both")
    alpha: float = Field(0.05, gt=0, lt=0.5, description="Two-sided level of the divergence.")
    d_full: float = Field(4.0, gt=0, description="|divergence| giving a full position.")


class TrueRangeDivergenceSignal(Strategy):
    """``sign(z_price) * clip(divergence / d_full, -1, 1)`` when the divergence is significant.

    Parameters
    ----------
    params : TrueRangeDivergenceParams or mapping, optional
        The parameters, validated by :class:`TrueRangeDivergenceParams`; ``None`` takes
        the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    True range ``TR_t = max(H_t, C_{t-1}) - min(L_t, C_{t-1})`` and Wilder's ATR (SMA seed,
    then ``ATR_t = ((n - 1) ATR_{t-1} + TR_t) / n``). Over the horizon ``m``:

    - price z ``z^P = (ln C_t - ln C_{t-m}) / (s_t sqrt(m))`` with ``s_t`` the trailing sd
      of one-bar log returns over ``calib`` bars (N(0, 1) under a driftless random walk);
    - volatility z ``z^V``: ``ln ATR_t - ln ATR_{t-m}`` standardised by its own trailing mean
      and sd over ``calib`` bars;
    - divergence ``D = |z^P| z^V``: positive is confirmation, negative divergence.

    With ``z^P`` and ``z^V`` about independent N(0, 1), ``D`` has the product-normal density
    ``K_0(|d|) / pi`` (Craig 1936) and the two-sided ``p = 1 - (2 / pi) int_0^|D| K_0``.
    Then::

        signal_t = sign(z^P) clip(D / d_full, -1, 1) 1[p < alpha]

    Columns: ``atr``, ``price_z``, ``vol_z``, ``divergence``, ``pvalue``, ``signal``. The
    derivation is ``README.md`` in this folder.

    References
    ----------
    Wilder, J. W. (1978). New Concepts in Technical Trading Systems. Trend Research.

    Craig, C. C. (1936). On the frequency function of xy. Annals of Mathematical Statistics
    7(1), 1-15.

    Parkinson, M. (1980). The extreme value method for estimating the variance of the rate
    of return. Journal of Business 53(1), 61-65.
    """

    name = "true_range_divergence"
    params_model = TrueRangeDivergenceParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("15m", "30m", "1h")
    asset_classes = ALL_ASSETS
    params: TrueRangeDivergenceParams

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``atr_period + horizon + calib - 2`` in bars.

        The ATR's seed, then its change over the horizon, then the trailing span that
        standardises the change.
        """
        p = self.params
        return p.atr_period + p.bars("horizon") + p.bars("calib") - 2

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from crypto_strategy_lab.stats.true_range import price_volatility_divergence

        p = self.params
        d = price_volatility_divergence(
            bars["high"].to_numpy(),
            bars["low"].to_numpy(),
            bars["close"].to_numpy(),
            p.atr_period,
            p.bars("horizon"),
            p.bars("calib"),
        )
        strength = np.clip(d.divergence / p.d_full, -1.0, 1.0)
        signal = np.where(d.pvalue < p.alpha, np.sign(d.price_z) * strength, 0.0)
        return strategy_frame(
            {
                "atr": d.atr,
                "price_z": d.price_z,
                "vol_z": d.vol_z,
                "divergence": d.divergence,
                "pvalue": d.pvalue,
                "signal": signal,
            },
            bars.index,
        )
