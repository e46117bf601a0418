"""Spectral-peaks strategy: ride a statistically significant cycle in returns.

Statistic: rolling periodogram of log returns, Fisher's g of its dominant peak with the exact
p-value, the peak's period and the fitted cycle's one-step forecast. Rule (README.md): the
least-squares sinusoid at the peak Fourier frequency repeats with the window length, so its
value at the next bar is ``2 Re(X_k) / W``; when ``p < alpha`` trade the sign of that forecast
with a strength ramping from 0 at ``z_{1-alpha}`` to 1 at twice it (``z = Phi^{-1}(1 - p)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class SpectralPeaksParams(StrategyParams):
    """Parameters of :class:`SpectralPeaksSignal` (defaults tuned for 1h bars).

    Attributes
    ----------
    timeframe : str, default "1h"
        Bar size the spans are converted for.
    window : Span, default "256h"
        Trailing window ``W`` of log returns per periodogram (256 bars at 1h; 32 to 8192).
    alpha : float, default 0.01
        Level of Fisher's g test (strict: the test is repeated every bar).
    """

    timeframe: str = "1h"
    window: Span = span("256h", min_obs=32, max_obs=8192, description="Window of returns")
    alpha: float = Field(default=0.01, gt=0, lt=0.5, description="Fisher's g test level.")


class SpectralPeaksSignal(Strategy):
    """Dominant periodogram peak (Fisher's g) extrapolated one bar ahead.

    Parameters
    ----------
    params : SpectralPeaksParams or mapping, optional
        The parameters, validated by :class:`SpectralPeaksParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    Periodogram ``P_k`` of the window's demeaned returns at the ``m = floor((W - 1) / 2)``
    Fourier frequencies inside (0, Nyquist); Fisher's ``g = max_k P_k / sum_k P_k`` has,
    under Gaussian white noise, the exact law
    ``P(g > x) = sum_{j=1}^{floor(1/x)} (-1)^(j-1) C(m, j) (1 - j x)^(m-1)`` (Fisher 1929).

    The least-squares sinusoid at the peak frequency ``omega_k = 2 pi k / W`` is
    ``a cos(omega_k j) + b sin(omega_k j)`` with ``a = 2 Re(X_k) / W``; its period divides
    ``W``, so its value at the next bar is ``a`` (``forecast``). When ``p < alpha``::

        signal_t = sign(a) clip((z - z_c) / z_c, 0, 1),  z = Phi^-1(1 - p)

    with ``z_c = Phi^-1(1 - alpha)``. Columns: ``g``, ``pvalue``, ``period`` (bars),
    ``amplitude``, ``forecast``, ``signal``. The derivation is ``README.md`` in this folder.

    References
    ----------
    Fisher, R. A. (1929). Tests of significance in harmonic analysis. Proceedings of the
    Royal Society A 125(796), 54-59.

    Percival, D. B. and Walden, A. T. (1993). Spectral Analysis for Physical Applications,
    section 10.9. Cambridge University Press.
    """

    name = "spectral_peaks"
    params_model = SpectralPeaksParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h")

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import special, stats

        from crypto_strategy_lab.stats import rolling_fisher_g

        p = self.params
        r = log_returns(bars)
        res = rolling_fisher_g(r, p.bars("window"))
        # = norm.isf(p); scipy.special skips scipy.stats' per-call checks
        z = -special.ndtri(np.clip(res.pvalue, 1e-300, 1.0))
        z_crit = stats.norm.isf(p.alpha)
        strength = np.where(res.pvalue < p.alpha, significance_ramp(z, z_crit), 0.0)
        cols = {
            "g": res.g,
            "pvalue": res.pvalue,
            "period": 1.0 / res.frequency,
            "amplitude": res.amplitude,
            "forecast": res.forecast,
            "signal": np.sign(res.forecast) * strength,
        }
        return on_bars(cols, bars)
