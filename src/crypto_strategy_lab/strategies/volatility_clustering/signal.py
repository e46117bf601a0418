"""GARCH(1,1) volatility clustering: scale a long exposure by forecast volatility.

See README.md in this folder for the derivation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field, model_validator

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars

if TYPE_CHECKING:
    import pandas as pd


class VolatilityClusteringParams(StrategyParams):
    """Parameters of :class:`VolatilityClusteringSignal` (defaults tuned for 1h bars).

    Attributes
    ----------
    timeframe : str, default "1h"
        Bar size the spans are converted for.
    window : Span, default "2000h"
        Trailing returns per GARCH fit (2000 bars at 1h; at least 500, below which the LR
        test misses true clustering too often).
    refit_every : Span, default "2000h"
        Time between refits, at most ``window`` in bars; between refits the variance
        recursion runs forward with the last fit's parameters.
    alpha : float, default 0.01
        Level of the likelihood-ratio test of GARCH(1,1) against a constant variance.
    max_persistence : float, default 0.999
        Fits with ``alpha + beta`` at or above this are treated as integrated (flat).
    """

    timeframe: str = "1h"
    window: Span = span("2000h", min_obs=500, description="Window of returns per GARCH fit")
    refit_every: Span = span("2000h", min_obs=1, description="Time between refits (~12 weeks)")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Level of the GARCH-vs-constant LR test.")
    max_persistence: float = Field(
        0.999, gt=0, le=1, description="Fits at or above this alpha+beta are treated as IGARCH."
    )

    @model_validator(mode="after")
    def _refit_within_window(self) -> VolatilityClusteringParams:
        if self.bars("refit_every") > self.bars("window"):
            raise ValueError(
                f"refit_every ({self.bars('refit_every')} bars) must be <= window "
                f"({self.bars('window')} bars): every return must be fitted once"
            )
        return self


class VolatilityClusteringSignal(Strategy):
    """Long exposure ``min(1, sigma_bar / sigma_{t+1|t})`` while the LR test finds clustering.

    Parameters
    ----------
    params : VolatilityClusteringParams or mapping, optional
        The parameters, validated by :class:`VolatilityClusteringParams`; ``None`` takes
        the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    GARCH(1,1) with a constant mean, ``sigma_t^2 = omega + alpha eps_{t-1}^2 + beta
    sigma_{t-1}^2`` (Bollerslev 1986), fitted by Gaussian QMLE on the trailing window and
    refitted every ``refit_every`` bars on past data only. The clustering test is
    ``LR = 2 (l_GARCH - l_const)`` referred to chi-square(2) (approximate: under the null
    ``alpha = 0`` is on the boundary and ``beta`` is unidentified).

    Expected returns do not rise in proportion to forecast variance, so scaling exposure
    down when forecast volatility is high raises the Sharpe ratio (Moreira & Muir 2017).
    With ``sigma_bar^2 = omega / (1 - alpha - beta)`` and ``level`` the test's level (the
    ``alpha`` parameter, not GARCH's ``alpha``)::

        signal_t = min(1, sigma_bar / sigma_{t+1|t})
                   * 1[p_LR < level] * 1[alpha + beta < max_persistence]

    a long-only exposure (the test has no directional content). Columns: ``forecast_vol``,
    ``persistence``, ``alpha``, ``beta``, ``lr_pvalue``, ``vol_ratio``
    (``sigma_{t+1|t}^2 / sigma_bar^2``), ``std_resid``, ``signal``. The derivation is
    ``README.md`` in this folder.

    References
    ----------
    Bollerslev, T. (1986). Generalized autoregressive conditional heteroskedasticity.
    Journal of Econometrics 31(3), 307-327.

    Moreira, A. and Muir, T. (2017). Volatility-managed portfolios. Journal of Finance
    72(4), 1611-1644.
    """

    name = "volatility_clustering"
    params_model = VolatilityClusteringParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h", "1d")
    params: VolatilityClusteringParams

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from crypto_strategy_lab.stats.garch import rolling_garch11

        p = self.params
        r = log_returns(bars)
        g = rolling_garch11(r, p.bars("window"), p.bars("refit_every"))
        stationary = g.persistence < p.max_persistence
        clustered = (g.lr_pvalue < p.alpha) & stationary
        with np.errstate(divide="ignore", invalid="ignore"):
            exposure = np.minimum(1.0, 1.0 / np.sqrt(g.vol_ratio))
        signal = np.where(clustered, exposure, 0.0)
        cols = {
            "forecast_vol": g.forecast_vol,
            "persistence": g.persistence,
            "alpha": g.alpha,
            "beta": g.beta,
            "lr_pvalue": g.lr_pvalue,
            "vol_ratio": g.vol_ratio,
            "std_resid": g.std_resid,
            "signal": signal,
        }
        return on_bars(cols, bars)
