"""Kernel inputs shared by ``run_backtest`` and ``run_backtest_sweep``: validated bar arrays,
the float64 parameter vector, the funding rate per bar and the annualisation factor.

Both entry points accept the same keyword arguments (market, fill, costs, stops, sizing,
funding, capital); :func:`prepare_inputs` checks them once and turns them into what
:func:`~crypto_strategy_lab.backtest.kernel.simulate` consumes, so a single backtest and a
sweep column run on exactly the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import kernel
from crypto_strategy_lab.backtest.funding import bar_seconds, epoch_seconds, funding_per_bar
from crypto_strategy_lab.core.costs import SLIP_CODES, CostModel
from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.data.schema import validate_ohlcv
from crypto_strategy_lab.performance.metrics import infer_periods_per_year

Market = Literal["spot", "perp", "stock"]
Fill = Literal["next_open", "next_close"]
FeeSide = Literal["taker", "maker"]

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


@dataclass(frozen=True)
class KernelInputs:
    """Everything the kernel needs besides the signal.

    Attributes
    ----------
    market:
        ``"spot"``, ``"perp"`` or ``"stock"``.
    bars:
        Contiguous float64 ``(open, high, low, close, volume)``.
    funding:
        Funding rate due in each bar (zeros off perpetuals).
    params:
        The kernel's float64 parameter vector (``kernel.P_*`` indices).
    slip_mode:
        The kernel's slippage code (``kernel.SLIP_*``).
    fill_at_close:
        True for ``fill="next_close"``.
    periods_per_year:
        Annualisation factor.
    """

    market: str
    bars: tuple[np.ndarray, ...]
    funding: np.ndarray
    params: np.ndarray
    slip_mode: int
    fill_at_close: bool
    periods_per_year: float


def normalise_market(market: str | MarketType) -> str:
    """``"spot"``, ``"perp"`` or ``"stock"`` (``"linear"`` and ``MarketType`` accepted)."""
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
) -> np.ndarray:
    """The float64 parameter vector of :func:`kernel.simulate` (validated)."""
    if fee_side not in ("taker", "maker"):
        raise BacktestError(f"fee_side must be 'taker' or 'maker', got {fee_side!r}")
    for name, level in (("stop_loss", stop_loss), ("take_profit", take_profit)):
        if level is not None and not 0.0 <= level < 1.0:
            raise BacktestError(f"{name} must be a fraction in [0, 1) or None, got {level!r}")
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


def bar_arrays(bars: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Contiguous float64 open, high, low, close, volume of validated ``bars``."""
    validate_ohlcv(bars)
    return tuple(
        np.ascontiguousarray(bars[col].to_numpy(dtype=np.float64))
        for col in ("open", "high", "low", "close", "volume")
    )


def funding_array(
    bars: pd.DataFrame, market: str, funding: pd.Series | float | None, costs: CostModel
) -> np.ndarray:
    """Funding rate due in each bar: zero off perpetuals; ``costs.funding_rate_8h`` when
    ``funding`` is None on a perpetual."""
    if market != "perp":
        if funding is not None:
            raise BacktestError(f"funding applies to perpetuals only, not to market={market!r}")
        return np.zeros(len(bars))
    return funding_per_bar(bars.index, costs.funding_rate_8h if funding is None else funding)


def prepare_inputs(
    bars: pd.DataFrame,
    *,
    costs: CostModel,
    sizing: float,
    market: Market | MarketType,
    fill: Fill,
    fee_side: FeeSide,
    stop_loss: float | None,
    take_profit: float | None,
    funding: pd.Series | float | None,
    initial_capital: float,
    periods_per_year: float | None,
) -> KernelInputs:
    """Validate the run's settings and ``bars``; keyword arguments as in ``run_backtest``."""
    mkt = normalise_market(market)
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
    )
    return KernelInputs(
        market=mkt,
        bars=arrays,
        funding=funding_array(bars, mkt, funding, costs),
        params=params,
        slip_mode=SLIP_CODES[costs.slippage],
        fill_at_close=fill == "next_close",
        periods_per_year=periods_per_year or _periods_per_year(bars.index, mkt),
    )


def _periods_per_year(index: pd.DatetimeIndex, market: str) -> float:
    """``infer_periods_per_year`` on an index of any datetime unit: its calendar rule needs
    only the median spacing, so it is handed that spacing from the epoch in seconds (an
    hourly index past 2262 cannot be converted to nanoseconds)."""
    calendar = "stock" if market == "stock" else "crypto"
    ts = epoch_seconds(index)
    if ts.size < 2:
        return infer_periods_per_year(index, calendar)
    spacing = pd.to_datetime(np.array([0, bar_seconds(ts)]), unit="s", utc=True)
    return infer_periods_per_year(pd.DatetimeIndex(spacing), calendar)
