"""Kernel inputs shared by ``run_backtest`` and ``run_backtest_sweep``.

They are the validated bar arrays, the float64 parameter vector, the funding rate per bar and
the annualisation factor.

Both entry points accept the same keyword arguments (market, fill, costs, stops and their
unit, sizing, funding, capital); :func:`prepare_inputs` checks them once and turns them into what
:func:`~crypto_strategy_lab.backtest.kernel.simulate` consumes, so a single backtest and a
sweep column run on exactly the same inputs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numba as nb
import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import kernel
from crypto_strategy_lab.backtest.funding import bar_seconds, epoch_seconds, funding_per_bar
from crypto_strategy_lab.core.costs import SLIP_CODES, CostModel
from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.data.schema import validate_ohlcv
from crypto_strategy_lab.performance.metrics import infer_periods_per_year
from crypto_strategy_lab.stats.true_range import average_true_range

Market = Literal["spot", "perp", "stock"]
Fill = Literal["next_open", "next_close"]
FeeSide = Literal["taker", "maker"]
#: What ``stop_loss`` / ``take_profit`` are measured in: fractions of the entry price, or
#: multiples of the average true range (volatility-scaled stops).
StopUnit = Literal["fraction", "atr"]
#: Wilder's ATR period, in bars, of volatility-scaled stops (his original choice).
ATR_PERIOD = 14

_MARKETS = {
    "spot": "spot",
    "perp": "perp",
    "linear": "perp",
    "stock": "stock",
    MarketType.SPOT: "spot",
    MarketType.LINEAR: "perp",
    MarketType.STOCK: "stock",
}


class BacktestError(CSLError):
    """Inputs a backtest cannot run on (misaligned signal, bad market, bad stop level...)."""


class MarketInferredWarning(UserWarning):
    """``market`` was not given: the backtest inferred it from the bars' calendar."""


def resolve_market(bars: pd.DataFrame, market: Market | MarketType | None) -> str:
    """``market`` normalised, or, when it is ``None``, inferred from the bars' calendar.

    The inference is the CLI's rule (:func:`crypto_strategy_lab.data.markets.choose_market`:
    24/7 bars are crypto, a perpetual; weekday sessions are stock), with a
    :class:`MarketInferredWarning` that says what was inferred and how to choose. The market
    decides shorting, fees and funding, so it is never taken silently.

    Parameters
    ----------
    bars : pandas.DataFrame
        The OHLCV bars on a DatetimeIndex (only their calendar is read, and only when
        ``market`` is None).
    market : {"spot", "perp", "linear", "stock"} or MarketType or None
        The market; None infers it from the bars.

    Returns
    -------
    str
        ``"spot"``, ``"perp"`` or ``"stock"``.

    Raises
    ------
    BacktestError
        If ``market`` is unknown, or None and the calendar decides no market.

    Warns
    -----
    MarketInferredWarning
        When ``market`` is None and was inferred.
    """
    if market is not None:
        return normalise_market(market)
    from crypto_strategy_lab.data.markets import choose_market
    from crypto_strategy_lab.data.schema import DataValidationError

    try:
        choice = choose_market(bars)
    except DataValidationError as exc:
        raise BacktestError(
            f"{str(exc).replace('--market perp|spot|stock', '')}pass market='perp', 'spot' or "
            "'stock'"
        ) from None
    warnings.warn(
        choice.notice_for("pass market='perp'|'spot'|'stock'"),
        MarketInferredWarning,
        stacklevel=4,  # the caller of run_backtest / run_backtest_sweep
    )
    return str(choice.market)


@dataclass(frozen=True)
class KernelInputs:
    """Everything the kernel needs besides the signal.

    Attributes
    ----------
    market : str
        ``"spot"``, ``"perp"`` or ``"stock"``.
    bars : tuple of numpy.ndarray
        Contiguous float64 ``(open, high, low, close, volume)``.
    funding : numpy.ndarray
        Funding rate due in each bar (zeros off perpetuals).
    stop_unit : numpy.ndarray
        Empty for stops in fractions of the entry; else the ATR of each bar (price units).
    params : numpy.ndarray
        The kernel's float64 parameter vector (``kernel.P_*`` indices).
    slip_mode : int
        The kernel's slippage code (``kernel.SLIP_*``).
    fill_at_close : bool
        True for ``fill="next_close"``.
    periods_per_year : float
        Annualisation factor.
    """

    market: str
    bars: tuple[np.ndarray, ...]
    funding: np.ndarray
    stop_unit: np.ndarray
    params: np.ndarray
    slip_mode: int
    fill_at_close: bool
    periods_per_year: float


