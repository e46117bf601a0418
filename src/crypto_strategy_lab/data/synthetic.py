"""Seeded synthetic market data with known parameters (for tests and benchmarks).

Every generator takes a ``seed`` (an ``int`` or a ``numpy.random.Generator``) and is
deterministic given it. Return generators produce **log returns** as float64 arrays;
:func:`bars_from_returns` turns any such array into a valid OHLCV frame (see
:mod:`crypto_strategy_lab.data.schema`), and the ``*_bars`` wrappers do both in one call.

Processes (``e_t`` i.i.d. standard normal throughout):

* GBM / random walk: ``r_t = (mu - sigma^2 / 2) dt + sigma sqrt(dt) e_t``.
* AR(p): ``r_t = c + sum_i phi_i r_{t-i} + sigma e_t`` (burn-in discarded).
* Fractional Gaussian noise with Hurst exponent ``H``: stationary Gaussian with
  ``gamma(k) = sigma^2 / 2 (|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H})``, simulated exactly by the
  circulant embedding of Davies & Harte (1987); Cholesky of the Toeplitz covariance is the
  fallback when the embedding is not non-negative definite. Its cumulative sum is fBm.
* GARCH(1,1): ``r_t = mu + sqrt(h_t) e_t``, ``h_t = omega + alpha (r_{t-1}-mu)^2 + beta h_{t-1}``
  (Bollerslev 1986), started at the unconditional variance ``omega / (1 - alpha - beta)``.
* Sine plus noise: ``r_t = A sin(2 pi t / P + phase) + sigma e_t``.
* Regime switching: a two-state Markov chain (Hamilton 1989) between a *trend* regime
  ``r_t = mu + sigma e_t`` and a *mean-reverting* regime ``r_t = phi r_{t-1} + sigma e_t``
  (``phi < 0``), with staying probabilities ``p_stay``.
* Trades with informed order flow: the PIN model of Easley, Kiefer, O'Hara & Paperman (1996),
  the model behind VPIN (Easley, López de Prado & O'Hara 2012). Each period has an
  information event with probability ``alpha``; it is bad news with probability ``delta``.
  Uninformed buys and sells arrive as Poisson(``eps``) each; on event periods informed traders
  add Poisson(``mu``) trades on the side of the news. ``PIN = alpha mu / (alpha mu + 2 eps)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, signal

from crypto_strategy_lab.data.schema import validate_ohlcv

Seed = int | np.random.Generator


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# --------------------------------------------------------------------------- returns


def gbm_returns(
    n: int, mu: float = 0.0, sigma: float = 0.01, dt: float = 1.0, seed: Seed = 0
) -> np.ndarray:
    """Log returns of geometric Brownian motion ``dS/S = mu dt + sigma dW``.

    Parameters
    ----------
    n : int
        Number of returns.
    mu : float, default 0.0
        Drift per unit of time.
    sigma : float, default 0.01
        Volatility per square root of unit of time.
    dt : float, default 1.0
        Time step.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    numpy.ndarray
        ``r_t = (mu - sigma^2/2) dt + sigma sqrt(dt) e_t``; with ``mu = sigma^2/2`` a
        driftless Gaussian random walk in log price.
    """
    e = _rng(seed).standard_normal(n)
    return (mu - 0.5 * sigma**2) * dt + sigma * np.sqrt(dt) * e


def random_walk_returns(n: int, sigma: float = 0.01, seed: Seed = 0) -> np.ndarray:
    """Driftless Gaussian random walk increments ``r_t = sigma e_t`` (log price).

    Parameters
    ----------
    n : int
        Number of increments.
    sigma : float, default 0.01
        Their standard deviation.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    numpy.ndarray
        ``n`` log returns.
    """
    return sigma * _rng(seed).standard_normal(n)


def ar_returns(
    n: int,
    coefs: float | list[float] | np.ndarray,
    sigma: float = 0.01,
    const: float = 0.0,
    burn: int = 500,
    seed: Seed = 0,
) -> np.ndarray:
    """AR(p) returns ``r_t = c + sum_i phi_i r_{t-i} + sigma e_t``.

    The recursion is run by :func:`scipy.signal.lfilter` from zero and the first ``burn``
    values are discarded so the output is (close to) stationary.

    Parameters
    ----------
    n : int
        Number of returns.
    coefs : float or sequence of float
        ``phi_1 .. phi_p``.
    sigma : float, default 0.01
        Innovation standard deviation.
    const : float, default 0.0
        ``c``; the process mean is ``c / (1 - sum phi)``.
    burn : int, default 500
        Initial values discarded.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    numpy.ndarray
        ``n`` returns.

    Raises
    ------
    ValueError
        If the AR polynomial has a root on or inside the unit circle (non-stationary).
    """
    phi = np.atleast_1d(np.asarray(coefs, dtype=float))
    ar_poly = np.concatenate([[1.0], -phi])
    if np.any(np.abs(np.roots(ar_poly[::-1])) <= 1.0):
        raise ValueError(f"AR coefficients {phi.tolist()} are not stationary")
    e = sigma * _rng(seed).standard_normal(n + burn) + const
    return signal.lfilter([1.0], ar_poly, e)[burn:]


def fgn_autocovariance(k: np.ndarray | int, hurst: float, sigma: float = 1.0) -> np.ndarray:
    """Autocovariance of fractional Gaussian noise at lags ``k``.

    ``gamma(k) = sigma^2 / 2 (|k+1|^{2H} - 2|k|^{2H} + |k-1|^{2H})`` (Mandelbrot & Van Ness 1968).

    Parameters
    ----------
    k : int or numpy.ndarray
        Lags (sign ignored).
    hurst : float
        Hurst exponent ``H`` in (0, 1).
    sigma : float, default 1.0
        Standard deviation of the noise (``gamma(0) = sigma^2``).

    Returns
    -------
    numpy.ndarray
        ``gamma(k)``.
    """
    k = np.abs(np.asarray(k, dtype=float))
    h2 = 2.0 * hurst
    return 0.5 * sigma**2 * (np.abs(k + 1) ** h2 - 2 * k**h2 + np.abs(k - 1) ** h2)


def fractional_gaussian_noise(
    n: int, hurst: float, sigma: float = 1.0, seed: Seed = 0, method: str = "davies-harte"
) -> np.ndarray:
    """Exact fractional Gaussian noise with Hurst exponent ``hurst`` in (0, 1).

    Parameters
    ----------
    n : int
        Number of samples.
    hurst : float
        Hurst exponent ``H`` in (0, 1); 0.5 gives white noise.
    sigma : float, default 1.0
        Standard deviation of each sample.
    seed : int or numpy.random.Generator, default 0
        Seed or generator.
    method
        ``"davies-harte"`` (circulant embedding, O(n log n); falls back to Cholesky when an
        eigenvalue of the embedding is negative) or ``"cholesky"`` (O(n^3), exact for any
        Toeplitz covariance).

    Returns
    -------
    numpy.ndarray
        ``n`` samples with autocovariance :func:`fgn_autocovariance`.

    Raises
    ------
    ValueError
        If `hurst` is outside (0, 1) or `method` is unknown.

    Notes
    -----
    Davies & Harte (1987); Dietrich & Newsam (1997). The covariance ``gamma(0..n)`` is
    embedded in a circulant of size ``N = 2n`` whose eigenvalues are
    ``lambda = FFT(c)``; with ``W_k = sqrt(lambda_k / N) (Z_k + i Z'_k)`` the real and
    imaginary parts of ``FFT(W)`` are Gaussian with covariance ``C`` each (the real part is
    returned).
    """
    if not 0.0 < hurst < 1.0:
        raise ValueError(f"hurst must be in (0, 1), got {hurst}")
    if method not in ("davies-harte", "cholesky"):
        raise ValueError(f"unknown method {method!r}; use 'davies-harte' or 'cholesky'")
    rng = _rng(seed)
    if method == "davies-harte":
        gamma = fgn_autocovariance(np.arange(n + 1), hurst, sigma)
        row = np.concatenate([gamma, gamma[-2:0:-1]])  # length N = 2n
        lam = np.fft.fft(row).real
        if np.all(lam >= -1e-10 * lam.max()):
            big_n = row.size
            w = np.sqrt(np.clip(lam, 0.0, None) / big_n) * (
                rng.standard_normal(big_n) + 1j * rng.standard_normal(big_n)
            )
            # E[Re(FFT w) Re(FFT w)^T] = C / 2 * 2 = C with the sqrt(lambda/N) scaling above.
            return np.fft.fft(w).real[:n]
    gamma = fgn_autocovariance(np.arange(n), hurst, sigma)
    chol = linalg.cholesky(linalg.toeplitz(gamma), lower=True)
    return chol @ rng.standard_normal(n)


def fbm_path(n: int, hurst: float, sigma: float = 1.0, seed: Seed = 0) -> np.ndarray:
    """Fractional Brownian motion ``B_H(1..n)`` as the cumulative sum of exact fGn.

    Parameters
    ----------
    n : int
        Number of points.
    hurst : float
        Hurst exponent in (0, 1).
    sigma : float, default 1.0
        Standard deviation of the increments.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    numpy.ndarray
        The path (its first value is the first increment, not 0).
    """
    return np.cumsum(fractional_gaussian_noise(n, hurst, sigma, seed))


@dataclass(frozen=True)
class GarchPath:
    """A simulated GARCH(1,1) path: returns and their true conditional variances."""

    returns: np.ndarray
    variance: np.ndarray


def garch11_returns(
    n: int,
    omega: float = 1e-6,
    alpha: float = 0.08,
    beta: float = 0.9,
    mu: float = 0.0,
    burn: int = 500,
    seed: Seed = 0,
) -> GarchPath:
    """GARCH(1,1) returns with Gaussian innovations (Bollerslev 1986).

    ``r_t = mu + eps_t``, ``eps_t = sqrt(h_t) e_t``, ``h_t = omega + alpha eps_{t-1}^2 +
    beta h_{t-1}``, started at ``omega / (1 - alpha - beta)``; ``burn`` values discarded.

    Parameters
    ----------
    n : int
        Number of returns.
    omega, alpha, beta : float, default 1e-6, 0.08, 0.9
        GARCH parameters, ``omega > 0``, ``alpha, beta >= 0``, ``alpha + beta < 1``.
    mu : float, default 0.0
        Mean return.
    burn : int, default 500
        Initial values discarded.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    GarchPath
        The returns and their true conditional variances ``h_t``.

    Raises
    ------
    ValueError
        If the parameters are not those of a stationary GARCH(1,1).
    """
    if omega <= 0 or alpha < 0 or beta < 0 or alpha + beta >= 1:
        raise ValueError("need omega > 0, alpha, beta >= 0 and alpha + beta < 1")
    e = _rng(seed).standard_normal(n + burn)
    h = np.empty(n + burn)
    eps = np.empty(n + burn)
    h_prev = omega / (1.0 - alpha - beta)
    eps_prev = 0.0
    for t in range(n + burn):
        h_t = omega + alpha * eps_prev**2 + beta * h_prev if t else h_prev
        eps_prev = np.sqrt(h_t) * e[t]
        h[t], eps[t], h_prev = h_t, eps_prev, h_t
    return GarchPath(returns=mu + eps[burn:], variance=h[burn:])


def sine_plus_noise(
    n: int,
    period: float,
    amplitude: float = 0.002,
    sigma: float = 0.005,
    phase: float = 0.0,
    seed: Seed = 0,
) -> np.ndarray:
    """Returns with a deterministic cycle: ``A sin(2 pi t / P + phase) + sigma e_t``.

    Parameters
    ----------
    n : int
        Number of returns.
    period : float
        ``P``, in samples.
    amplitude : float, default 0.002
        ``A``.
    sigma : float, default 0.005
        Noise standard deviation.
    phase : float, default 0.0
        Phase in radians.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    numpy.ndarray
        ``n`` returns, ``t = 0 .. n - 1``.
    """
    t = np.arange(n)
    return amplitude * np.sin(2 * np.pi * t / period + phase) + sigma * _rng(seed).standard_normal(
        n
    )


@dataclass(frozen=True)
class RegimePath:
    """Returns from :func:`regime_switching_returns` and the hidden state (0 trend, 1 revert)."""

    returns: np.ndarray
    state: np.ndarray


def regime_switching_returns(
    n: int,
    p_stay: tuple[float, float] = (0.99, 0.99),
    trend_mu: float = 0.001,
    revert_phi: float = -0.4,
    sigma: float = 0.01,
    seed: Seed = 0,
) -> RegimePath:
    """Two-state Markov switching between a trend and a mean-reverting regime.

    State 0 (trend): ``r_t = trend_mu + sigma e_t``; state 1 (mean reversion):
    ``r_t = revert_phi r_{t-1} + sigma e_t``. ``P(s_t = i | s_{t-1} = i) = p_stay[i]``, so
    the expected regime length is ``1 / (1 - p_stay[i])``. The chain starts from its
    stationary distribution (Hamilton 1989).

    Parameters
    ----------
    n : int
        Number of returns.
    p_stay : tuple of float, default (0.99, 0.99)
        Probabilities of staying in state 0 and in state 1.
    trend_mu : float, default 0.001
        Mean return of the trend regime.
    revert_phi : float, default -0.4
        AR(1) coefficient of the mean-reverting regime.
    sigma : float, default 0.01
        Innovation standard deviation of both regimes.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    RegimePath
        The returns and the hidden state per step.
    """
    rng = _rng(seed)
    p0, p1 = p_stay
    pi0 = (1 - p1) / ((1 - p0) + (1 - p1))
    u = rng.random(n)
    e = rng.standard_normal(n)
    state = np.empty(n, dtype=np.int8)
    r = np.empty(n)
    s = 0 if rng.random() < pi0 else 1
    prev = 0.0
    for t in range(n):
        if t and u[t] > (p0 if s == 0 else p1):
            s = 1 - s
        prev = (trend_mu if s == 0 else revert_phi * prev) + sigma * e[t]
        state[t], r[t] = s, prev
    return RegimePath(returns=r, state=state)


# --------------------------------------------------------------------------- bars


def bars_from_returns(
    log_returns: np.ndarray,
    start_price: float = 100.0,
    start: str | pd.Timestamp = "2024-01-01",
    freq: str = "1h",
    wick_scale: float = 0.5,
    mean_volume: float = 100.0,
    seed: Seed = 0,
) -> pd.DataFrame:
    """Build a valid OHLCV frame whose close-to-close log returns are ``log_returns``.

    ``close_t = start_price * exp(cumsum r)``, ``open_t = close_{t-1}`` (``start_price`` for the
    first bar). Wicks extend the body by ``|N(0, 1)| * wick_scale * s`` in log terms, where
    ``s`` is the sample standard deviation of the returns, so
    ``high >= max(open, close)`` and ``low <= min(open, close)`` hold by construction.
    Volume is Gamma(2, mean_volume / 2), scaled up by ``1 + |r_t| / s`` (busier bars move
    more). The index is a UTC ``DatetimeIndex`` named ``timestamp`` with step ``freq``.

    Parameters
    ----------
    log_returns : numpy.ndarray
        Close-to-close log returns, 1-D, finite, non-empty.
    start_price : float, default 100.0
        Open of the first bar.
    start : str or pandas.Timestamp, default "2024-01-01"
        Open time of the first bar (UTC).
    freq : str, default "1h"
        Bar spacing.
    wick_scale : float, default 0.5
        Wick size in units of the returns' standard deviation.
    mean_volume : float, default 100.0
        Mean of the Gamma volume before the activity scaling.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    pandas.DataFrame
        Bars valid under :func:`~crypto_strategy_lab.data.schema.validate_ohlcv`.

    Raises
    ------
    ValueError
        If `log_returns` is empty, not 1-D or not finite.
    """
    r = np.asarray(log_returns, dtype=float)
    if r.ndim != 1 or r.size == 0 or not np.all(np.isfinite(r)):
        raise ValueError("log_returns must be a non-empty 1-D array of finite values")
    rng = _rng(seed)
    n = r.size
    log_close = np.log(start_price) + np.cumsum(r)
    log_open = np.concatenate([[np.log(start_price)], log_close[:-1]])
    scale = float(np.std(r)) or 1e-4
    up = np.abs(rng.standard_normal(n)) * wick_scale * scale
    down = np.abs(rng.standard_normal(n)) * wick_scale * scale
    high = np.exp(np.maximum(log_open, log_close) + up)
    low = np.exp(np.minimum(log_open, log_close) - down)
    open_, close = np.exp(log_open), np.exp(log_close)
    # exp() of the max/min can round below the body by one ulp; pin the invariant exactly.
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))
    volume = rng.gamma(2.0, mean_volume / 2.0, n) * (1.0 + np.abs(r) / scale)
    index = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=n, freq=freq, name="timestamp")
    bars = pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )
    return validate_ohlcv(bars)


def gbm_bars(
    n: int, mu: float = 0.0, sigma: float = 0.01, seed: int = 0, freq: str = "1h"
) -> pd.DataFrame:
    """OHLCV bars of a GBM (per-bar ``mu`` and ``sigma``, ``dt = 1``).

    Parameters
    ----------
    n : int
        Number of bars.
    mu, sigma : float, default 0.0 and 0.01
        Drift and volatility per bar.
    seed : int, default 0
        Seed; the returns and the bars' wicks and volumes share one generator.
    freq : str, default "1h"
        Bar spacing of the UTC index.

    Returns
    -------
    pandas.DataFrame
        Bars from :func:`bars_from_returns`.
    """
    rng = _rng(seed)
    return bars_from_returns(gbm_returns(n, mu, sigma, seed=rng), freq=freq, seed=rng)


def ar_bars(
    n: int, coefs: float | list[float], sigma: float = 0.01, seed: int = 0, freq: str = "1h"
) -> pd.DataFrame:
    """OHLCV bars whose log returns follow AR(p) with coefficients ``coefs``.

    Parameters
    ----------
    n : int
        Number of bars.
    coefs : float or list of float
        AR coefficients (stationary).
    sigma : float, default 0.01
        Innovation standard deviation.
    seed : int, default 0
        Seed; the returns and the bars' wicks and volumes share one generator.
    freq : str, default "1h"
        Bar spacing of the UTC index.

    Returns
    -------
    pandas.DataFrame
        Bars from :func:`bars_from_returns`.
    """
    rng = _rng(seed)
    return bars_from_returns(ar_returns(n, coefs, sigma, seed=rng), freq=freq, seed=rng)


def fbm_bars(
    n: int, hurst: float, sigma: float = 0.01, seed: int = 0, freq: str = "1h"
) -> pd.DataFrame:
    """OHLCV bars whose log price is fBm (log returns are fGn with Hurst ``hurst``).

    Parameters
    ----------
    n : int
        Number of bars.
    hurst : float
        Hurst exponent in (0, 1).
    sigma : float, default 0.01
        Standard deviation of the log returns.
    seed : int, default 0
        Seed; the returns and the bars' wicks and volumes share one generator.
    freq : str, default "1h"
        Bar spacing of the UTC index.

    Returns
    -------
    pandas.DataFrame
        Bars from :func:`bars_from_returns`.
    """
    rng = _rng(seed)
    return bars_from_returns(
        fractional_gaussian_noise(n, hurst, sigma, seed=rng), freq=freq, seed=rng
    )


def garch_bars(
    n: int,
    omega: float = 1e-6,
    alpha: float = 0.08,
    beta: float = 0.9,
    seed: int = 0,
    freq: str = "1h",
) -> pd.DataFrame:
    """OHLCV bars whose log returns follow GARCH(1,1).

    Parameters
    ----------
    n : int
        Number of bars.
    omega, alpha, beta : float, default 1e-6, 0.08, 0.9
        GARCH parameters (:func:`garch11_returns`).
    seed : int, default 0
        Seed; the returns and the bars' wicks and volumes share one generator.
    freq : str, default "1h"
        Bar spacing of the UTC index.

    Returns
    -------
    pandas.DataFrame
        Bars from :func:`bars_from_returns`.
    """
    rng = _rng(seed)
    path = garch11_returns(n, omega, alpha, beta, seed=rng)
    return bars_from_returns(path.returns, freq=freq, seed=rng)


def sine_bars(
    n: int,
    period: float,
    amplitude: float = 0.002,
    sigma: float = 0.005,
    seed: int = 0,
    freq: str = "1h",
) -> pd.DataFrame:
    """OHLCV bars whose log returns are a sine of period ``period`` bars plus noise.

    Parameters
    ----------
    n : int
        Number of bars.
    period : float
        Cycle length in bars.
    amplitude, sigma : float, default 0.002 and 0.005
        Cycle amplitude and noise standard deviation (:func:`sine_plus_noise`).
    seed : int, default 0
        Seed; the returns and the bars' wicks and volumes share one generator.
    freq : str, default "1h"
        Bar spacing of the UTC index.

    Returns
    -------
    pandas.DataFrame
        Bars from :func:`bars_from_returns`.
    """
    rng = _rng(seed)
    r = sine_plus_noise(n, period, amplitude, sigma, seed=rng)
    return bars_from_returns(r, freq=freq, seed=rng)


def regime_switching_bars(
    n: int, p_stay: tuple[float, float] = (0.99, 0.99), seed: int = 0, freq: str = "1h"
) -> pd.DataFrame:
    """OHLCV bars from :func:`regime_switching_returns`, with the hidden ``regime`` column.

    Parameters
    ----------
    n : int
        Number of bars.
    p_stay : tuple of float, default (0.99, 0.99)
        Staying probabilities of the two regimes.
    seed : int, default 0
        Seed; the returns and the bars' wicks and volumes share one generator.
    freq : str, default "1h"
        Bar spacing of the UTC index.

    Returns
    -------
    pandas.DataFrame
        Bars from :func:`bars_from_returns`.
    """
    rng = _rng(seed)
    path = regime_switching_returns(n, p_stay, seed=rng)
    bars = bars_from_returns(path.returns, freq=freq, seed=rng)
    bars["regime"] = path.state
    return bars


# --------------------------------------------------------------------------- trades


@dataclass(frozen=True)
class TradeStream:
    """Trades from :func:`informed_trade_stream` and the hidden event of each period.

    ``events`` is indexed by period start with column ``event`` in {0 none, +1 good news,
    -1 bad news}, plus the true ``pin``.
    """

    trades: pd.DataFrame
    events: pd.DataFrame
    pin: float


def informed_trade_stream(
    n_periods: int = 200,
    alpha: float = 0.4,
    delta: float = 0.5,
    mu: float = 60.0,
    eps: float = 40.0,
    period: str = "5min",
    start: str = "2024-01-01",
    price0: float = 100.0,
    impact: float = 2e-4,
    noise_sigma: float = 1e-4,
    mean_size: float = 1.0,
    seed: Seed = 0,
) -> TradeStream:
    """A trade tape with informed order flow from the PIN model (EKOP 1996).

    Per period: with probability ``alpha`` an information event (bad news with probability
    ``delta``). Uninformed buys ~ Poisson(eps), uninformed sells ~ Poisson(eps); informed
    trades ~ Poisson(mu) on the news side. Trades are placed at uniform random times inside
    the period. The log price moves by ``impact`` per signed trade (+ buy, - sell) plus
    N(0, noise_sigma) noise, so informed flow also moves prices. Sizes are exponential with
    mean ``mean_size``.

    Parameters
    ----------
    n_periods : int, default 200
        Number of periods.
    alpha : float, default 0.4
        Probability of an information event per period.
    delta : float, default 0.5
        Probability that an event is bad news.
    mu : float, default 60.0
        Informed trade arrival rate per event period.
    eps : float, default 40.0
        Uninformed buy (and sell) arrival rate per period.
    period : str, default "5min"
        Period length.
    start : str, default "2024-01-01"
        First period's start (UTC).
    price0 : float, default 100.0
        Starting price.
    impact : float, default 2e-4
        Log-price move per signed trade.
    noise_sigma : float, default 1e-4
        Standard deviation of the per-trade log-price noise.
    mean_size : float, default 1.0
        Mean trade size.
    seed : int or numpy.random.Generator, default 0
        Seed or generator (deterministic given it).

    Returns
    -------
    TradeStream
        ``trades`` with columns ``timestamp`` (UTC, non-decreasing), ``price``, ``size``,
        ``side`` (aggressor, "buy"/"sell"); ``events``; ``pin = alpha mu / (alpha mu + 2 eps)``.
    """
    rng = _rng(seed)
    starts = pd.date_range(pd.Timestamp(start, tz="UTC"), periods=n_periods, freq=period)
    width_ns = pd.Timedelta(period).value
    has_event = rng.random(n_periods) < alpha
    bad = rng.random(n_periods) < delta
    event = np.where(has_event, np.where(bad, -1, 1), 0)
    buys = rng.poisson(eps, n_periods) + np.where(event == 1, rng.poisson(mu, n_periods), 0)
    sells = rng.poisson(eps, n_periods) + np.where(event == -1, rng.poisson(mu, n_periods), 0)
    counts = buys + sells
    total = int(counts.sum())
    period_of = np.repeat(np.arange(n_periods), counts)
    is_buy = np.concatenate(
        [
            rng.permutation(np.r_[np.ones(b, bool), np.zeros(s, bool)])
            for b, s in zip(buys, sells, strict=True)
        ]
    )
    offsets = np.concatenate([np.sort(rng.integers(0, width_ns, c)) for c in counts])
    ts = starts.as_unit("ns").asi8[period_of] + offsets
    signed = np.where(is_buy, 1.0, -1.0)
    log_price = np.log(price0) + np.cumsum(
        impact * signed + noise_sigma * rng.standard_normal(total)
    )
    trades = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(ts, unit="ns", utc=True),
            "price": np.exp(log_price),
            "size": rng.exponential(mean_size, total),
            "side": np.where(is_buy, "buy", "sell"),
        }
    )
    events = pd.DataFrame(
        {"event": event, "buys": buys, "sells": sells},
        index=pd.DatetimeIndex(starts, name="timestamp"),
    )
    return TradeStream(trades=trades, events=events, pin=alpha * mu / (alpha * mu + 2 * eps))
