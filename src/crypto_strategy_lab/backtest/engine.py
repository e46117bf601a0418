"""``run_backtest``: a strategy (or a signal series) on OHLCV bars, with costs and stops.

The signal in [-1, 1] is a **target weight**: the book wants ``signal * sizing`` of its equity
in the asset. The fill model, sizing rule and stop semantics are stated in
:mod:`crypto_strategy_lab.backtest.kernel`; in short:

* a signal at bar ``t``'s close executes at bar ``t+1``'s open (``fill="next_open"``, default)
  or close (``fill="next_close"``); nothing ever fills at a price the signal could not know;
* taker fees (or maker fees with ``fee_side="maker"``) and slippage from the one
  :class:`~crypto_strategy_lab.core.costs.CostModel` (fixed bps, bar range, or volume
  participation);
* ``market="perp"`` pays funding every 8 h on the position held (a constant rate or a series);
  ``"spot"`` and ``"stock"`` cannot short or borrow: negative signals mean flat and
  ``sizing`` must be at most 1;
* stop-loss / take-profit levels relative to the average entry price, checked on each bar's
  path: a gap through a level fills at the open; a bar touching both fills the stop first.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import kernel
from crypto_strategy_lab.backtest.funding import funding_per_bar
from crypto_strategy_lab.backtest.result import TRADE_COLUMNS, BacktestResult
from crypto_strategy_lab.backtest.stats import summary_stats
from crypto_strategy_lab.core.costs import CostModel, SlippageModel
from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.data.schema import validate_ohlcv
from crypto_strategy_lab.strategies.base import Strategy
from crypto_strategy_lab.validation.metrics import infer_periods_per_year

Market = Literal["spot", "perp", "stock"]
Fill = Literal["next_open", "next_close"]

_MARKETS = {
    "spot": "spot",
    "perp": "perp",
    "linear": "perp",
    "stock": "stock",
    MarketType.SPOT: "spot",
    MarketType.LINEAR: "perp",
    MarketType.STOCK: "stock",
}
_SLIP_CODES = {
    SlippageModel.FIXED: kernel.SLIP_FIXED,
    SlippageModel.RANGE: kernel.SLIP_RANGE,
    SlippageModel.VOLUME: kernel.SLIP_VOLUME,
}


class BacktestError(CSLError):
    """Inputs a backtest cannot run on (misaligned signal, bad market, bad stop level...)."""


def normalise_market(market: str | MarketType) -> str:
    """``"spot"``, ``"perp"`` or ``"stock"`` (``"linear"`` and ``MarketType`` accepted)."""
    try:
        return _MARKETS[market]
    except (KeyError, TypeError):
        raise BacktestError(
            f"unknown market {market!r}; use 'spot', 'perp' (or 'linear') or 'stock'"
        ) from None


def signal_from(
    strategy_or_signals: Strategy | pd.Series | np.ndarray, bars: pd.DataFrame
) -> pd.Series:
    """The target-weight series on ``bars.index``: ``strategy.compute(bars)['signal']`` or the
    given series (same index required; values must be finite and within [-1, 1])."""
    if isinstance(strategy_or_signals, Strategy):
        return strategy_or_signals.compute(bars)["signal"].astype(float)
    if isinstance(strategy_or_signals, pd.Series):
        if not strategy_or_signals.index.equals(bars.index):
            raise BacktestError(
                "the signal Series must have exactly the bars' index "
                f"({len(strategy_or_signals)} vs {len(bars)} rows or different timestamps)"
            )
        sig = strategy_or_signals.astype(float)
    else:
        arr = np.asarray(strategy_or_signals, dtype=float)
        if arr.shape != (len(bars),):
            raise BacktestError(f"signal array must have shape ({len(bars)},), got {arr.shape}")
        sig = pd.Series(arr, index=bars.index, name="signal")
    values = sig.to_numpy()
    if not np.all(np.isfinite(values)):
        raise BacktestError("the signal contains NaN or infinite values (use 0 for flat)")
    if np.any(np.abs(values) > 1.0 + 1e-12):
        raise BacktestError("the signal must lie in [-1, 1] (a target fraction of `sizing`)")
    return sig.clip(-1.0, 1.0)


def kernel_params(
    costs: CostModel,
    *,
    fee_side: Literal["taker", "maker"],
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


def run_backtest(
    strategy_or_signals: Strategy | pd.Series | np.ndarray,
    bars: pd.DataFrame,
    *,
    costs: CostModel | None = None,
    sizing: float = 1.0,
    market: Market | MarketType = "spot",
    fill: Fill = "next_open",
    fee_side: Literal["taker", "maker"] = "taker",
    stop_loss: float | None = 0.02,
    take_profit: float | None = 0.04,
    funding: pd.Series | float | None = None,
    initial_capital: float = 10_000.0,
    periods_per_year: float | None = None,
) -> BacktestResult:
    """Backtest a strategy or a target-weight signal on OHLCV bars.

    Parameters
    ----------
    strategy_or_signals:
        A :class:`~crypto_strategy_lab.strategies.base.Strategy` (its ``compute(bars)``
        ``signal`` column is used) or a Series/array in [-1, 1] on the bars' index.
    bars:
        OHLCV frame (``data.schema.validate_ohlcv``).
    costs:
        Fees, slippage and default funding rate; ``CostModel()`` (Bybit base tier) if None.
    sizing:
        Equity fraction per unit of signal (leverage on ``perp``; at most 1 elsewhere).
    market:
        ``"spot"`` / ``"stock"`` (long-only, no funding) or ``"perp"`` (long/short, funding).
    fill:
        ``"next_open"`` (default) or ``"next_close"``: when a signal formed at bar t's close
        is executed.
    fee_side:
        Fee schedule of signal orders; stop exits always pay the taker fee.
    stop_loss, take_profit:
        Fractions of the average entry price (default 2 % / 4 %); ``None`` or 0 disables.
    funding:
        Perpetual funding rate: a constant per 8 h or a Series indexed by funding times;
        ``None`` uses ``costs.funding_rate_8h``. Only for ``market="perp"``.
    initial_capital:
        Starting cash in quote currency.
    periods_per_year:
        Annualisation factor; inferred from the bar spacing and the market's calendar when
        None (crypto 365 d; stocks 252 sessions).

    Returns
    -------
    BacktestResult
    """
    costs = costs or CostModel()
    mkt = normalise_market(market)
    if fill not in ("next_open", "next_close"):
        raise BacktestError(f"fill must be 'next_open' or 'next_close', got {fill!r}")
    open_, high, low, close, volume = bar_arrays(bars)
    signal = signal_from(strategy_or_signals, bars)
    if mkt != "perp":
        signal = signal.clip(lower=0.0)
    params = kernel_params(
        costs,
        fee_side=fee_side,
        stop_loss=stop_loss,
        take_profit=take_profit,
        sizing=sizing,
        initial_capital=initial_capital,
        market=mkt,
    )
    fund = funding_array(bars, mkt, funding, costs)
    ppy = periods_per_year or infer_periods_per_year(
        bars.index, "stock" if mkt == "stock" else "crypto"
    )

    n = len(bars)
    equity = np.empty(n)
    qty = np.empty(n)
    rec_int = np.empty((n + 1, 4), dtype=np.int64)
    rec_float = np.empty((n + 1, 7))
    n_trades = kernel.simulate(
        open_,
        high,
        low,
        close,
        volume,
        np.ascontiguousarray(signal.to_numpy(dtype=np.float64)),
        fund,
        params,
        _SLIP_CODES[costs.slippage],
        fill == "next_close",
        equity,
        qty,
        rec_int,
        rec_float,
    )

    index = bars.index
    equity_s = pd.Series(equity, index=index, name="equity")
    prev = np.concatenate([[initial_capital], equity[:-1]])
    returns = pd.Series(equity / prev - 1.0, index=index, name="returns")
    positions = pd.Series(qty, index=index, name="position")
    trades = _trade_frame(rec_int[:n_trades], rec_float[:n_trades], index)
    stats = summary_stats(returns, equity_s, positions, trades, bars["close"], initial_capital, ppy)
    settings: dict[str, Any] = {
        "market": mkt,
        "fill": fill,
        "fee_side": fee_side,
        "sizing": sizing,
        "stop_loss": stop_loss,
        "take_profit": take_profit,
        "initial_capital": initial_capital,
        "periods_per_year": ppy,
        "costs": costs.model_dump(mode="json"),
        "funding": "series" if isinstance(funding, pd.Series) else funding,
    }
    return BacktestResult(
        returns=returns,
        equity=equity_s,
        positions=positions,
        trades=trades,
        stats=stats,
        signal=signal.rename("signal"),
        settings=settings,
    )


def _trade_frame(
    rec_int: np.ndarray, rec_float: np.ndarray, index: pd.DatetimeIndex
) -> pd.DataFrame:
    if rec_int.shape[0] == 0:
        return pd.DataFrame(
            {
                "entry_time": pd.Series(dtype=index.dtype),
                "exit_time": pd.Series(dtype=index.dtype),
                "direction": pd.Series(dtype=np.int64),
                **{c: pd.Series(dtype=float) for c in TRADE_COLUMNS[3:-1]},
                "exit_reason": pd.Series(dtype=object),
            }
        )[TRADE_COLUMNS]
    return pd.DataFrame(
        {
            "entry_time": index[rec_int[:, 0]],
            "exit_time": index[rec_int[:, 1]],
            "direction": rec_int[:, 2],
            "quantity": rec_float[:, 0],
            "entry_price": rec_float[:, 1],
            "exit_price": rec_float[:, 2],
            "fees": rec_float[:, 3],
            "funding": rec_float[:, 4],
            "pnl": rec_float[:, 5],
            "return": rec_float[:, 5] / rec_float[:, 6],
            "exit_reason": np.asarray(kernel.EXIT_REASONS, dtype=object)[rec_int[:, 3]],
        }
    )[TRADE_COLUMNS]
