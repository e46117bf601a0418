"""Variance-ratio strategy: trend-follow when VR(q) > 1 significantly, fade when VR(q) < 1.

Statistic: rolling Lo–MacKinlay ``VR(q)`` of log returns with the heteroskedasticity-robust
``z*(q)``. Rule (README.md): ``VR(q) - 1 ~ 2 sum_k (1 - k/q) rho_k``; a significant excess
means the last q-period return tends to continue, a significant deficit that it reverts, so the
position is ``sign(VR - 1) * sign(r_{t-q+1} + ... + r_t)`` times a strength ramping from 0 at
``z_{1-alpha/2}`` to 1 at twice it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class VarianceRatioParams(StrategyParams):
    """Parameters of :class:`VarianceRatioSignal` (defaults tuned for 1h bars).

    Attributes
    ----------
    timeframe : str, default "1h"
        Bar size the spans are converted for.
    window : Span, default "10d"
        Trailing window ``W`` of log returns (240 bars at 1h; at least 30 bars).
    q : Span, default "4h"
        Aggregation horizon ``q`` of the variance ratio (4 bars at 1h; 2 to 64 bars; keep
        ``q <= W / 10`` for the normal approximation).
    alpha : float, default 0.05
        Two-sided level of the test of ``VR(q) = 1``.
    """

    timeframe: str = "1h"
    window: Span = span("10d", min_obs=30, description="Rolling window of returns")
    q: Span = span("4h", min_obs=2, max_obs=64, description="Aggregation horizon")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Two-sided test level.")


class VarianceRatioSignal(Strategy):
    """Lo–MacKinlay variance ratio turned into momentum / mean-reversion positions.

    Parameters
    ----------
    params : VarianceRatioParams or mapping, optional
        The parameters, validated by :class:`VarianceRatioParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    With overlapping ``q``-sums and the de-biased variance estimators on ``W`` returns,
    ``VR(q) = sigma_q^2 / sigma_1^2 ~ 1 + 2 sum_{k<q} (1 - k/q) rho_k``. The
    heteroskedasticity-robust ``z*(q) = sqrt(W) (VR(q) - 1) / sqrt(theta)``, with
    ``theta = sum_{k<q} [2 (q - k) / q]^2 delta_k`` and ``delta_k`` the robust variance of
    ``rho_k``, is N(0, 1) under a martingale-difference null (Lo & MacKinlay 1988, eq. 20).

    ``VR(q) - 1`` is a weighted sum of the first ``q - 1`` autocorrelations, i.e. up to scale
    the slope of the next return on the last ``q``-bar return, so::

        signal_t = sign(VR - 1) sign(r_{t-q+1} + ... + r_t) clip((|z*| - z_c) / z_c, 0, 1)

    with ``z_c = z_{1-alpha/2}``. Columns: ``vr``, ``z``, ``pvalue``, ``signal``. The
    derivation is ``README.md`` in this folder.

    References
    ----------
    Lo, A. W. and MacKinlay, A. C. (1988). Stock market prices do not follow random walks:
    evidence from a simple specification test. Review of Financial Studies 1(1), 41-66.

    Campbell, J. Y., Lo, A. W. and MacKinlay, A. C. (1997). The Econometrics of Financial
    Markets, section 2.4. Princeton University Press.
    """

    name = "variance_ratio"
    params_model = VarianceRatioParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h")
    asset_classes = ALL_ASSETS

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import stats

        from crypto_strategy_lab.stats import rolling_sum, rolling_variance_ratio

        p = self.params
        r = log_returns(bars)
        window, q = p.bars("window"), p.bars("q")
        res = rolling_variance_ratio(r, window, min(q, window - 1))
        z_crit = stats.norm.isf(p.alpha / 2)
        strength = significance_ramp(np.abs(res.z), z_crit)
        last_q = rolling_sum(r, q)
        signal = np.sign(res.vr - 1.0) * np.sign(last_q) * strength
        cols = {"vr": res.vr, "z": res.z, "pvalue": res.pvalue, "signal": signal}
        return on_bars(cols, bars)