def normalise_market(market: str | MarketType) -> str:
    """``"spot"``, ``"perp"`` or ``"stock"`` (``"linear"`` and ``MarketType`` accepted).

    Parameters
    ----------
    market : str or MarketType
        A market name (``"linear"`` is a perpetual) or ``MarketType.SPOT``/``LINEAR``/``STOCK``.

    Returns
    -------
    str
        The canonical name: ``"spot"``, ``"perp"`` or ``"stock"``.

    Raises
    ------
    BacktestError
        If ``market`` is none of those.
    """
    try:
        return _MARKETS[market]
    except (KeyError, TypeError):
        raise BacktestError(
            f"unknown market {market!r}; use 'spot', 'perp' (or 'linear') or 'stock'"
        ) from None


def kernel_params(
    costs: CostModel,
    *,
    fee_side: FeeSide,
    stop_loss: float | None,
    take_profit: float | None,
    sizing: float,
    initial_capital: float,
    market: str,
    stop_unit: StopUnit = "fraction",
) -> np.ndarray:
    """The float64 parameter vector of :func:`kernel.simulate` (validated).

    Parameters
    ----------
    costs : CostModel
        Fees, slippage model and maintenance margin of the venue.
    fee_side : {"taker", "maker"}
        The fee schedule of signal orders (exits pay their own: taker for stops and
        gapped take-profits, maker for touched take-profits).
    stop_loss, take_profit : float or None
        Distances of the protective exits from the average entry price, in ``stop_unit``;
        None or 0 disables a level.
    sizing : float
        Target gross exposure at weight 1, as a fraction of equity (> 0; at most 1 off
        perpetuals, which cannot borrow).
    initial_capital : float
        Starting cash, in quote currency (> 0).
    market : str
        Canonical market (:func:`normalise_market`); only a ``"perp"`` gets a maintenance
        margin, hence liquidations.
    stop_unit : {"fraction", "atr"}, default "fraction"
        What the stop distances are measured in (see :func:`check_stops`).

    Returns
    -------
    numpy.ndarray
        float64 of length ``kernel.N_PARAMS``, indexed by the ``kernel.P_*`` constants.

    Raises
    ------
    BacktestError
        If ``fee_side``, a stop level, ``sizing`` or ``initial_capital`` is invalid.
    """
    if fee_side not in ("taker", "maker"):
        raise BacktestError(f"fee_side must be 'taker' or 'maker', got {fee_side!r}")
    check_stops(stop_loss, take_profit, stop_unit)
    if not (np.isfinite(sizing) and sizing > 0):
        raise BacktestError(f"sizing must be a positive fraction of equity, got {sizing!r}")
    if market != "perp" and sizing > 1.0:
        raise BacktestError(f"{market} cannot borrow: sizing must be <= 1, got {sizing}")
    if not (np.isfinite(initial_capital) and initial_capital > 0):
        raise BacktestError(f"initial_capital must be positive, got {initial_capital!r}")
    params = np.zeros(kernel.N_PARAMS)
    params[kernel.P_FEE] = costs.fee_rate(maker=fee_side == "maker")
    params[kernel.P_SLIP_BPS] = costs.slippage_bps
    params[kernel.P_RANGE_FRACTION] = costs.range_fraction
    params[kernel.P_IMPACT] = costs.impact_coefficient
    params[kernel.P_MAX_PARTICIPATION] = costs.max_participation_slippage
    params[kernel.P_STOP_LOSS] = stop_loss or 0.0
    params[kernel.P_TAKE_PROFIT] = take_profit or 0.0
    params[kernel.P_LEVERAGE] = sizing
    params[kernel.P_INITIAL_CASH] = initial_capital
    params[kernel.P_TAKER_FEE] = costs.fee_rate(maker=False)
    params[kernel.P_MAKER_FEE] = costs.fee_rate(maker=True)
    # only a perpetual is margined (spot and stock cannot borrow, so cannot be liquidated)
    params[kernel.P_MAINTENANCE] = costs.maintenance_margin_rate if market == "perp" else 0.0
    return params


