"""The strategy runner: one strategy's target weight on every closed bar.

Two ways to the same number (DESIGN.md: "a strategy has two faces over one computation"):

* **replay** — ``prepare(history)`` runs ``strategy.compute`` once over the whole history and
  the runner reads row ``t`` when bar ``t`` closes. ``compute`` is strictly causal (row t uses
  rows <= t; the strategies' contract tests prove it by truncation), so row ``t`` *is* what
  ``generate_signal`` returns on the history up to ``t`` — at O(n) instead of O(n * window).
* **live** — ``generate_signal(window)`` on the rolling window of the latest ``lookback`` bars
  (the trading face proper).

``tests/engine/test_runner.py`` checks that both faces agree on replayed bars.

The runner's bars are also what volatility-scaled protective stops measure
(:meth:`StrategyRunner.average_true_range`): Wilder's ATR of a bar from the bars up to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.enums import MarketType
from crypto_strategy_lab.engine.feeds import BarEvent
from crypto_strategy_lab.stats.true_range import average_true_range
from crypto_strategy_lab.strategies.base import SignalConfig, Strategy

_BOOLS = (bool, np.bool_)


@dataclass(frozen=True)
class SignalPoint:
    """A strategy's target weight in [-1, 1] on one bar, with its statistics."""

    strength: float
    statistics: dict[str, float] = field(default_factory=dict)


