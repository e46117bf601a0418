"""The strategy base class: one computation, two faces.

* research: :meth:`Strategy.compute` returns, for every bar, the strategy's statistic(s) and a
  ``signal`` column in [-1, 1] (finite everywhere; 0 while the window fills). Row t uses only
  rows <= t (tests prove it by truncation).
* trading: :meth:`Strategy.generate_signal` is the last row of the same ``compute`` turned into
  a :class:`~crypto_strategy_lab.core.signal.Signal`.

Subclasses set ``name``, ``params_model`` and ``recommended_timeframes`` and implement
``_compute``; statistics come from :mod:`crypto_strategy_lab.stats`, the subclass adds only
the trading rule.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from crypto_strategy_lab.core.enums import MarketType, SignalAction
from crypto_strategy_lab.core.signal import Signal, size_from_capital
from crypto_strategy_lab.data.schema import DataValidationError, validate_ohlcv


def finite_signal(signal: np.ndarray) -> np.ndarray:
    """The ``signal`` contract: NaN (a window still filling) is 0, ``+-inf`` is ``+-1``, and
    every value is clipped to [-1, 1]."""
    cleaned = np.nan_to_num(np.asarray(signal, dtype=float), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(cleaned, -1.0, 1.0, out=cleaned)


class StrategyParams(BaseModel):
    """Base of every strategy's parameter model (validated, immutable)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeframe: str = Field(default="1h", description="Bar size the defaults are tuned for.")


class SignalConfig(BaseModel):
    """What the trading face needs beyond the bars: where to trade and how much capital."""

    model_config = ConfigDict(extra="ignore")

    symbol: str = "BTCUSDT"
    market: MarketType | None = None
    capital: float | None = Field(default=None, gt=0)
    max_position_size: float = Field(default=0.1, gt=0, le=1)


class Strategy(ABC):
    """A statistical test of one departure from a random walk, turned into a trading rule."""

    name: ClassVar[str]
    params_model: ClassVar[type[StrategyParams]] = StrategyParams
    recommended_timeframes: ClassVar[tuple[str, ...]] = ("1h",)
    uses_volume: ClassVar[bool] = False

    def __init__(self, params: StrategyParams | Mapping[str, Any] | None = None, **overrides: Any):
        if isinstance(params, StrategyParams):
            merged = {**params.model_dump(), **overrides}
        else:
            merged = {**dict(params or {}), **overrides}
        self.params = self.params_model.model_validate(merged)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"

    @property
    @abstractmethod
    def warmup(self) -> int:
        """Number of bars before the first non-NaN statistic."""

    @abstractmethod
    def _compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Statistics and a raw ``signal`` column for validated ``bars`` (same index)."""

    def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Statistic(s) and the ``signal`` column in [-1, 1] for every bar, strictly causal.

        Raises
        ------
        DataValidationError
            If ``bars`` breaks the OHLCV schema or is shorter than :attr:`warmup` + 1 bars.
        """
        validate_ohlcv(bars)
        if len(bars) <= self.warmup:
            raise DataValidationError(
                f"{self.name} needs more than {self.warmup} bars (its warm-up), got {len(bars)}"
            )
        out = self._compute(bars)
        if "signal" not in out.columns or not out.index.equals(bars.index):
            raise AssertionError(f"{self.name}._compute must return 'signal' on the bars' index")
        raw = out["signal"].to_numpy(dtype=float)
        signal = finite_signal(raw)
        if not np.array_equal(raw, signal):  # replacing a column copies its frame's block
            out["signal"] = signal
        return out

    async def generate_signal(
        self, data: pd.DataFrame, config: SignalConfig | Mapping[str, Any] | None = None
    ) -> Signal:
        """The trading decision for the last bar of ``data`` (the last row of :meth:`compute`)."""
        cfg = (
            config
            if isinstance(config, SignalConfig)
            else SignalConfig.model_validate(dict(config or {}))
        )
        frame = self.compute(data)
        last = frame.iloc[-1]
        strength = float(last["signal"])
        action = (
            SignalAction.BUY
            if strength > 0
            else SignalAction.SELL
            if strength < 0
            else SignalAction.HOLD
        )
        price = float(data["close"].iloc[-1])
        quantity = (
            size_from_capital(strength, price, cfg.capital, cfg.max_position_size)
            if cfg.capital is not None
            else None
        )
        statistics = {
            str(k): float(v)
            for k, v in last.items()
            if k != "signal" and isinstance(v, int | float | np.number) and np.isfinite(v)
        }
        return Signal(
            strategy=self.name,
            symbol=cfg.symbol,
            timestamp=frame.index[-1].to_pydatetime(),
            action=action,
            strength=strength,
            price=price,
            quantity=quantity,
            market=cfg.market,
            statistics=statistics,
        )