def check_stops(stop_loss: float | None, take_profit: float | None, stop_unit: str) -> None:
    """Raise :class:`BacktestError` unless the stop levels fit their unit.

    Fractions must lie in [0, 1), ATR multiples be finite and >= 0 (``None`` or 0 disables a
    level).

    Parameters
    ----------
    stop_loss, take_profit : float or None
        The levels' distances from the entry price; None disables a level.
    stop_unit : str
        ``"fraction"`` (of the entry price) or ``"atr"`` (multiples of the average true
        range).

    Raises
    ------
    BacktestError
        If ``stop_unit`` is neither, or a level (NaN included) is outside its range.
    """
    if stop_unit not in ("fraction", "atr"):
        raise BacktestError(f"stop_unit must be 'fraction' or 'atr', got {stop_unit!r}")
    for name, level in (("stop_loss", stop_loss), ("take_profit", take_profit)):
        if level is None:
            continue
        if stop_unit == "fraction" and not 0.0 <= level < 1.0:
            raise BacktestError(f"{name} must be a fraction in [0, 1) or None, got {level!r}")
        if stop_unit == "atr" and not (np.isfinite(level) and level >= 0.0):
            raise BacktestError(f"{name} must be a multiple of the ATR >= 0 or None, got {level!r}")


def target_weights(values: np.ndarray, *, long_only: bool) -> tuple[np.ndarray, int]:
    """Checked target weights for the kernel, in one compiled pass over the signal.

    Parameters
    ----------
    values : numpy.ndarray
        The signal, one value a bar: finite and within [-1, 1] (a tolerance of 1e-12 for
        rounding; such values are clipped to the bound).
    long_only : bool
        True on markets that cannot short: negative targets become flat (0).

    Returns
    -------
    tuple of numpy.ndarray and int
        A new contiguous float64 array of the targets, and how many of them were negative
        (the shorts a long-only market drops; counted on either market).

    Raises
    ------
    BacktestError
        When a value is NaN or infinite, or outside [-1, 1].
    """
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    out = np.empty(arr.size)
    non_finite, outside, shorts, _ = _clip_targets(arr, 0.0 if long_only else -1.0, out)
    if non_finite:
        raise BacktestError("the signal contains NaN or infinite values (use 0 for flat)")
    if outside:
        raise BacktestError("the signal must lie in [-1, 1] (a target fraction of `sizing`)")
    return out, shorts


def target_matrix(matrix: np.ndarray, *, long_only: bool) -> np.ndarray:
    """The sweep's ``(T, K)`` signal matrix checked like :func:`target_weights`.

    The check is one compiled pass, without temporaries.

    Parameters
    ----------
    matrix : numpy.ndarray
        One signal column per configuration, any numeric dtype and memory order.
    long_only : bool
        True on markets that cannot short: negative targets become flat (0).

    Returns
    -------
    numpy.ndarray
        ``matrix`` itself, or a clipped copy when values must change (shorts on a long-only
        market, rounding beyond +-1).

    Raises
    ------
    BacktestError
        When the dtype is not numeric, or a value is NaN, infinite or outside [-1, 1].
    """
    if matrix.dtype.kind not in "fiub":
        raise BacktestError(f"signal matrix dtype must be numeric, got {matrix.dtype}")
    if matrix.dtype.kind == "b":
        return matrix  # flat or long: nothing to check
    lower = 0.0 if long_only else -1.0
    # a view in the matrix's own memory order (a copy only when it is not contiguous)
    flat = np.ravel(matrix, order="K")
    non_finite, outside, shorts, rounded = _clip_targets(flat, lower, np.empty(0))
    if non_finite:
        raise BacktestError("the signal matrix contains NaN or infinite values")
    if outside:
        raise BacktestError("the signal matrix must lie in [-1, 1]")
    if rounded or (shorts and long_only):
        return np.clip(matrix, lower, 1.0)  # long-only markets: negative signals are flat
    return matrix


