"""Parameter spaces of a study: the grid, random draws from it, and the lab's small grids.

A space maps parameter names to the finite list of values to try. Grid search takes the
Cartesian product (in the order the names and values are given); random search draws
``n`` distinct configurations from the same product, uniformly without replacement, with a
seeded generator so a rerun draws the same configurations (and therefore skips them, see
:mod:`crypto_strategy_lab.research.study`).

The lab's spaces (:data:`LAB_SPACES`) are deliberately small (six configurations per strategy,
around each strategy's defaults): every configuration tried is logged and deflates the
selected one's Sharpe ratio, so a wide search on three months of data only buys a lower DSR.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from crypto_strategy_lab.core.errors import CSLError

ParameterSpace = Mapping[str, Sequence[Any]]


class StudySpaceError(CSLError):
    """A parameter space that cannot be searched (empty, unknown parameter, bad value)."""


def _check(space: ParameterSpace) -> None:
    if not space:
        raise StudySpaceError("the parameter space is empty: give at least one parameter")
    for name, values in space.items():
        if isinstance(values, str | bytes) or len(values) == 0:
            raise StudySpaceError(f"parameter {name!r} needs a non-empty list of values")


def space_size(space: ParameterSpace) -> int:
    """Number of configurations in the grid (product of the value-list lengths)."""
    _check(space)
    return math.prod(len(v) for v in space.values())


def grid_configs(space: ParameterSpace) -> list[dict[str, Any]]:
    """Every configuration of the grid, in lexicographic order of the given value lists."""
    _check(space)
    names = list(space)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*space.values())]


def random_configs(space: ParameterSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct configurations drawn uniformly without replacement from the grid.

    Draws flat indices into the product with :meth:`numpy.random.Generator.choice` and decodes
    them (mixed radix), so a huge grid is never materialised.
    """
    total = space_size(space)
    if n < 1:
        raise StudySpaceError(f"random search needs n >= 1 configurations, got {n}")
    if n > total:
        raise StudySpaceError(f"random search asked for {n} configurations; the grid has {total}")
    names = list(space)
    sizes = [len(space[k]) for k in names]
    flat = np.random.default_rng(seed).choice(total, size=n, replace=False)
    out = []
    for code in flat.tolist():
        digits = []
        for size in reversed(sizes):
            code, digit = divmod(code, size)
            digits.append(digit)
        digits.reverse()
        out.append({k: space[k][d] for k, d in zip(names, digits, strict=True)})
    return out


#: The lab's grid per strategy: six configurations around the defaults (windows in bars).
LAB_SPACES: dict[str, dict[str, list[Any]]] = {
    "lag_autocorr": {"window": [96, 168, 336], "lag": [1, 2]},
    "variance_ratio": {"window": [120, 240, 480], "q": [2, 4]},
    "hurst_exponent": {"window": [128, 256], "lookback": [3, 6, 12]},
    "drift_significance": {"window": [90, 180, 360], "alpha": [0.05, 0.1]},
    "spectral_peaks": {"window": [128, 256, 512], "alpha": [0.01, 0.05]},
    "permutation_entropy": {"window": [250, 500, 1000], "order": [3, 4]},
    "volatility_clustering": {
        "window": [1000, 1500, 2000],
        "alpha": [0.01, 0.05],
        "refit_every": [1000],
    },
    "spectral_entropy": {"window": [128, 256, 512], "alpha": [0.05, 0.1]},
    "vpin": {"n_buckets": [30, 50], "z_entry": [0.5, 1.0, 1.5]},
    "wavelet_energy": {"window": [256, 512, 1024], "level": [3, 4]},
    "pacf_spike": {"window": [250, 500, 1000], "max_lag": [5, 10]},
    "true_range_divergence": {"horizon": [12, 24, 48], "atr_period": [14, 28]},
}


def lab_space(strategy: str, quick: bool = False) -> dict[str, list[Any]]:
    """The lab's grid for ``strategy``; ``quick`` keeps the first two values of each parameter
    (four configurations: still at least two, which PBO needs)."""
    try:
        space = LAB_SPACES[strategy]
    except KeyError:
        raise StudySpaceError(f"no lab parameter space for strategy {strategy!r}") from None
    return {k: list(v[:2] if quick else v) for k, v in space.items()}
