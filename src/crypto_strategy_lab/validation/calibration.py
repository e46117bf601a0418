"""Gate calibration on noise shaped like the real search: family-wise false passes and power.

A gate is calibrated for the search it judges. A *search* here is what one data family saw:
``n_strategies`` strategies, each a study of ``n_configs`` configurations over ``n_obs`` bars,
the configurations of one strategy correlated ``rho`` with each other (neighbouring parameters
trade alike). The simulated search goes through the lab's own pipeline: each strategy selects
its best full-sample configuration; **DSR deflates it by every trial of the search**
(``n_strategies * n_configs`` and the variance of all their Sharpe ratios, what the trial log's
family holds); the track record is counted in bets when positions exist; PBO is CSCV over the
strategy's matrix; walk-forward selects in-sample. The **family-wise false-pass rate** is the
share of null searches in which *at least one* strategy passes — what a user who picks
whatever passes is exposed to; the per-strategy rate is quoted beside it.

Two kinds of noise (``noise=``):

* ``"t"``: Student-t(``df``) returns (fat tails, raw kurtosis 3 + 6/(df-4)), a common factor
  of correlation ``rho`` within each strategy, every bar a bet;
* ``"bootstrap"``: built from the data itself. The asset's own bar returns are resampled by
  the stationary bootstrap (Politis & Romano 1994, mean block ``block`` bars: fat tails and
  volatility clustering kept, any predictability destroyed), and each configuration trades
  them with a *random signal that has the grid's turnover*: the sign of a Gaussian AR(1)
  latent, flat when ``|z| < q``, so that the time in market and the mean bars per bet match
  the study's, and the latents of one strategy share a factor ``lambda`` chosen so that the
  configurations' return correlation is ``rho`` (closed form below). The position is
  independent of the returns, so every configuration's true Sharpe ratio is 0.

For ``p = sign(z) 1{|z| > q}`` with ``z_j, z_k`` standard normal of correlation ``lambda``,
``E[p_j p_k] = 2 (Phi2(-q, -q; lambda) - Phi2(-q, -q; -lambda))`` and
``E[p^2] = 2 (1 - Phi(q))``; returns ``p_t r_t`` with ``r`` independent of ``p`` then
correlate ``E[p_j p_k] / E[p^2]``, which is solved for ``lambda``.

**Power** is quoted for planted edges given as *annualised* Sharpe ratios at the data's length
and bar size: the first configuration of the first strategy earns a per-bar Sharpe ratio
``SR_annual / sqrt(periods_per_year)`` (on its active bars).

PBO and walk-forward are computed only for strategies that already pass DSR and the track
record (the verdict is a conjunction, so the pass rates are exact); their per-criterion rates
are therefore conditional on the first two passing.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.signal import lfilter
from scipy.stats import multivariate_normal, norm

from crypto_strategy_lab.performance.metrics import ReturnMoments, return_moments, sharpe_ratios
from crypto_strategy_lab.validation.bets import bets_of
from crypto_strategy_lab.validation.gate import GateConfig, GateInputs, GateVerdict, evaluate_gate
from crypto_strategy_lab.validation.pbo import probability_of_backtest_overfitting
from crypto_strategy_lab.validation.splits import walk_forward_splits
from crypto_strategy_lab.validation.walk_forward import walk_forward_select

# bump when the simulation changes: cached calibrations of an older version are not reused
CALIBRATION_VERSION = 3
CHEAP = ("dsr", "track_record")


@dataclass(frozen=True)
class SearchShape:
    """The shape of the search a gate is calibrated for (module docstring)."""

    n_strategies: int = 1
    n_configs: int = 20
    n_obs: int = 1000
    rho: float = 0.3
    periods_per_year: float = 365.0
    time_in_market: float = 1.0
    bars_per_bet: float = 1.0


@dataclass(frozen=True)
class CalibrationResult:
    """Pass rates over ``n_families`` simulated searches.

    ``pass_rate`` is family-wise (at least one strategy of the search passes);
    ``strategy_pass_rate`` the share of all simulated strategies that pass.
    """

    pass_rate: float
    n_families: int
    criterion_pass_rates: dict[str, float]
    settings: dict[str, float | int | str] = field(default_factory=dict)
    strategy_pass_rate: float = math.nan


def _position_correlation(lam: float, q: float) -> float:
    tim = 2.0 * (1.0 - norm.cdf(q))
    if q == 0.0:  # sign(z): E[p_j p_k] = 1 - 4 P(z_j > 0, z_k < 0) = (2/pi) asin(lambda)
        return float(2.0 / math.pi * math.asin(lam))
    both = multivariate_normal(mean=[0, 0], cov=[[1, lam], [lam, 1]]).cdf([-q, -q])
    opposite = multivariate_normal(mean=[0, 0], cov=[[1, -lam], [-lam, 1]]).cdf([-q, -q])
    return float(2.0 * (both - opposite) / tim)


def latent_loading(rho: float, time_in_market: float) -> float:
    """The latent factor correlation ``lambda`` whose positions' returns correlate ``rho``.

    Parameters
    ----------
    rho : float
        Target return correlation between two configurations of one strategy.
    time_in_market : float
        Share of bars with a position, in (0, 1]; sets the flat band ``q`` of the signal.

    Returns
    -------
    float
        ``lambda`` in [0, 0.999], solved by Brent's method on the closed form of the module
        docstring; capped at 0.999 for ``rho >= 0.999``, and ``0`` when there is nothing to
        match: no positive correlation, or a grid that never held a position (its
        correlation is undefined and a zero time in market has no quantile).
    """
    if not math.isfinite(rho) or rho <= 0.0 or time_in_market <= 0.0:
        return 0.0
    if rho >= 0.999:
        return 0.999
    q = float(norm.ppf(1.0 - time_in_market / 2.0)) if time_in_market < 1.0 else 0.0
    return float(brentq(lambda lam: _position_correlation(lam, q) - rho, 0.0, 0.9999))


def _ar1(rng: np.random.Generator, phi: float, shape: tuple[int, int]) -> np.ndarray:
    """Unit-variance Gaussian AR(1) columns, started in their stationary law."""
    eps = rng.standard_normal(shape) * math.sqrt(1.0 - phi * phi)
    eps[0] = rng.standard_normal(shape[1])
    return lfilter([1.0], [1.0, -phi], eps, axis=0)


def _phi_for(bars_per_bet: float) -> float:
    # a latent with correlation time h crosses zero about every (pi/2) h bars; runs of one
    # sign then last ~ bars_per_bet: an approximation (the report states the measured value)
    if bars_per_bet <= 1.0:
        return 0.0
    return float(math.exp(-math.pi / (2.0 * bars_per_bet)))


def stationary_bootstrap(
    rng: np.random.Generator, x: np.ndarray, n: int, block: float
) -> np.ndarray:
    """``n`` draws of the stationary bootstrap of ``x`` (Politis & Romano 1994).

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    x : numpy.ndarray
        The series resampled (wrapped around circularly).
    n : int
        Number of draws.
    block : float
        Mean block length; blocks are geometric with ``P(new block) = 1 / block``.

    Returns
    -------
    numpy.ndarray
        ``n`` values: blocks of consecutive ``x`` starting at uniform positions.
    """
    new_block = rng.random(n) < 1.0 / max(block, 1.0)
    new_block[0] = True
    first = np.flatnonzero(new_block)  # the bar each block starts at
    block_of = np.cumsum(new_block) - 1
    starts = rng.integers(0, x.size, first.size)
    offset = np.arange(n) - first[block_of]
    return x[(starts[block_of] + offset) % x.size]


def simulate_search(
    rng: np.random.Generator,
    shape: SearchShape,
    *,
    noise: str = "t",
    returns: np.ndarray | None = None,
    edge_sr_annual: float = 0.0,
    df: float = 5.0,
    vol: float = 0.01,
    block: float = 48.0,
) -> list[tuple[pd.DataFrame, np.ndarray | None]]:
    """One simulated search (module docstring).

    Returns, per strategy, its ``(n_obs, n_configs)`` returns and positions (``None`` for
    ``"t"`` noise: every bar a bet).

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.
    shape : SearchShape
        The search simulated.
    noise : {"t", "bootstrap"}, default "t"
        Student-t factor noise, or the bootstrap of `returns` traded by random signals.
    returns : numpy.ndarray, optional
        The asset's per-bar returns (bootstrap noise only).
    edge_sr_annual : float, default 0.0
        Annualised Sharpe ratio planted in the first configuration of the first strategy.
    df : float, default 5.0
        Degrees of freedom of the Student-t noise (> 2).
    vol : float, default 0.01
        Per-bar volatility of the t noise.
    block : float, default 48.0
        Mean block length of the bootstrap.

    Returns
    -------
    list of (pandas.DataFrame, numpy.ndarray or None)
        One ``(returns, positions)`` pair per strategy.

    Raises
    ------
    ValueError
        If `noise` is unknown or bootstrap noise has no `returns`.
    """
    n, k = shape.n_obs, shape.n_configs
    index = pd.date_range("2020-01-01", periods=n, freq="1h", tz="UTC")
    edge = edge_sr_annual / math.sqrt(shape.periods_per_year)
    out: list[tuple[pd.DataFrame, np.ndarray | None]] = []
    if noise == "t":
        scale = math.sqrt((df - 2.0) / df)  # unit-variance Student-t
        for s in range(shape.n_strategies):
            common = rng.standard_t(df, size=(n, 1)) * scale
            own = rng.standard_t(df, size=(n, k)) * scale
            r = vol * (math.sqrt(shape.rho) * common + math.sqrt(1.0 - shape.rho) * own)
            if s == 0:
                r[:, 0] += edge * vol
            out.append((pd.DataFrame(r, index=index), None))
        return out
    if noise != "bootstrap":
        raise ValueError(f"unknown noise {noise!r}; use 't' or 'bootstrap'")
    if returns is None or returns.size < 2:
        raise ValueError("bootstrap noise needs the asset's returns")
    asset = stationary_bootstrap(rng, np.asarray(returns, dtype=float), n, block)
    lam = latent_loading(shape.rho, shape.time_in_market)
    phi = _phi_for(shape.bars_per_bet)
    tim = shape.time_in_market
    q = float(norm.ppf(1.0 - tim / 2.0)) if tim < 1.0 else 0.0
    for s in range(shape.n_strategies):
        z = math.sqrt(lam) * _ar1(rng, phi, (n, 1)) + math.sqrt(1.0 - lam) * _ar1(rng, phi, (n, k))
        pos = np.where(np.abs(z) > q, np.sign(z), 0.0)
        r = pos * asset[:, None]
        if s == 0 and edge:
            active = np.abs(pos[:, 0])
            # the edge is earned on the active bars; its mean over all bars is edge * sd
            r[:, 0] += active * edge * r[:, 0].std() / max(active.mean(), 1e-12)
        out.append((pd.DataFrame(r, index=index), pos.astype(np.int8)))
    return out


def _bet_inputs(
    returns: pd.Series, positions: np.ndarray | None
) -> tuple[ReturnMoments | None, float]:
    if positions is None:
        return None, 1.0
    bets = bets_of(returns.to_numpy(), positions)
    if bets.n_bets < 2:
        return ReturnMoments(0.0, bets.n_bets, 0.0, 3.0), bets.bars_per_bet
    return return_moments(bets.returns), bets.bars_per_bet


def evaluate_search(
    search: Sequence[tuple[pd.DataFrame, np.ndarray | None]],
    config: GateConfig,
    n_wf_splits: int = 4,
) -> list[GateVerdict]:
    """The gate's verdict on every strategy of one search (DSR deflated by all its trials).

    Parameters
    ----------
    search : sequence of (pandas.DataFrame, numpy.ndarray or None)
        Per strategy, its configurations' returns and positions (:func:`simulate_search`).
    config : GateConfig
        The gate.
    n_wf_splits : int, default 4
        Walk-forward folds.

    Returns
    -------
    list of GateVerdict
        One verdict per strategy, for its best full-sample configuration; PBO and
        walk-forward are computed only when DSR and the track record pass.
    """
    srs = [sharpe_ratios(m) for m, _ in search]
    every = np.concatenate([s.to_numpy() for s in srs])
    n_trials = int(every.size)
    variance = float(np.var(every, ddof=1)) if every.size > 1 else 0.0
    cheap = tuple(c for c in config.criteria if c in CHEAP)
    cheap_cfg = config.model_copy(update={"criteria": cheap})
    verdicts = []
    for (matrix, positions), sr in zip(search, srs, strict=True):
        best = int(np.argmax(sr.to_numpy()))
        column = matrix.iloc[:, best]
        bets, bars_per_bet = _bet_inputs(column, None if positions is None else positions[:, best])
        inputs = GateInputs(
            strategy=f"config {best}",
            moments=return_moments(column),
            n_trials=n_trials,
            sr_variance=variance,
            pbo=None,
            walk_forward_sharpe=None,
            bets=bets,
            bars_per_bet=bars_per_bet,
        )
        # without a cheap criterion there is nothing to screen by (a verdict of no criteria
        # never passes): the full gate at once
        verdict = evaluate_gate(inputs, cheap_cfg) if cheap else None
        if verdict is None or (verdict.passed and len(cheap) < len(config.criteria)):
            wf = walk_forward_select(matrix, walk_forward_splits(len(matrix), n_splits=n_wf_splits))
            pbo = probability_of_backtest_overfitting(matrix, n_splits=config.pbo_splits)
            inputs = replace(inputs, pbo=pbo, walk_forward_sharpe=wf.oos_sharpe)
            verdict = evaluate_gate(inputs, config)
        verdicts.append(verdict)
    return verdicts


def gate_pass_rate(
    *,
    n_families: int = 200,
    shape: SearchShape | None = None,
    noise: str = "t",
    returns: np.ndarray | None = None,
    edge_sr_annual: float = 0.0,
    df: float = 5.0,
    seed: int = 0,
    config: GateConfig | None = None,
    on_family: Callable[[], None] | None = None,
) -> CalibrationResult:
    """Pass rates of the gate over ``n_families`` simulated searches (module docstring).

    With ``edge_sr_annual = 0`` this is the false-pass rate; with an edge, the power.

    Parameters
    ----------
    n_families : int, default 200
        Simulated searches.
    shape : SearchShape, optional
        The search (default :class:`SearchShape`).
    noise : {"t", "bootstrap"}, default "t"
        The noise (:func:`simulate_search`).
    returns : numpy.ndarray, optional
        The asset's returns, for bootstrap noise.
    edge_sr_annual : float, default 0.0
        Planted annualised Sharpe ratio.
    df : float, default 5.0
        Student-t degrees of freedom.
    seed : int, default 0
        Seed of the searches.
    config : GateConfig, optional
        The gate (default :class:`GateConfig`).
    on_family : callable, optional
        Called after each simulated search (a progress bar's advance).

    Returns
    -------
    CalibrationResult
        Family-wise and per-strategy pass rates and the per-criterion rates (PBO and
        walk-forward conditional on the first two criteria passing).
    """
    cfg = config or GateConfig()
    shape = shape or SearchShape()
    rng = np.random.default_rng(seed)
    family_passes = strategy_passes = 0
    by_criterion = dict.fromkeys(cfg.criteria, 0)
    evaluated = dict.fromkeys(cfg.criteria, 0)
    for _ in range(n_families):
        search = simulate_search(
            rng, shape, noise=noise, returns=returns, edge_sr_annual=edge_sr_annual, df=df
        )
        verdicts = evaluate_search(search, cfg)
        family_passes += any(v.passed for v in verdicts)
        strategy_passes += sum(v.passed for v in verdicts)
        for v in verdicts:
            for c in v.criteria:
                by_criterion[c.name] += c.passed
                evaluated[c.name] += 1
        if on_family is not None:
            on_family()
    settings: dict[str, float | int | str] = {
        **asdict(shape),
        "noise": noise,
        "edge_sr_annual": edge_sr_annual,
        "df": df,
        "seed": seed,
        "pbo_splits": cfg.pbo_splits,
    }
    return CalibrationResult(
        family_passes / n_families,
        n_families,
        {k: by_criterion[k] / evaluated[k] if evaluated[k] else math.nan for k in cfg.criteria},
        settings,
        strategy_passes / (n_families * shape.n_strategies),
    )


def calibrate_gate(
    *,
    n_families: int = 500,
    shape: SearchShape | None = None,
    noise: str = "t",
    returns: np.ndarray | None = None,
    edges_annual: Sequence[float] = (1.0, 2.0, 3.0),
    seed: int = 0,
    config: GateConfig | None = None,
    on_family: Callable[[], None] | None = None,
) -> dict[str, CalibrationResult]:
    """False-pass rate and power of the gate on simulated searches (module docstring).

    Parameters
    ----------
    n_families : int, default 500
        Simulated searches per rate.
    shape : SearchShape, optional
        The search to calibrate for. Default: the full-size run of
        ``benchmarks/backtest.py``, 12 strategies of 6 configurations (``rho`` 0.5) over
        17,520 hourly bars (two years, ``periods_per_year`` 8760).
    noise : {"t", "bootstrap"}, default "t"
        Student-t factor noise, or the stationary bootstrap of `returns` traded by random
        signals with the study's turnover.
    returns : numpy.ndarray, optional
        The asset's per-bar returns; required for ``noise="bootstrap"``.
    edges_annual : sequence of float, default (1.0, 2.0, 3.0)
        Planted edges, as **annualised** Sharpe ratios (converted to per bar with
        ``sqrt(shape.periods_per_year)``), at which the power is measured.
    seed : int, default 0
        Seed of the null searches; the edge ``i`` uses ``seed + 1 + i``.
    config : GateConfig, optional
        Thresholds of the gate (default :class:`GateConfig`).
    on_family : callable, optional
        Called after each of the ``n_families * (1 + len(edges_annual))`` searches (a
        progress bar's advance).

    Returns
    -------
    dict of str to CalibrationResult
        ``"false_pass"`` (edge 0) and ``"power@<edge>"`` per edge (e.g. ``"power@2"``), each
        with the family-wise and per-strategy pass rates and the per-criterion rates.

    Raises
    ------
    ValueError
        If `noise` is unknown or bootstrap noise has no `returns`.

    References
    ----------
    Politis, D. N. and Romano, J. P. (1994). "The Stationary Bootstrap". Journal of the
    American Statistical Association 89(428), 1303-1313.
    """
    shape = shape or SearchShape(12, 6, 17_520, 0.5, 8760.0)
    common = {
        "n_families": n_families,
        "shape": shape,
        "noise": noise,
        "returns": returns,
        "config": config,
        "on_family": on_family,
    }
    out = {"false_pass": gate_pass_rate(edge_sr_annual=0.0, seed=seed, **common)}
    for i, edge in enumerate(edges_annual):
        out[f"power@{edge:g}"] = gate_pass_rate(edge_sr_annual=edge, seed=seed + 1 + i, **common)
    return out


def calibration_key(**inputs: object) -> str:
    """SHA-256 of the canonical JSON of a calibration's inputs (and the simulation version).

    Parameters
    ----------
    **inputs : object
        The calibration's inputs by name (e.g. ``n_families``, ``shape``, ``config``).
        Serialised with sorted keys and compact separators; values JSON cannot encode are
        written as their ``str()``, so two inputs with the same ``str()`` share a key.

    Returns
    -------
    str
        64 hex characters; the cache key of :func:`cached_calibration`.
    """
    text = json.dumps(
        {"version": CALIBRATION_VERSION, **inputs},
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached_calibration(
    cache_dir: Path | None, key: str, compute: Callable[[], dict[str, CalibrationResult]]
) -> tuple[dict[str, CalibrationResult], bool]:
    """``compute()``'s results, cached in ``<cache_dir>/<key>.json``.

    Parameters
    ----------
    cache_dir : pathlib.Path or None
        Cache directory; ``None`` always computes.
    key : str
        Cache key (:func:`calibration_key`).
    compute : callable
        Computes the results on a miss.

    Returns
    -------
    results, from_cache : dict of str to CalibrationResult, bool
        Read from the file when it exists and is readable, otherwise computed and written
        there (atomically).
    """
    path = None if cache_dir is None else Path(cache_dir) / f"{key}.json"
    if path is not None and path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return {k: CalibrationResult(**v) for k, v in raw.items()}, True
        except (ValueError, TypeError):
            pass  # an unreadable cache entry is recomputed
    results = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: asdict(v) for k, v in results.items()}), encoding="utf-8")
        tmp.replace(path)
    return results, False
