"""Combine strategies' signals into target portfolio weights.

For strategies ``s`` with signals ``x_s ∈ [-1, 1]`` (direction × conviction), the target
weight (signed fraction of equity) is ``w_s = x_s · b_s`` with a per-strategy budget ``b_s``:

* ``equal``: ``b_s = G / N``;
* ``inverse_volatility``: ``b_s = G · σ_s⁻¹ / Σ_j σ_j⁻¹`` — each strategy gets a budget
  inversely proportional to its return volatility (the "naive risk parity" of Maillard,
  Roncalli & Teïletche 2010, exact risk parity when the strategies are uncorrelated);
* ``fractional_kelly``: ``b_s = c · max(0, μ_s / σ_s²)`` — a fraction ``c`` of the
  growth-optimal Kelly bet (Thorp 2006) from each strategy's per-period return mean ``μ_s``
  and variance ``σ_s²``; not normalised (Kelly says how much, not how to split), and
  strategies without an edge get nothing;

where ``G`` is the gross cap (``max_gross``) and ``N`` the number of strategies. Then the caps
apply in this order:

1. per-strategy cap: ``|w_s| ≤ cap_s`` (clipped);
2. gross cap: if ``Σ|w_s| > G``, every weight is scaled by ``G / Σ|w_s|`` (this keeps the
   strategies' proportions and can only lower a weight, so step 1 still holds).

Defaults follow the brief: 10 % per strategy (``MAX_POSITION_SIZE``), 50 % gross.
"""

from __future__ import annotations

import math
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


def _caps(caps: float | Mapping[str, float], names: pd.Index) -> pd.Series:
    if isinstance(caps, Mapping):
        series = pd.Series({n: caps.get(n, math.nan) for n in names}, dtype=float)
        if series.isna().any():
            missing = ", ".join(series.index[series.isna()])
            raise PortfolioError(f"no per-strategy cap for: {missing}")
    else:
        series = pd.Series(float(caps), index=names)
    if (series < 0).any():
        raise PortfolioError(f"per-strategy caps must be >= 0, got {series.to_dict()}")
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
    """The per-strategy budgets ``b_s`` of the module docstring (before caps)."""
    n = len(names)
    if method == "equal":
        return pd.Series(max_gross / n, index=names)
    if method == "inverse_volatility":
        if volatilities is None:
            raise PortfolioError("inverse_volatility weighting needs volatilities")
        vol = _series(volatilities, "volatility", names)
        if (vol <= 0).any():
            raise PortfolioError(f"volatilities must be > 0, got {vol.to_dict()}")
        inverse = 1.0 / vol
        return max_gross * inverse / inverse.sum()
    if method == "fractional_kelly":
        if means is None or variances is None:
            raise PortfolioError("fractional_kelly weighting needs return means and variances")
        if not 0 < kelly_fraction <= 1:
            raise PortfolioError(f"kelly_fraction must be in (0, 1], got {kelly_fraction}")
        mu = _series(means, "mean return", names)
        var = _series(variances, "return variance", names)
        if (var <= 0).any():
            raise PortfolioError(f"return variances must be > 0, got {var.to_dict()}")
        return kelly_fraction * (mu / var).clip(lower=0.0)
    raise PortfolioError(f"unknown weighting {method!r}; choose one of {', '.join(METHODS)}")


def target_weights(
    signals: Mapping[str, float] | pd.Series,
    method: WeightingMethod = "inverse_volatility",
    *,
    volatilities: Mapping[str, float] | pd.Series | None = None,
    means: Mapping[str, float] | pd.Series | None = None,
    variances: Mapping[str, float] | pd.Series | None = None,
    kelly_fraction: float = 0.5,
    max_weight: float | Mapping[str, float] | None = None,
    max_gross: float = 0.5,
) -> pd.Series:
    """Signed target weights (fractions of equity) per strategy.

    Parameters
    ----------
    signals:
        Strategy name -> signal in [-1, 1].
    method:
        ``inverse_volatility``, ``fractional_kelly`` or ``equal`` (see module docstring).
    volatilities, means, variances:
        Per-period return statistics per strategy (from the validated backtests; see
        :func:`return_statistics`).
    kelly_fraction:
        The fraction ``c`` of full Kelly.
    max_weight:
        Per-strategy cap on ``|w_s|``: one number or a mapping by strategy (default: the
        ``MAX_POSITION_SIZE`` setting).
    max_gross:
        Cap on ``Σ|w_s|`` (portfolio heat).

    Returns
    -------
    pandas.Series
        Weights indexed by strategy name, ``Σ|w| ≤ max_gross`` and ``|w_s| ≤ cap_s``.
    """
    sig = pd.Series(signals, dtype=float)
    if sig.empty:
        return sig
    if not np.isfinite(sig.to_numpy()).all() or (sig.abs() > 1).any():
        raise PortfolioError(f"signals must be finite and in [-1, 1], got {sig.to_dict()}")
    if not max_gross > 0:
        raise PortfolioError(f"max_gross must be > 0, got {max_gross}")
    if max_weight is None:
        from crypto_strategy_lab.config.settings import get_settings

        max_weight = get_settings().MAX_POSITION_SIZE
    names = sig.index
    budget = budgets(
        method,
        names,
        max_gross=max_gross,
        volatilities=volatilities,
        means=means,
        variances=variances,
        kelly_fraction=kelly_fraction,
    )
    cap = _caps(max_weight, names)
    weights = (sig * budget).clip(lower=-cap, upper=cap)
    gross = weights.abs().sum()
    if gross > max_gross:
        weights = weights * (max_gross / gross)
    return weights.rename("weight")


def return_statistics(returns: pd.DataFrame) -> pd.DataFrame:
    """Per-strategy per-period ``mean``, ``variance`` (ddof=1) and ``volatility`` of a frame
    of strategy returns (one column per strategy; NaNs ignored)."""
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