class StrategyRunner:
    """Evaluate one strategy on one symbol.

    Parameters
    ----------
    strategy:
        The strategy instance.
    symbol, market:
        Where its orders go; spot and stock markets are long-only (a negative signal means
        flat, as in the backtest).
    lookback:
        Bars kept for the live face (default: ``max(4 * warmup, 500)``).
    """

    def __init__(
        self,
        strategy: Strategy,
        symbol: str,
        market: MarketType = MarketType.LINEAR,
        *,
        lookback: int | None = None,
    ) -> None:
        self.strategy = strategy
        self.symbol = symbol
        self.market = market
        self.long_only = market is not MarketType.LINEAR
        self.lookback = lookback or max(4 * strategy.warmup, 500)
        self._signal: np.ndarray | None = None
        # the statistics' numeric columns as one float array (a pandas row lookup cost ~47 µs
        # per order), and the other columns, whose values are checked one by one
        self._numeric: tuple[list[str], np.ndarray] | None = None
        self._other: pd.DataFrame | None = None
        self._index: pd.DatetimeIndex | None = None
        self._window: pd.DataFrame | None = None
        self._history: pd.DataFrame | None = None
        self._atr: dict[int, np.ndarray] = {}
        self._point: SignalPoint | None = None  # the replay face's last answer

    @property
    def name(self) -> str:
        """The strategy's name."""
        return self.strategy.name

    def prepare(self, history: pd.DataFrame) -> None:
        """Precompute the causal signal on replay history (rows addressed by ``BarEvent.index``).

        Parameters
        ----------
        history : pandas.DataFrame
            The OHLCV bars the replay runs over; ``strategy.compute`` runs on them once.
        """
        frame = self.strategy.compute(history)
        self._signal = frame["signal"].to_numpy(dtype=float)
        stats = frame.drop(columns="signal")
        numeric = [c for c in stats.columns if stats[c].dtype.kind in "iuf"]
        self._numeric = ([str(c) for c in numeric], stats[numeric].to_numpy(dtype=float))
        self._other = stats.drop(columns=numeric)
        self._index = history.index
        self._history = history
        self._atr = {}

    def _clip(self, value: float) -> float:
        return max(value, 0.0) if self.long_only else value

    def precomputed(self) -> pd.Series | None:
        """The prepared target weights (after long-only clipping), or ``None`` when live.

        Returns
        -------
        pandas.Series or None
            One weight per bar of the prepared history, named after the strategy; ``None``
            before :meth:`prepare`.
        """
        if self._signal is None:
            return None
        values = np.clip(self._signal, 0.0, None) if self.long_only else self._signal
        return pd.Series(values, index=self._index, name=self.name)

    def statistics_at(self, index: int) -> dict[str, float]:
        """The prepared statistics of bar ``index`` (replay only).

        Parameters
        ----------
        index : int
            The bar's row in the prepared history (``BarEvent.index``).

        Returns
        -------
        dict of str to float
            The finite numbers of ``compute``'s row other than ``signal`` (integer and float
            columns, and numbers held in object columns; booleans are not statistics); empty
            before :meth:`prepare`.
        """
        if self._numeric is None or self._other is None:
            return {}
        names, values = self._numeric
        out = {
            name: float(v) for name, v in zip(names, values[index], strict=True) if np.isfinite(v)
        }
        if len(self._other.columns):  # other columns (rare): the numbers among their values
            for k, v in self._other.iloc[index].items():
                number = isinstance(v, int | float | np.number) and not isinstance(v, _BOOLS)
                if number and np.isfinite(v):
                    out[str(k)] = float(v)
        return out

    async def on_bar(self, bar: BarEvent) -> SignalPoint:
        """The target weight after ``bar`` closed.

        Replay reads the prepared row ``bar.index``; live appends ``bar`` to the rolling
        window and calls ``generate_signal`` on it (0 while the window holds no more than
        the strategy's warm-up).

        Parameters
        ----------
        bar : BarEvent
            The bar that just closed.

        Returns
        -------
        SignalPoint
            The weight, negative values clipped to 0 on long-only markets; statistics only
            on the live face.
        """
        if self._signal is not None:
            strength = self._clip(float(self._signal[bar.index]))
            point = self._point
            if point is None or point.strength != strength:
                # a replayed signal changes rarely: bars of the same weight share one point
                # (frozen, no statistics on the replay face)
                point = self._point = SignalPoint(strength)
            return point
        row = pd.DataFrame(
            [bar.as_mapping()], index=pd.DatetimeIndex([bar.timestamp], name="timestamp")
        ).astype("float64")
        window = row if self._window is None else pd.concat([self._window, row])
        self._window = window.iloc[-self.lookback :]
        if len(self._window) <= self.strategy.warmup:
            return SignalPoint(0.0)
        signal = await self.strategy.generate_signal(
            self._window, SignalConfig(symbol=self.symbol, market=self.market)
        )
        return SignalPoint(self._clip(signal.strength), signal.statistics)

    def average_true_range(self, bar: BarEvent, period: int) -> float:
        """Wilder's ATR of ``bar`` over ``period`` bars, from the bars up to and including it.

        Replay: the ATR series of the prepared history, read at ``bar.index`` (computed once
        per period; Wilder's recursion at ``t`` reads bars ``<= t`` only, as the signal's
        replay face). Live: over the rolling window of the latest ``lookback`` bars with
        ``bar`` as its last row; seeding the recursion at the window's start instead of the
        first bar ever seen moves the value by a factor ``(1 - 1/n)^(W - n)`` of the seeds'
        gap (below 1e-15 for n = 14 and W = 500 bars).

        Parameters
        ----------
        bar : BarEvent
            The bar the entry fill is known at (its close).
        period : int
            Wilder's ``n`` in bars.

        Returns
        -------
        float
            The ATR in price units, NaN while fewer than ``period`` bars are known.
        """
        if self._history is not None:
            atr = self._atr.get(period)
            if atr is None:
                h = self._history
                atr = average_true_range(
                    h["high"].to_numpy(float), h["low"].to_numpy(float),
                    h["close"].to_numpy(float), period,
                )  # fmt: skip
                self._atr[period] = atr
            return float(atr[bar.index])
        window = self._window
        if window is None or window.index[-1] < pd.Timestamp(bar.timestamp):
            row = pd.DataFrame([bar.as_mapping()], index=pd.DatetimeIndex([bar.timestamp]))
            window = row if window is None else pd.concat([window, row])
        w = window.iloc[-self.lookback :]
        atr = average_true_range(
            w["high"].to_numpy(float), w["low"].to_numpy(float), w["close"].to_numpy(float), period
        )
        return float(atr[-1])

    def seed_window(self, history: pd.DataFrame) -> None:
        """Give the live face its warm-up history (e.g. klines fetched at start).

        Parameters
        ----------
        history : pandas.DataFrame
            OHLCV bars; the latest ``lookback`` become the rolling window.
        """
        self._window = history.iloc[-self.lookback :]
