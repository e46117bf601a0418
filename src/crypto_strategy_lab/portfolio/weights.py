"""Combine strategies' signals into target portfolio weights.

For strategies ``s`` with signals ``x_s ∈ [-1, 1]`` (direction × conviction), the target
weight (signed fraction of equity) is ``w_s = x_s · b_s`` with a per-strategy budget ``b_s``
of :func:`~crypto_strategy_lab.performance.allocation.budgets` (``equal``,
``inverse_volatility``, ``fractional_kelly``: the one budget rule of research and trading).
Then the caps apply in this order:

1. per-strategy cap: ``|w_s| ≤ cap_s`` (clipped);
2. gross cap: if ``Σ|w_s| > G``, every weight is scaled by ``G / Σ|w_s|`` (this keeps the
   strategies' proportions and can only lower a weight, so step 1 still holds).

Defaults follow the brief: 10 % per strategy (``MAX_POSITION_SIZE``), 50 % gross.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from crypto_strategy_lab.performance.allocation import (
    METHODS,
    PortfolioError,
    WeightingMethod,
    budgets,
    capped_budgets,
    return_statistics,
)

__all__ = [
    "METHODS",
    "PortfolioError",
    "WeightingMethod",
    "budgets",
    "capped_budgets",
    "return_statistics",
    "target_weights",
]


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
    signals : mapping or pandas.Series
        Strategy name -> signal in [-1, 1].
    method : {"inverse_volatility", "fractional_kelly", "equal"}, default "inverse_volatility"
        The budget rule (see module docstring).
    volatilities, means, variances : mapping or pandas.Series, optional
        Per-period (not annualised) return statistics per strategy, from the validated
        backtests (:func:`return_statistics`): volatilities for ``inverse_volatility``,
        means and variances for ``fractional_kelly``.
    kelly_fraction : float, default 0.5
        The fraction ``c`` of full Kelly, in (0, 1].
    max_weight : float or mapping, optional
        Per-strategy cap on ``|w_s|``: one number or a mapping by strategy (default: the
        ``MAX_POSITION_SIZE`` setting).
    max_gross : float, default 0.5
        Cap on ``Σ|w_s|`` (portfolio heat), > 0; also the ``G`` of the ``equal`` and
        ``inverse_volatility`` budgets.

    Returns
    -------
    pandas.Series
        Weights named ``weight``, indexed by strategy name, ``Σ|w| ≤ max_gross`` and
        ``|w_s| ≤ cap_s``; empty for no signals.

    Raises
    ------
    PortfolioError
        If a signal is not finite or outside [-1, 1], ``max_gross <= 0``, a cap is missing
        or negative, or a statistic the method needs is missing or invalid.
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