@nb.njit(cache=True)
def _clip_targets(values, lower, out):
    """``out = max(clip(values, -1, 1), lower)`` (nothing is written when ``out`` is empty).

    Return the counts of non-finite values, of values beyond [-1, 1] by more than 1e-12, of
    negative values after the first clip, and of values clipped to +-1 within the tolerance.
    """
    write = out.shape[0] > 0
    non_finite = 0
    outside = 0
    shorts = 0
    rounded = 0
    for t in range(values.shape[0]):
        v = float(values[t])
        if not np.isfinite(v):
            non_finite += 1
            v = 0.0
        elif abs(v) > 1.0:
            if abs(v) > 1.0 + 1e-12:
                outside += 1
            else:
                rounded += 1
            v = min(max(v, -1.0), 1.0)
        if v < 0.0:
            shorts += 1
            v = max(v, lower)
        if write:
            out[t] = v
    return non_finite, outside, shorts, rounded


def stop_unit_array(
    arrays: tuple[np.ndarray, ...], stop_unit: StopUnit, atr_period: int
) -> np.ndarray:
    """The kernel's ``stop_unit``: empty for fractions of the entry, else Wilder's ATR.

    The ATR of each bar is computed from the bars up to it (causal; NaN over its first
    ``atr_period - 1`` bars).

    Parameters
    ----------
    arrays : tuple of numpy.ndarray
        ``(open, high, low, close, volume)`` from :func:`bar_arrays`.
    stop_unit : {"fraction", "atr"}
        The stops' unit.
    atr_period : int
        Wilder's ATR period in bars (>= 1); read only for ``"atr"``.

    Returns
    -------
    numpy.ndarray
        Empty for ``"fraction"`` (or no bars); else the ATR of each bar, in price units.

    Raises
    ------
    BacktestError
        If ``stop_unit`` is ``"atr"`` and ``atr_period`` is not an integer >= 1.
    """
    if stop_unit == "fraction":
        return np.empty(0)
    if not (isinstance(atr_period, (int, np.integer)) and atr_period >= 1):
        raise BacktestError(f"atr_period must be a whole number of bars >= 1, got {atr_period!r}")
    _, high, low, close, _ = arrays
    if close.size == 0:
        return np.empty(0)
    return np.ascontiguousarray(average_true_range(high, low, close, int(atr_period)))


