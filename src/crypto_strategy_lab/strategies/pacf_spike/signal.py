"""PACF spike: trade the Yule-Walker AR forecast when a partial autocorrelation is significant.

When a partial autocorrelation leaves the (Bonferroni) white-noise band, the AR forecast up to
that lag is traded. See README.md in this folder for the derivation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import Field

from crypto_strategy_lab.strategies.base import ALL_ASSETS, Span, Strategy, StrategyParams, span
from crypto_strategy_lab.strategies.return_signals import log_returns, on_bars

if TYPE_CHECKING:
    import pandas as pd


class PACFSpikeParams(StrategyParams):
    """Parameters of :class:`PACFSpikeSignal` (defaults tuned for 1h bars).

    Attributes
    ----------
    timeframe : str, default "1h"
        Bar size the spans are converted for.
    window : Span, default "500h"
        Trailing window ``n`` of log returns per PACF estimate (500 bars at 1h; at least 50).
    max_lag : int, default 10
        Lags ``1..max_lag`` (bars) searched for a spike (1 to 50).
    alpha : float, default 0.01
        Family-wise level over the ``max_lag`` lags (Bonferroni).
    forecast_full : float, default 0.5
        Forecast, in return standard deviations, that takes a full position.
    """

    timeframe: str = "1h"
    window: Span = span("500h", min_obs=50, description="Window of returns per PACF estimate")
    max_lag: int = Field(10, ge=1, le=50, description="Lags searched for a spike.")
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Family-wise level over the lags.")
    forecast_full: float = Field(
        0.5, gt=0, description="Forecast, in return standard deviations, for a full position."
    )


class PACFSpikeSignal(Strategy):
    """``clip(r_hat_{t+1} / (forecast_full * s_t), -1, 1)`` with the AR(k*) forecast.

    Parameters
    ----------
    params : PACFSpikeParams or mapping, optional
        The parameters, validated by :class:`PACFSpikeParams`; ``None`` takes the defaults.
    **overrides
        Parameters that replace those of `params`.

    Notes
    -----
    PACF ``phi_{k,k}``, ``k = 1..max_lag``, of the trailing ``n`` returns by Durbin-Levinson
    from the biased autocovariances. Under white noise ``sqrt(n) phi_{k,k} -> N(0, 1)``
    independently over ``k`` (Quenouille 1949); searching ``max_lag`` lags, the band is
    ``+-z / sqrt(n)`` with the Bonferroni ``z = Phi^-1(1 - alpha / (2 max_lag))``. The spike
    lag ``k*`` is the lag of largest ``|z|`` outside the band.

    Durbin-Levinson also gives the Yule-Walker AR(k*) coefficients ``phi_{k*,j}``, so the
    forecast is ``r_hat_{t+1} = r_bar + sum_{j<=k*} phi_{k*,j} (r_{t+1-j} - r_bar)`` and::

        signal_t = clip(r_hat_{t+1} / (forecast_full s_t), -1, 1)

    with ``s_t`` the window's return standard deviation, and 0 without a spike. Columns:
    ``spike_lag``, ``spike_pacf``, ``spike_z``, ``band``, ``forecast``, ``signal``. The
    derivation is ``README.md`` in this folder.

    References
    ----------
    Durbin, J. (1960). The fitting of time-series models. Review of the International
    Statistical Institute 28(3), 233-244.

    Quenouille, M. H. (1949). Approximate tests of correlation in time-series. JRSS B 11(1),
    68-84.

    Brockwell, P. J. and Davis, R. A. (1991). Time Series: Theory and Methods, 2nd ed.,
    sections 5.2 and 8.2. Springer.
    """

    name = "pacf_spike"
    params_model = PACFSpikeParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h", "2h", "4h")
    asset_classes = ALL_ASSETS
    params: PACFSpikeParams

    @property
    def warmup(self) -> int:
        """Bars before the first statistic: ``window`` in bars."""
        return self.params.bars("window")

    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        # numerics load here, not at import: reading the class stays cheap (registry.py)
        from scipy import stats as sps

        from crypto_strategy_lab.stats import rolling_mean_std
        from crypto_strategy_lab.stats.pacf import rolling_pacf_spike

        p = self.params
        r = log_returns(bars)
        window = p.bars("window")
        z_crit = sps.norm.isf(p.alpha / (2 * p.max_lag))  # Bonferroni over max_lag lags
        spike = rolling_pacf_spike(r, window, p.max_lag, z_crit)
        spiked = np.isfinite(spike.lag)
        forecast = spike.forecast
        _, sd = rolling_mean_std(r, window)
        with np.errstate(divide="ignore", invalid="ignore"):
            signal = np.clip(forecast / (p.forecast_full * sd), -1.0, 1.0)
        cols = {
            "spike_lag": spike.lag,
            "spike_pacf": spike.pacf,
            "spike_z": spike.z,
            "band": np.full(r.size, z_crit / np.sqrt(window)),
            "forecast": forecast,
            "signal": np.where(spiked, signal, 0.0),
        }
        return on_bars(cols, bars)
