"""Drift-significance strategy: hold the direction of a statistically significant drift.

Statistic: rolling MLE drift of log returns, its plug-in Cramér–Rao standard error, the
t-test, and the Newey–West HAC z (traded, because returns are heteroskedastic). Rule
(README.md): under ``r_t ~ N(mu, sigma^2)`` the expected next return is ``mu``; trade
``sign(mu)`` only when ``|z_HAC| > z_{1-alpha/2}``, with a strength ramping from 0 at the
critical value to 1 at twice it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class DriftSignificanceParams(StrategyParams):
    """Parameters of :class:`DriftSignificanceSignal` (defaults tuned for 4h bars).

    Attributes
    ----------
    timeframe : str, default "4h"
        Bar size the spans are converted for.
    window : Span, default "30d"
        Trailing window ``n`` of log returns (180 bars at 4h; at least 20 bars).
    hac_lags : int or None, default None
        Bartlett-kernel lags of the Newey-West variance; ``None``: the Newey-West rule
        ``floor(4 (n / 100)^(2/9))``.
    alpha : float, default 0.05
        Two-sided level of the HAC test of ``mu = 0``.
    """

    timeframe: str = "4h"
    window: Span = span("30d", min_obs=20, description="Window of returns")
    hac_lags: int | None = Field(default=None, ge=0, description="None: Newey–West rule.")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Two-sided test level.")


class DriftSignificanceSignal(Strategy):
    """Significant drift (HAC z-test) turned into a directional position.

    Parameters
    ----------
    params : DriftSignificanceParams or mapping, optional
        The parameters, validated by :class:`DriftSignificanceParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    Under ``r_t ~ iid N(mu, sigma^2)`` the MLE of the drift is the sample mean, whose
    variance ``sigma^2 / n`` is the Cramer-Rao bound (Fisher information ``n / sigma^2``).
    Reported: ``mu``, the plug-in bound ``crlb_se = sqrt(sigma_ML^2 / n)``, Student's ``t``
    (``t_{n-1}`` under the Gaussian null) and the Newey-West HAC ``z`` with Bartlett weights,
    which is traded because returns are heteroskedastic and autocorrelated.

    With drift ``mu``, ``E[r_{t+1}] = mu``, so::

        signal_t = sign(mu) clip((|z_HAC| - z_c) / z_c, 0, 1)

    with ``z_c = z_{1-alpha/2}``. Columns: ``mu``, ``crlb_se``, ``t``, ``pvalue``, ``hac_z``,
    ``hac_pvalue``, ``signal``. The derivation is ``README.md`` in this folder.

    References
    ----------
    Newey, W. K. and West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity
    and autocorrelation consistent covariance matrix. Econometrica 55(3), 703-708.

    Newey, W. K. and West, K. D. (1994). Automatic lag selection in covariance matrix
    estimation. Review of Economic Studies 61(4), 631-653.
    """

    name = "drift_significance"
    params_model = DriftSignificanceParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("4h", "1d")
    asset_classes = ALL_ASSETS

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import stats

        from crypto_strategy_lab.stats import rolling_drift_test

        p = self.params
        r = log_returns(bars)
        res = rolling_drift_test(r, p.bars("window"), p.hac_lags)
        z_crit = stats.norm.isf(p.alpha / 2)
        strength = significance_ramp(np.abs(res.hac_z), z_crit)
        cols = {
            "mu": res.mu,
            "crlb_se": res.crlb_se,
            "t": res.t,
            "pvalue": res.pvalue,
            "hac_z": res.hac_z,
            "hac_pvalue": res.hac_pvalue,
            "signal": np.sign(res.mu) * strength,
        }
        return on_bars(cols, bars)