def bar_arrays(bars: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Contiguous float64 open, high, low, close, volume of validated ``bars``.

    Parameters
    ----------
    bars : pandas.DataFrame
        OHLCV bars; checked by :func:`~crypto_strategy_lab.data.schema.validate_ohlcv`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(open, high, low, close, volume)``, each C-contiguous float64 of ``len(bars)``.

    Raises
    ------
    DataValidationError
        If ``bars`` fails the OHLCV schema.
    """
    validate_ohlcv(bars)
    return tuple(
        np.ascontiguousarray(bars[col].to_numpy(dtype=np.float64))
        for col in ("open", "high", "low", "close", "volume")
    )


def funding_array(
    bars: pd.DataFrame,
    market: str,
    funding: pd.Series | float | None,
    costs: CostModel,
    step: int | None = None,
) -> np.ndarray:
    """Funding rate due in each bar.

    Parameters
    ----------
    bars : pandas.DataFrame
        The bars (their UTC DatetimeIndex places the funding instants).
    market : str
        Canonical market; only ``"perp"`` pays funding.
    funding : pandas.Series or float or None
        Rates as :func:`~crypto_strategy_lab.backtest.funding.funding_per_bar` takes them;
        None uses ``costs.funding_rate_8h`` on a perpetual.
    costs : CostModel
        Source of the default 8-hour rate.
    step : int or None, default None
        The bar length in seconds if known; None computes it from the index.

    Returns
    -------
    numpy.ndarray
        float64 rate per bar; zeros off perpetuals.

    Raises
    ------
    BacktestError
        If ``funding`` is given for a market other than a perpetual.
    FundingError
        If the rates cannot be mapped onto the bars.
    """
    if market != "perp":
        if funding is not None:
            raise BacktestError(f"funding applies to perpetuals only, not to market={market!r}")
        return np.zeros(len(bars))
    rate = costs.funding_rate_8h if funding is None else funding
    return funding_per_bar(bars.index, rate, step=step)


def prepare_inputs(
    bars: pd.DataFrame,
    *,
    costs: CostModel,
    sizing: float,
    market: Market | MarketType | None,
    fill: Fill,
    fee_side: FeeSide,
    stop_loss: float | None,
    take_profit: float | None,
    funding: pd.Series | float | None,
    initial_capital: float,
    periods_per_year: float | None,
    stop_unit: StopUnit = "fraction",
    atr_period: int = ATR_PERIOD,
) -> KernelInputs:
    """Validate the run's settings and ``bars``; keyword arguments as in ``run_backtest``.

    Parameters
    ----------
    bars : pandas.DataFrame
        OHLCV bars on a UTC DatetimeIndex.
    costs : CostModel
        Fees, slippage, funding default and maintenance margin.
    sizing : float
        Gross exposure at weight 1, as a fraction of equity.
    market : {"spot", "perp", "linear", "stock"} or MarketType or None
        The market; None infers it with a warning (:func:`resolve_market`).
    fill : {"next_open", "next_close"}
        When an order decided at a bar's close fills.
    fee_side : {"taker", "maker"}
        Fee schedule of signal orders.
    stop_loss, take_profit : float or None
        Protective exit distances in ``stop_unit``; None or 0 disables.
    funding : pandas.Series or float or None
        Funding rates (perpetuals only); None uses ``costs.funding_rate_8h``.
    initial_capital : float
        Starting cash, in quote currency.
    periods_per_year : float or None
        Annualisation factor; None (or 0) infers it from the bar spacing and the market's
        calendar.
    stop_unit : {"fraction", "atr"}, default "fraction"
        Unit of the stop distances.
    atr_period : int, default ATR_PERIOD
        Wilder's ATR period for ``"atr"`` stops, in bars.

    Returns
    -------
    KernelInputs
        The validated arrays, parameter vector and settings the kernel runs on.

    Raises
    ------
    BacktestError
        If a setting is invalid (see :func:`kernel_params`, :func:`funding_array`).
    DataValidationError
        If ``bars`` fails the OHLCV schema.
    """
    mkt = resolve_market(bars, market)
    if fill not in ("next_open", "next_close"):
        raise BacktestError(f"fill must be 'next_open' or 'next_close', got {fill!r}")
    arrays = bar_arrays(bars)
    params = kernel_params(
        costs,
        fee_side=fee_side,
        stop_loss=stop_loss,
        take_profit=take_profit,
        sizing=sizing,
        initial_capital=initial_capital,
        market=mkt,
        stop_unit=stop_unit,
    )
    # the bar length (the median spacing) is computed once for funding and annualisation
    step = None
    if mkt == "perp" or not periods_per_year:
        step = bar_seconds(epoch_seconds(bars.index))
    return KernelInputs(
        market=mkt,
        bars=arrays,
        funding=funding_array(bars, mkt, funding, costs, step),
        stop_unit=stop_unit_array(arrays, stop_unit, atr_period),
        params=params,
        slip_mode=SLIP_CODES[costs.slippage],
        fill_at_close=fill == "next_close",
        periods_per_year=periods_per_year or _periods_per_year(bars.index, mkt, step),
    )


def _periods_per_year(index: pd.DatetimeIndex, market: str, step: int) -> float:
    """``infer_periods_per_year`` on an index of any datetime unit.

    Its calendar rule needs only the median spacing, so it is handed that spacing, ``step``
    seconds (an hourly index past 2262 cannot be converted to nanoseconds).
    """
    calendar = "stock" if market == "stock" else "crypto"
    if len(index) < 2:
        return infer_periods_per_year(index, calendar)
    spacing = pd.to_datetime(np.array([0, step]), unit="s", utc=True)
    return infer_periods_per_year(pd.DatetimeIndex(spacing), calendar)
