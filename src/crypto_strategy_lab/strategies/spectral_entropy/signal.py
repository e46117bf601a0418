"""Spectral-entropy strategy: trade serial structure only when the spectrum is ordered.

Statistic: rolling normalised spectral entropy of log returns and its z-score against the
simulated i.i.d. null for this window
(:func:`~crypto_strategy_lab.stats.spectral_entropy_null_moments`);
low entropy = power concentrated = predictable. Direction (README.md): the lag-1
autocorrelation is the power-weighted mean of ``cos(omega)`` over the spectrum, so power at low
frequencies (``rho_1 > 0``) means trend, at high frequencies (``rho_1 < 0``) reversal. When the
one-sided test ``z < -z_{1-alpha}`` rejects, the position is ``sign(rho_1) * sign(r_t)`` times
a strength ramping from 0 at the critical value to 1 at twice it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars, significance_ramp

if TYPE_CHECKING:
    import pandas as pd


class SpectralEntropyParams(StrategyParams):
    """Parameters of :class:`SpectralEntropySignal` (defaults tuned for 1h bars).

    Attributes
    ----------
    timeframe : str, default "1h"
        Bar size the spans are converted for.
    window : Span, default "256h"
        Trailing window ``W`` of log returns per periodogram (256 bars at 1h; 32 to 8192).
    alpha : float, default 0.05
        One-sided level of the test (low entropy is the alternative).
    """

    timeframe: str = "1h"
    window: Span = span("256h", min_obs=32, max_obs=8192, description="Window of returns")
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="One-sided test level.")


class SpectralEntropySignal(Strategy):
    """Low spectral entropy (vs its i.i.d. null) turned into momentum / reversal positions.

    Parameters
    ----------
    params : SpectralEntropyParams or mapping, optional
        The parameters, validated by :class:`SpectralEntropyParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    ``H = -sum_k p_k log2 p_k / log2 N`` with ``p_k = P_k / sum P`` over the ``N = W/2 + 1``
    periodogram bins (the antropy ``method="fft", normalize=True`` convention). White noise
    gives about ``1 - (1 - gamma) / ln N`` (0.912 at ``W = 256``), not 1, because periodogram
    ordinates are exponential; the null mean and sd for the window are simulated (1000
    i.i.d. Gaussian windows, fixed seed), ``z = (H - mean) / sd`` and ``p = Phi(z)``.

    The lag-1 autocorrelation is the power-weighted mean of ``cos(omega)``,
    ``rho_1 = sum_k p_k cos(omega_k)``: power at low frequencies is a trend, at high ones a
    reversal. When ``z < -z_c``, ``z_c = z_{1-alpha}``::

        signal_t = sign(rho_1) sign(r_t) clip((-z - z_c) / z_c, 0, 1)

    Columns: ``entropy``, ``z``, ``pvalue``, ``rho1``, ``signal``. The derivation is
    ``README.md`` in this folder.

    References
    ----------
    Powell, G. E. and Percival, I. C. (1979). A spectral entropy method for distinguishing
    regular and irregular motion of Hamiltonian systems. J. Phys. A 12(11), 2053-2071.

    Inouye, T. et al. (1991). Quantification of EEG irregularity by use of the entropy of
    the power spectrum. Electroencephalography and Clinical Neurophysiology 79(3), 204-210.
    """

    name = "spectral_entropy"
    params_model = SpectralEntropyParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "4h")

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import special, stats

        from crypto_strategy_lab.stats import (
            rolling_autocorrelations,
            rolling_spectral_entropy,
            spectral_entropy_null_moments,
        )

        p = self.params
        r = log_returns(bars)
        window = p.bars("window")
        entropy = rolling_spectral_entropy(r, window)
        mean, sd = spectral_entropy_null_moments(window)
        z = (entropy - mean) / sd
        rho1 = rolling_autocorrelations(r, window, 1)[:, 1]
        z_crit = stats.norm.isf(p.alpha)
        strength = significance_ramp(-z, z_crit)
        cols = {
            "entropy": entropy,
            "z": z,
            "pvalue": special.ndtr(z),  # = norm.cdf, without scipy.stats' checks
            "rho1": rho1,
            "signal": np.sign(rho1) * np.sign(r) * strength,
        }
        return on_bars(cols, bars)
