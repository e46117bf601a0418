"""Permutation entropy of returns: trade the ordinal structure when independence is rejected.

See README.md in this folder for the derivation.
"""

from __future__ import annotations

from math import factorial
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars

if TYPE_CHECKING:
    import pandas as pd


class PermutationEntropyParams(StrategyParams):
    """Parameters of :class:`PermutationEntropySignal` (defaults tuned for 1h bars).

    Attributes
    ----------
    timeframe : str, default "1h"
        Bar size the spans are converted for.
    window : Span, default "500h"
        Trailing window of log returns per estimate (500 bars at 1h; at least 50).
    order : int, default 3
        Embedding dimension ``d`` (``d!`` ordinal patterns; 2 to 5).
    delay : int, default 1
        Embedding delay ``tau`` in bars (1 to 24).
    alpha : float, default 0.01
        Level of the G test of independence.
    z_full : float, default 4.0
        ``z = Phi^-1(1 - p)`` of the G test that takes a full position.
    """

    timeframe: str = "1h"
    window: Span = span("500h", min_obs=50, description="Window of returns per estimate")
    order: int = Field(3, ge=2, le=5, description="Embedding dimension d (d! patterns).")
    delay: int = Field(1, ge=1, le=24, description="Embedding delay tau in bars.")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Test level of the G test.")
    z_full: float = Field(4.0, gt=0, description="z of the G test giving a full position.")


class PermutationEntropySignal(Strategy):
    """Follow (fade) the last return when low entropy comes with an excess (deficit) of runs.

    Low permutation entropy of returns says there is ordinal structure; an excess or deficit
    of monotone patterns says whether it is momentum or reversal.

    Parameters
    ----------
    params : PermutationEntropyParams or mapping, optional
        The parameters, validated by :class:`PermutationEntropyParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    Over the trailing window, ``N = window - (d - 1) tau`` patterns of ``d`` returns with
    frequencies ``p_k`` give ``H = -sum_k p_k ln p_k`` and ``h = H / ln d!`` (``entropy``).
    The independence test is ``G = 2 N (ln d! - H)`` (Matilla-Garcia & Ruiz Marin 2008);
    overlapping patterns make its law ``sum_i lambda_i chi2_1``, matched as ``c chi2_nu`` in
    mean and variance from the exact long-run covariance of the pattern indicators
    (Elsinger 2010). Tied embedding vectors (unchanged closes) are left out of the counts.

    Under i.i.d. returns the two monotone patterns have probability ``2 / d!``; positive
    autocorrelation gives an excess of them (``monotone_excess > 0``), negative a deficit.
    With ``z = Phi^-1(1 - p)``::

        signal_t = sign(monotone_excess_t) sign(r_t) clip(z_t / z_full, 0, 1) 1[p_t < alpha]

    Columns: ``entropy``, ``pvalue``, ``z``, ``monotone_excess``, ``untied_patterns``,
    ``signal``. The derivation is ``README.md`` in this folder.

    References
    ----------
    Bandt, C. and Pompe, B. (2002). Permutation entropy: a natural complexity measure for
    time series. Physical Review Letters 88(17), 174102.

    Matilla-Garcia, M. and Ruiz Marin, M. (2008). A non-parametric independence test using
    permutation entropy. Journal of Econometrics 144(1), 139-155.

    Elsinger, H. (2010). Independence tests based on symbolic dynamics. OeNB Working Paper
    165.
    """

    name = "permutation_entropy"
    params_model = PermutationEntropyParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "2h", "4h")
    asset_classes = ALL_ASSETS
    params: PermutationEntropyParams

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
        return self.params.bars("window")  # one bar is lost to the first return

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import special

        from crypto_strategy_lab.stats.permutation_entropy import (
            permutation_entropy_pvalue,
            rolling_pattern_share,
            rolling_permutation_entropy,
            rolling_untied_count,
        )

        p = self.params
        r = log_returns(bars)
        d = p.order
        window = p.bars("window")
        # Tied vectors (equal returns: quantised prices) are left out, so the uniform null
        # holds on a tick grid; N_t is the untied count of the window.
        h = rolling_permutation_entropy(r, window, d, p.delay, ties="drop")
        n_patterns = rolling_untied_count(r, window, d, p.delay)
        pvalue = permutation_entropy_pvalue(h, n_patterns, d)
        z = -special.ndtri(pvalue)  # = norm.isf(p); scipy.special skips scipy.stats' checks
        monotone = rolling_pattern_share(r, window, (0, factorial(d) - 1), d, p.delay, ties="drop")
        excess = monotone - 2.0 / factorial(d)
        strength = np.clip(z / p.z_full, 0.0, 1.0) * (pvalue < p.alpha)
        signal = strength * np.sign(excess) * np.sign(r)
        cols = {"entropy": h, "pvalue": pvalue, "z": z, "monotone_excess": excess}
        cols |= {"untied_patterns": n_patterns, "signal": signal}
        return on_bars(cols, bars)
