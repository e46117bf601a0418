"""Hurst-exponent strategy: follow the trend in persistent regimes, fade it in anti-persistent.

Statistic: rolling Hurst exponent of log returns (Anis–Lloyd corrected R/S or DFA-1) and its
z-score against the estimator's simulated i.i.d. null (mean and sd for this window and these
scales, :func:`~crypto_strategy_lab.stats.hurst_null_moments`). Rule (README.md): for fGn the
correlation of consecutive ``L``-bar returns is ``2^{2H-1} - 1``, positive iff ``H > 0.5``;
so when ``|z| > z_{1-alpha/2}`` the position is ``sign(z) * sign(last L-bar return)`` times a
strength ramping from 0 at the critical value to 1 at twice it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class HurstExponentParams(StrategyParams):
    """Parameters of :class:`HurstExponentSignal` (defaults tuned for 4h bars).

    Attributes
    ----------
    timeframe : str, default "4h"
        Bar size the spans are converted for.
    window : Span, default "1024h"
        Trailing window ``W`` of log returns per estimate (256 bars at 4h; 64 to 4096 bars).
    method : {"rs", "dfa"}, default "rs"
        Anis-Lloyd corrected rescaled range or detrended fluctuation analysis (DFA-1).
    min_scale : int, default 8
        Smallest block (R/S) or box (DFA) size in bars, at least 4; the largest is ``W / 2``
        (R/S) or ``W / 4`` (DFA).
    lookback : Span, default "1d"
        Length ``L`` of the trend that is followed or faded (6 bars at 4h).
    alpha : float, default 0.05
        Two-sided level of the test of ``H`` against its i.i.d. null.
    """

    timeframe: str = "4h"
    window: Span = span("1024h", min_obs=64, max_obs=4096, description="Window of returns")
    method: Literal["rs", "dfa"] = Field(default="rs", description="R/S (Anis–Lloyd) or DFA-1.")
    min_scale: int = Field(default=8, ge=4, description="Smallest block size.")
    lookback: Span = span("1d", min_obs=1, description="Trend that is followed")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="Two-sided test level.")


class HurstExponentSignal(Strategy):
    """Hurst exponent vs its i.i.d. null turned into momentum / reversal positions.

    Parameters
    ----------
    params : HurstExponentParams or mapping, optional
        The parameters, validated by :class:`HurstExponentParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    R/S: ``H = 0.5 + slope of (log (R/S)_m - log E[(R/S)_m])`` on ``log m`` over block sizes
    ``m``, with the Anis-Lloyd (1976) expectation of R/S under i.i.d. noise (Weron 2002);
    DFA-1: the slope of the log fluctuation on the log box size (Peng et al. 1994). The
    estimator's finite-sample null has no closed form, so its mean and sd for this window
    and these scales are simulated (1000 i.i.d. Gaussian windows, fixed seed) and
    ``z = (H - mean) / sd``.

    For fractional Gaussian noise two consecutive ``L``-bar returns have correlation
    ``2^(2H - 1) - 1``, positive iff ``H > 0.5``, so::

        signal_t = sign(z) sign(r_{t-L+1} + ... + r_t) clip((|z| - z_c) / z_c, 0, 1)

    with ``z_c = z_{1-alpha/2}``. Columns: ``hurst``, ``z``, ``pvalue``, ``signal``. The
    derivation is ``README.md`` in this folder.

    References
    ----------
    Anis, A. A. and Lloyd, E. H. (1976). The expected value of the adjusted rescaled Hurst
    range of independent normal summands. Biometrika 63(1), 111-116.

    Weron, R. (2002). Estimating long-range dependence: finite sample properties and
    confidence intervals. Physica A 312(1-2), 285-299.

    Peng, C.-K. et al. (1994). Mosaic organization of DNA nucleotides. Physical Review E
    49(2), 1685-1689.
    """

    name = "hurst_exponent"
    params_model = HurstExponentParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("4h", "1d")
    asset_classes = ALL_ASSETS

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import special, stats

        from crypto_strategy_lab.stats import (
            hurst_null_moments,
            rolling_hurst_dfa,
            rolling_hurst_rs,
            rolling_sum,
        )

        p = self.params
        r = log_returns(bars)
        roll = rolling_hurst_rs if p.method == "rs" else rolling_hurst_dfa
        window = p.bars("window")
        h = roll(r, window, min_scale=p.min_scale)
        mean, sd = hurst_null_moments(window, p.method, p.min_scale)
        z = (h - mean) / sd
        z_crit = stats.norm.isf(p.alpha / 2)
        strength = significance_ramp(np.abs(z), z_crit)
        signal = np.sign(z) * np.sign(rolling_sum(r, p.bars("lookback"))) * strength
        pvalue = 2.0 * special.ndtr(-np.abs(z))  # = 2 norm.sf(|z|), without scipy.stats' checks
        cols = {"hurst": h, "z": z, "pvalue": pvalue, "signal": signal}
        return on_bars(cols, bars)
