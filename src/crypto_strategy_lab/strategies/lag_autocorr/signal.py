"""Lag autocorrelation strategy: trade the sign of a significant lag-k serial correlation.

Statistic: rolling ``rho_k`` of log returns with its Bartlett z (``sqrt(W) rho_k``) and the
Ljung–Box ``Q`` over ``lb_lags`` (reported, not traded). Rule (derivation in README.md): the
linear projection ``E[r_{t+1} | r_{t+1-k}] = rho_k r_{t+1-k}``, so when ``|z| > z_{1-alpha/2}``
the position is ``sign(rho_k r_{t+1-k})`` scaled by a strength that ramps linearly from 0 at
the critical value to 1 at twice it; otherwise 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class LagAutocorrParams(StrategyParams):
    """Parameters of :class:`LagAutocorrSignal` (defaults tuned for 1h bars).

    Attributes
    ----------
    timeframe : str, default "1h"
        Bar size the spans are converted for.
    window : Span, default "7d"
        Trailing window ``W`` of log returns the autocorrelation is estimated on (168 bars at
        1h; at least 20 bars).
    lag : int, default 1
        Lag ``k`` in bars whose autocorrelation is traded (1 to 24).
    lb_lags : int, default 10
        Lags ``m`` of the Ljung-Box statistic (reported, not traded; 1 to 50).
    alpha : float, default 0.05
        Two-sided level of the test of ``rho_k = 0``.
    """

    timeframe: str = "1h"
    window: Span = span("7d", min_obs=20, description="Rolling window of returns")
    lag: int = Field(default=1, ge=1, le=24, description="Autocorrelation lag traded.")
    lb_lags: int = Field(default=10, ge=1, le=50, description="Ljung–Box lags (reported).")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Two-sided test level.")


class LagAutocorrSignal(Strategy):
    """Momentum on significant positive, reversal on significant negative ``rho_k``.

    Parameters
    ----------
    params : LagAutocorrParams or mapping, optional
        The parameters, validated by :class:`LagAutocorrParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    On the trailing ``W`` log returns, ``rho_k = gamma_k / gamma_0`` with divisor-``W``
    autocovariances; under i.i.d. returns ``z = sqrt(W) rho_k -> N(0, 1)`` (Bartlett 1946).
    The Ljung-Box ``Q(m) = W (W + 2) sum_{j<=m} rho_j^2 / (W - j)``, chi-square(m) under the
    null (Ljung & Box 1978), is reported only.

    The best linear predictor of ``r_{t+1}`` from ``r_{t+1-k}`` alone is ``rho_k r_{t+1-k}``,
    so the rule follows the lagged move when ``rho_k > 0`` and fades it when ``rho_k < 0``::

        signal_t = sign(rho_k) sign(r_{t+1-k}) clip((|z| - z_c) / z_c, 0, 1)

    with ``z_c = z_{1-alpha/2}``: 0 at the critical value, a full position at twice it.
    Columns: ``rho``, ``z``, ``pvalue``, ``ljung_box``, ``lb_pvalue``, ``signal``. The
    derivation is ``README.md`` in this folder.

    References
    ----------
    Bartlett, M. S. (1946). On the theoretical specification and sampling properties of
    autocorrelated time-series. JRSS Supplement 8(1), 27-41.

    Ljung, G. M. and Box, G. E. P. (1978). On a measure of lack of fit in time series models.
    Biometrika 65(2), 297-303.

    Lo, A. W. and MacKinlay, A. C. (1990). When are contrarian profits due to stock market
    overreaction? Review of Financial Studies 3(2), 175-205.
    """

    name = "lag_autocorr"
    params_model = LagAutocorrParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h", "1d")

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars, or ``lb_lags + 1`` if longer."""
        return max(self.params.bars("window"), self.params.lb_lags + 1)

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import stats

        from crypto_strategy_lab.stats import rolling_autocorrelation_test, rolling_ljung_box

        p = self.params
        r = log_returns(bars)
        window = p.bars("window")
        test = rolling_autocorrelation_test(r, window, p.lag)
        lb = rolling_ljung_box(r, window, p.lb_lags)
        z_crit = stats.norm.isf(p.alpha / 2)
        strength = significance_ramp(np.abs(test.z), z_crit)
        lagged = np.full(r.size, np.nan)
        lagged[p.lag - 1 :] = r[: r.size - p.lag + 1]  # r_{t+1-k}, known at t
        signal = np.sign(test.rho) * np.sign(lagged) * strength
        cols = {"rho": test.rho, "z": test.z, "pvalue": test.pvalue}
        cols |= {"ljung_box": lb.statistic, "lb_pvalue": lb.pvalue, "signal": signal}
        return on_bars(cols, bars)
