"""The registry of the 12 strategies, by their fixed names (DESIGN.md).

Classes are imported lazily so that listing names is cheap and one strategy's heavy imports
do not slow the others. Reading a class (its docstring, parameter model, timeframes and asset
classes, as ``csl strategies`` does) is cheap too: a signal module imports its numerics
(``crypto_strategy_lab.stats``, SciPy, numba, PyWavelets) and pandas with the data layer inside
the methods that validate or compute, not at module level (pandas only for annotations),
because those cost 2-3 s of start-up and ``csl strategies`` must stay within 1.5x of ``import
pandas`` (issue 16; ``tests/cli/test_lazy_imports.py`` holds it).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from pydantic import ValidationError

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.strategies.base import Strategy

_REGISTRY: dict[str, str] = {
    "lag_autocorr": "lag_autocorr.signal:LagAutocorrSignal",
    "variance_ratio": "variance_ratio.signal:VarianceRatioSignal",
    "hurst_exponent": "hurst_exponent.signal:HurstExponentSignal",
    "drift_significance": "drift_significance.signal:DriftSignificanceSignal",
    "spectral_peaks": "spectral_peaks.signal:SpectralPeaksSignal",
    "permutation_entropy": "permutation_entropy.signal:PermutationEntropySignal",
    "volatility_clustering": "volatility_clustering.signal:VolatilityClusteringSignal",
    "spectral_entropy": "spectral_entropy.signal:SpectralEntropySignal",
    "vpin": "vpin.signal:VPINSignal",
    "wavelet_energy": "wavelet_energy.signal:WaveletEnergySignal",
    "pacf_spike": "pacf_spike.signal:PACFSpikeSignal",
    "true_range_divergence": "true_range_divergence.signal:TrueRangeDivergenceSignal",
}


class UnknownStrategyError(CSLError, KeyError):
    """No strategy is registered under that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        """The message, unquoted."""
        return str(self.args[0])


def list_strategies() -> list[str]:
    """The 12 strategy names, in the brief's order.

    Returns
    -------
    list of str
        The registered names.
    """
    return list(_REGISTRY)


def strategy_class(name: str) -> type[Strategy]:
    """The class registered under ``name``.

    Its module is imported here, on first use, not when the registry is.

    Parameters
    ----------
    name : str
        A name of :func:`list_strategies`.

    Returns
    -------
    type of Strategy
        The strategy class.

    Raises
    ------
    UnknownStrategyError
        When no strategy is registered under ``name`` (a ``KeyError`` too).
    """
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise UnknownStrategyError(
            f"unknown strategy {name!r}; known: {', '.join(_REGISTRY)}"
        ) from None
    module_name, class_name = target.split(":")
    module = import_module(f"crypto_strategy_lab.strategies.{module_name}")
    return getattr(module, class_name)


def get_strategy(name: str, params: dict[str, Any] | None = None, **overrides: Any) -> Strategy:
    """An instance of strategy ``name`` with default parameters updated by ``params``.

    Parameters
    ----------
    name : str
        A name of :func:`list_strategies`.
    params : dict, optional
        Parameters that replace the defaults.
    **overrides
        Parameters that replace those of ``params``.

    Returns
    -------
    Strategy
        The instance, its parameters validated by the class's ``params_model``.
    """
    return strategy_class(name)(params, **overrides)


def strategy_for_bars(name: str, params: dict[str, Any] | None, timeframe: str) -> Strategy:
    """Strategy ``name`` with ``params``, its spans converted for the bars it trades.

    A span (``window="7d"``) is a number of bars of the parameters' ``timeframe``; a run on
    bars of another size would trade other windows than the ones validated (``7d`` at the
    default ``1h`` is 42 hours of 15-minute bars). So the parameters take the bars'
    ``timeframe``; parameters that name a different one are refused.

    Parameters
    ----------
    name : str
        A registered strategy name.
    params : dict or None
        Parameters replacing the defaults; None (or an empty dict) keeps them. A
        ``"timeframe"`` entry must name the same bar size as ``timeframe``.
    timeframe : str
        The bar size the strategy will trade (``"1h"``, ``"15m"``...).

    Returns
    -------
    Strategy
        The instance, with ``params.timeframe`` set to ``timeframe`` (canonical form).

    Raises
    ------
    CSLError
        When ``params["timeframe"]`` is not ``timeframe``, or the parameters do not
        validate on these bars (e.g. a span beyond its ``max_obs`` bars), in one line;
        :class:`~crypto_strategy_lab.data.schema.DataValidationError` (a ``CSLError``) when
        a timeframe is not a known bar size.
    UnknownStrategyError
        If no strategy is registered as ``name``.
    """
    from crypto_strategy_lab.data.timeframes import parse_timeframe

    given = dict(params or {})
    bars = parse_timeframe(timeframe)
    if "timeframe" in given and parse_timeframe(str(given["timeframe"])) != bars:
        raise CSLError(
            f"{name}: its parameters are for {given['timeframe']} bars but it would trade "
            f"{bars} bars; drop the timeframe parameter or trade {given['timeframe']} bars"
        )
    try:
        return get_strategy(name, given | {"timeframe": bars})
    except ValidationError as exc:  # a span that does not fit these bars: one line
        problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise CSLError(f"{name} on {bars} bars: {problems}") from None
