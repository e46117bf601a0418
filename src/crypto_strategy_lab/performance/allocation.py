"""Strategy budgets: how much of the account each strategy of a book may trade.

One rule for the research book (:mod:`crypto_strategy_lab.research.book`) and the trading
side (``engine.paper.sleeve_budgets``, ``portfolio.target_weights``), so a validated book is
the book that is deployed. For strategies ``s`` with per-period return mean ``μ_s``, variance
``σ_s²``, the budget ``b_s`` (fraction of equity per unit of signal) is

* ``equal``: ``b_s = G / N``;
* ``inverse_volatility``: ``b_s = G · σ_s⁻¹ / Σ_j σ_j⁻¹`` — the "naive risk parity" of
  Maillard, Roncalli & Teïletche (2010), exact risk parity when the strategies are
  uncorrelated;
* ``fractional_kelly``: ``b_s = c · max(0, μ_s / σ_s²)`` — a fraction ``c`` of the
  growth-optimal Kelly bet (Thorp 2006); not normalised (Kelly says how much, not how to
  split), and strategies without an edge get nothing;

with ``G`` the gross cap and ``N`` the number of strategies. :func:`capped_budgets` then
applies the per-strategy cap (``b_s ≤ cap``) and the gross cap (``Σ b_s ≤ G``, by scaling
every budget by ``G / Σ b_s``, which keeps the proportions and can only lower a budget).

References
----------
Maillard, S., Roncalli, T., Teïletche, J. (2010). The properties of equally weighted risk
contribution portfolios. Journal of Portfolio Management 36(4), 60-70.
Thorp, E. O. (2006). The Kelly criterion in blackjack, sports betting and the stock market.
Handbook of Asset and Liability Management 1, 385-428.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.errors import CSLError

WeightingMethod = Literal["inverse_volatility", "fractional_kelly", "equal"]
METHODS: tuple[str, ...] = ("inverse_volatility", "fractional_kelly", "equal")


class PortfolioError(CSLError):
    """Inputs that cannot be combined into weights (missing or invalid statistics)."""


def _series(values: Mapping[str, float] | pd.Series, name: str, names: pd.Index) -> pd.Series:
    series = pd.Series(values, dtype=float)
    missing = names.difference(series.index)
    if len(missing):
        raise PortfolioError(f"{name} missing for strateg(ies): {', '.join(map(str, missing))}")
    series = series.reindex(names)
    if not np.isfinite(series.to_numpy()).all():
        raise PortfolioError(f"{name} must be finite numbers, got {series.to_dict()}")
    return series


def budgets(
    method: WeightingMethod,
    names: pd.Index,
    *,
    max_gross: float,
    volatilities: Mapping[str, float] | pd.Series | None = None,
    means: Mapping[str, float] | pd.Series | None = None,
    variances: Mapping[str, float] | pd.Series | None = None,
    kelly_fraction: float = 0.5,
) -> pd.Series:
    """Per-strategy budgets ``b_s`` of the module docstring, before caps.

    :func:`budget_rows` is the arithmetic; this function checks every statistic first.

    Parameters
    ----------
    method : {"inverse_volatility", "fractional_kelly", "equal"}
        The weighting rule.
    names : pandas.Index
        Strategy names, in the order of the result.
    max_gross : float
        Gross cap ``G`` (fraction of equity), used by ``equal`` and ``inverse_volatility``.
    volatilities : mapping or pandas.Series, optional
        Per-period return volatility per name; required (and > 0) for
        ``inverse_volatility``.
    means, variances : mapping or pandas.Series, optional
        Per-period return mean and variance (> 0) per name; required for
        ``fractional_kelly``.
    kelly_fraction : float, default 0.5
        Fraction ``c`` of the Kelly bet, in (0, 1].

    Returns
    -------
    pandas.Series
        Budget per name (fraction of equity per unit of signal), indexed by `names`.

    Raises
    ------
    PortfolioError
        If the method is unknown, a statistic it needs is missing, not finite or not
        positive, or `kelly_fraction` is outside (0, 1].
    """
    n = len(names)
    nan = np.full(n, np.nan)
    if method == "equal":
        raw = budget_rows("equal", nan, nan, nan, max_gross=max_gross)
        return pd.Series(raw, index=names)
    if method == "inverse_volatility":
        if volatilities is None:
            raise PortfolioError("inverse_volatility weighting needs volatilities")
        vol = _series(volatilities, "volatility", names)
        if (vol <= 0).any():
            raise PortfolioError(f"volatilities must be > 0, got {vol.to_dict()}")
        raw = budget_rows(method, nan, nan, vol.to_numpy(), max_gross=max_gross)
        return pd.Series(raw, index=names)
    if method == "fractional_kelly":
        if means is None or variances is None:
            raise PortfolioError("fractional_kelly weighting needs return means and variances")
        if not 0 < kelly_fraction <= 1:
            raise PortfolioError(f"kelly_fraction must be in (0, 1], got {kelly_fraction}")
        mu = _series(means, "mean return", names)
        var = _series(variances, "return variance", names)
        if (var <= 0).any():
            raise PortfolioError(f"return variances must be > 0, got {var.to_dict()}")
        raw = budget_rows(
            method, mu.to_numpy(), var.to_numpy(), nan, max_gross=max_gross,
            kelly_fraction=kelly_fraction,
        )  # fmt: skip
        return pd.Series(raw, index=names)
    raise PortfolioError(f"unknown weighting {method!r}; choose one of {', '.join(METHODS)}")


def budget_rows(
    method: str,
    mean: np.ndarray,
    variance: np.ndarray,
    volatility: np.ndarray,
    *,
    max_gross: float,
    kelly_fraction: float = 0.5,
) -> np.ndarray:
    """Raw budgets (before caps) for each row of ``(..., N)`` per-period statistics.

    Parameters
    ----------
    method : {"inverse_volatility", "fractional_kelly", "equal"}
        The weighting rule.
    mean, variance, volatility : numpy.ndarray
        Per-period return mean, variance and volatility, shape ``(..., N)``; only the ones
        the method uses are read (``equal`` reads only the shape of `mean`).
    max_gross : float
        Gross cap ``G``.
    kelly_fraction : float, default 0.5
        Fraction ``c`` of the Kelly bet.

    Returns
    -------
    numpy.ndarray
        Budgets of the shape of the statistics: ``equal`` ``G / N``; ``inverse_volatility``
        ``G σ⁻¹ / Σ σ⁻¹``; ``fractional_kelly`` ``c max(0, μ / σ²)``.

    Raises
    ------
    PortfolioError
        If the method is unknown.

    Notes
    -----
    A strategy whose volatility or variance is not a positive number (NaN included) gets no
    budget: it has not traded, there is nothing to estimate. An inverse-volatility row with
    no strategy left is all zero.
    """
    n = mean.shape[-1]
    if method == "equal":
        return np.full(mean.shape, max_gross / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "inverse_volatility":
            inverse = np.where(volatility > 0, 1.0 / volatility, 0.0)
            total = inverse.sum(axis=-1, keepdims=True)
            return np.where(total > 0, max_gross * inverse / total, 0.0)
        if method == "fractional_kelly":
            return np.where(variance > 0, kelly_fraction * np.maximum(mean / variance, 0.0), 0.0)
    raise PortfolioError(f"unknown weighting {method!r}; choose one of {', '.join(METHODS)}")


def cap_rows(raw: np.ndarray, *, max_weight: float, max_gross: float) -> np.ndarray:
    """Apply the per-strategy and gross caps to each row of raw budgets.

    Parameters
    ----------
    raw : numpy.ndarray
        Raw budgets, shape ``(..., N)``.
    max_weight : float
        Per-strategy cap.
    max_gross : float
        Gross cap ``G`` on the sum of a row.

    Returns
    -------
    numpy.ndarray
        ``b = min(raw, max_weight)``, and a row whose sum exceeds ``G`` scaled by ``G / Σ b``
        (proportions kept, no budget raised).
    """
    capped = np.minimum(raw, max_weight)
    gross = capped.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gross > max_gross, capped * (max_gross / gross), capped)


def return_statistics(returns: pd.DataFrame) -> pd.DataFrame:
    """Per-strategy per-period mean, variance and volatility of strategy returns.

    Parameters
    ----------
    returns : pandas.DataFrame
        Per-period returns, one column per strategy; NaNs are skipped.

    Returns
    -------
    pandas.DataFrame
        One row per strategy with columns ``mean``, ``variance`` (ddof 1) and ``volatility``
        (its square root), not annualised.

    Raises
    ------
    PortfolioError
        If `returns` is empty or a strategy has fewer than 2 non-NaN returns.
    """
    if returns.empty:
        raise PortfolioError("no returns to estimate statistics from")
    stats = pd.DataFrame(
        {
            "mean": returns.mean(),
            "variance": returns.var(ddof=1),
            "volatility": returns.std(ddof=1),
        }
    )
    too_short = stats.index[stats["variance"].isna()]
    if len(too_short):
        raise PortfolioError(f"need >= 2 returns per strategy: {', '.join(map(str, too_short))}")
    return stats


def capped_budgets(
    method: WeightingMethod,
    names: pd.Index,
    *,
    max_weight: float,
    max_gross: float,
    returns: pd.DataFrame | None = None,
    kelly_fraction: float = 0.5,
) -> pd.Series:
    """Strategy budgets estimated from returns, with the per-strategy and gross caps.

    Parameters
    ----------
    method : {"inverse_volatility", "fractional_kelly", "equal"}
        The weighting rule of the module docstring.
    names : pandas.Index
        Strategy names; each must be a column of `returns` (unless `method` is ``equal``).
    max_weight : float
        Per-strategy cap on a budget.
    max_gross : float
        Gross cap ``G``: the raw ``equal``/``inverse_volatility`` budgets sum to it, and every
        method's capped budgets sum to at most it.
    returns : pandas.DataFrame, optional
        Per-period strategy returns, one column per name; not needed for ``equal``.
    kelly_fraction : float, default 0.5
        Fraction of the Kelly bet, in (0, 1].

    Returns
    -------
    pandas.Series
        Budget per name (fraction of equity per unit of signal), indexed by `names`.

    Raises
    ------
    PortfolioError
        If `returns` is needed and missing or too short, or `kelly_fraction` is outside
        (0, 1].

    Notes
    -----
    :func:`budget_rows` on :func:`return_statistics` of `returns`, then :func:`cap_rows`. A
    strategy without variance in `returns` (it did not trade there) gets no budget under an
    estimated weighting, as in the research book.
    """
    n = len(names)
    mean = var = np.full(n, np.nan)
    if method != "equal":
        if returns is None:
            raise PortfolioError(f"{method} weighting needs the strategies' returns")
        stats = return_statistics(returns[list(names)])
        mean, var = stats["mean"].to_numpy(), stats["variance"].to_numpy()
    if method == "fractional_kelly" and not 0 < kelly_fraction <= 1:
        raise PortfolioError(f"kelly_fraction must be in (0, 1], got {kelly_fraction}")
    raw = budget_rows(
        method, mean, var, np.sqrt(var), max_gross=max_gross, kelly_fraction=kelly_fraction
    )
    return pd.Series(cap_rows(raw, max_weight=max_weight, max_gross=max_gross), index=names)
