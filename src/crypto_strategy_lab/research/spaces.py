"""Parameter spaces of a study: the grid, random draws from it, and the lab's small grids.

A space maps parameter names to the finite list of values to try. Grid search takes the
Cartesian product (in the order the names and values are given); random search draws
``n`` distinct configurations from the same product, uniformly without replacement, with a
seeded generator so a rerun draws the same configurations (and therefore skips them, see
:mod:`crypto_strategy_lab.research.study`).

The lab's spaces (:data:`LAB_SPACES` plus the cost-aware rules of :data:`RULE_SPACE`) are
deliberately small, and the lab draws only a few configurations from each
(:func:`lab_configs`): every configuration tried is logged and deflates the selected one's
Sharpe ratio, so a wide search on three months of data only buys a lower DSR.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import ValidationError

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.strategies import strategy_class

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
    """Number of configurations in the grid (product of the value-list lengths).

    Parameters
    ----------
    space : ParameterSpace
        Per parameter name, a non-empty list of values (a string is not a list).

    Returns
    -------
    int
        ``prod_k len(space[k])``.

    Raises
    ------
    StudySpaceError
        If `space` is empty or a parameter has no values.
    """
    _check(space)
    return math.prod(len(v) for v in space.values())


def grid_configs(space: ParameterSpace) -> list[dict[str, Any]]:
    """Every configuration of the grid, in lexicographic order of the given value lists.

    Parameters
    ----------
    space : ParameterSpace
        Per parameter name, a non-empty list of values (a string is not a list).

    Returns
    -------
    list of dict
        :func:`itertools.product` of the value lists, one dict per configuration (the last
        parameter varies fastest).

    Raises
    ------
    StudySpaceError
        If `space` is empty or a parameter has no values.
    """
    _check(space)
    names = list(space)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*space.values())]


def random_configs(space: ParameterSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct configurations drawn uniformly without replacement from the grid.

    Draws flat indices into the product with :meth:`numpy.random.Generator.choice` and decodes
    them (mixed radix), so a huge grid is never materialised.

    Parameters
    ----------
    space : ParameterSpace
        Per parameter name, a non-empty list of values (a string is not a list).
    n : int
        How many configurations, ``1 <= n <= space_size(space)``.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`: the same seed draws the same
        configurations.

    Returns
    -------
    list of dict
        The `n` configurations in the order drawn; flat index ``i`` is the ``i``-th
        configuration of :func:`grid_configs` (the last parameter is the lowest digit).

    Raises
    ------
    StudySpaceError
        If `space` is empty or a parameter has no values, or `n` is outside
        ``[1, space_size(space)]``.
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


#: The strategy axes of each strategy's study: three or two values around the defaults, spans
#: in time (converted per timeframe with each parameter's minimum number of observations).
LAB_SPACES: dict[str, dict[str, list[Any]]] = {
    "lag_autocorr": {"window": ["4d", "7d", "14d"], "lag": [1, 2]},
    "variance_ratio": {"window": ["5d", "10d", "20d"], "q": ["4h", "1d"]},
    "hurst_exponent": {"window": ["21d", "42d"], "lookback": ["12h", "1d", "2d"]},
    "drift_significance": {"window": ["15d", "30d", "60d"], "alpha": [0.05, 0.1]},
    "spectral_peaks": {"window": ["5d", "10d", "21d"], "alpha": [0.01, 0.05]},
    "permutation_entropy": {"window": ["10d", "21d", "42d"], "order": [3, 4]},
    "volatility_clustering": {
        "window": ["42d", "63d", "84d"],
        "alpha": [0.01, 0.05],
        "refit_every": ["42d"],
    },
    "spectral_entropy": {"window": ["5d", "10d", "21d"], "alpha": [0.05, 0.1]},
    "vpin": {"n_buckets": [30, 50], "z_entry": [0.5, 1.0, 1.5]},
    "wavelet_energy": {"window": ["42d", "85d", "170d"], "level": [3, 4]},
    "pacf_spike": {"window": ["10d", "21d", "42d"], "max_lag": [5, 10]},
    "true_range_divergence": {"horizon": ["3h", "6h", "12h"], "atr_period": [14, 28]},
}

#: The cost-aware rules every strategy's study tries, logged like any other parameter: the
#: no-trade band and minimum holding period (strategy parameters,
#: :mod:`crypto_strategy_lab.strategies.trading_rules`) and the stop policy of the backtest
#: (``fixed``: the brief's 2 % / 4 %, the trading default; ``off``; ``atr``: 2 / 4 ATR(14),
#: volatility-scaled, :data:`~crypto_strategy_lab.research.trial.STOP_POLICIES`).
RULE_SPACE: dict[str, list[Any]] = {
    "band": [0.0, 0.25],
    "min_hold": [None, "1d"],
    "stop": ["fixed", "off", "atr"],
}


def lab_space(strategy: str, quick: bool = False) -> dict[str, list[Any]]:
    """A strategy's study space.

    Parameters
    ----------
    strategy : str
        A strategy of :data:`LAB_SPACES`.
    quick : bool, default False
        Keep only the first two values of each of the strategy's own axes.

    Returns
    -------
    dict of str to list
        Its own axes (spans as time strings, ``"7d"``), then the cost-aware rules of
        :data:`RULE_SPACE` (``band``, ``min_hold``, ``stop``); fresh lists.

    Raises
    ------
    StudySpaceError
        If `strategy` has no lab space.
    """
    try:
        space = LAB_SPACES[strategy]
    except KeyError:
        raise StudySpaceError(f"no lab parameter space for strategy {strategy!r}") from None
    own = {k: list(v[:2] if quick else v) for k, v in space.items()}
    return own | {k: list(v) for k, v in RULE_SPACE.items()}


def lab_space_at(strategy: str, timeframe: str, quick: bool = False) -> dict[str, list[Any]]:
    """:func:`lab_space` at ``timeframe``.

    An axis value whose span does not fit that bar size (with the other parameters at their
    defaults) is left out, like in :func:`lab_configs`.

    Parameters
    ----------
    strategy : str
        A strategy of :data:`LAB_SPACES`.
    timeframe : str
        The bar size the spans are converted to (``"15m"``).
    quick : bool, default False
        Keep only the first two values of each of the strategy's own axes.

    Returns
    -------
    dict of str to list
        ``{"timeframe": [timeframe]}`` followed by :func:`lab_space`'s axes, each without
        the values the strategy's parameters refuse at `timeframe` (``stop`` is kept
        whole: it is a backtest setting).

    Raises
    ------
    StudySpaceError
        If `strategy` has no lab space, or no value of some axis fits `timeframe`.
    """
    space = lab_space(strategy, quick)
    fitted = {
        k: [v for v in values if k == "stop" or _valid(strategy, {"timeframe": timeframe, k: v})]
        for k, values in space.items()
    }
    empty = [k for k, values in fitted.items() if not values]
    if empty:
        raise StudySpaceError(
            f"{strategy}: no value of {', '.join(empty)} fits {timeframe} bars; its recommended "
            f"timeframes are {', '.join(strategy_class(strategy).recommended_timeframes)}"
        )
    return {"timeframe": [timeframe]} | fitted


def lab_configs(strategy: str, timeframe: str, quick: bool = False) -> list[dict[str, Any]]:
    """The lab's configurations of ``strategy`` at ``timeframe``.

    The grid of its own axes (``quick``: first two values of each) under the trading defaults
    (no band, no minimum hold, the fixed 2 % / 4 % stops), then one variant of the first
    configuration per alternative value of each cost-aware rule of :data:`RULE_SPACE` (a band,
    a minimum hold, stops off, ATR stops). Every rule is tried at a few extra trials instead
    of multiplying the grid.

    Parameters
    ----------
    strategy : str
        A strategy of :data:`LAB_SPACES`.
    timeframe : str
        The bar size; every configuration carries it as its ``timeframe`` parameter, and
        grid configurations whose spans do not fit it are left out (not run, not counted).
    quick : bool, default False
        Keep only the first two values of each of the strategy's own axes.

    Returns
    -------
    list of dict
        The fitting grid configurations, then the rule variants of the first (only the grid
        configurations are checked against `timeframe`).

    Raises
    ------
    StudySpaceError
        If `strategy` has no lab space, or no grid configuration fits `timeframe`.
    """
    own = grid_configs(_own_space(strategy, quick))
    defaults = {k: v[0] for k, v in RULE_SPACE.items()}
    # a span that does not fit the bar size (e.g. a 1-day horizon over its bar limit on 15m
    # bars) is not a configuration of this timeframe: it is left out, not run and not counted
    configs = [
        c for c in ({"timeframe": timeframe, **c, **defaults} for c in own) if _valid(strategy, c)
    ]
    if not configs:
        raise StudySpaceError(
            f"{strategy}: no lab configuration fits {timeframe} bars; its recommended "
            f"timeframes are {', '.join(strategy_class(strategy).recommended_timeframes)}"
        )
    for rule, values in RULE_SPACE.items():
        for value in values[1:]:
            configs.append({**configs[0], rule: value})
    return configs


def _valid(strategy: str, config: Mapping[str, Any]) -> bool:
    params = {k: v for k, v in config.items() if k != "stop"}  # the stop policy is a setting
    try:
        strategy_class(strategy).params_model(**params)
    except ValidationError:
        return False
    return True


def _own_space(strategy: str, quick: bool) -> dict[str, list[Any]]:
    space = lab_space(strategy, quick)
    return {k: v for k, v in space.items() if k not in RULE_SPACE}
