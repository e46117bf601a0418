"""One trial of a study: a strategy configuration backtested on the study's bars.

:func:`evaluate_trial` is the unit of work every executor runs (in this process, in worker
processes or on Ray workers). It is a pure function of the task and the bars, so every
executor returns bit-identical results for the same study.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crypto_strategy_lab.backtest import BacktestResult, run_backtest
from crypto_strategy_lab.backtest.engine import LongOnlyWarning
from crypto_strategy_lab.backtest.inputs import ATR_PERIOD, StopUnit, check_stops
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.core.stop_policy import stop_policy_identity
from crypto_strategy_lab.strategies import get_strategy


class BacktestSettings(BaseModel):
    """How every trial of a study is backtested; part of each trial's identity.

    See :func:`~crypto_strategy_lab.backtest.run_backtest` for the fill model.

    Parameters
    ----------
    market : {"spot", "perp", "stock"}, default "perp"
        The market: ``perp`` trades both sides and pays funding; ``spot`` and ``stock`` are
        long-only (short targets are flat).
    costs : CostModel, optional
        Fees, slippage and funding; default :class:`CostModel`'s defaults.
    sizing : float, default 1.0
        Equity traded per unit of signal (> 0).
    stop_loss : float or None, default 0.02
        The stop-loss distance in `stop_unit` (>= 0); ``None`` or 0: none.
    take_profit : float or None, default 0.04
        The take-profit distance in `stop_unit` (>= 0); ``None`` or 0: none.
    stop_unit : {"fraction", "atr"}, default "fraction"
        The levels' unit: fractions of the entry price, or multiples of Wilder's ATR.
    fill : {"next_open", "next_close"}, default "next_open"
        Where a signal at bar ``t``'s close fills: bar ``t + 1``'s open or close.
    fee_side : {"taker", "maker"}, default "taker"
        Which fee rate of `costs` a fill pays.

    Raises
    ------
    pydantic.ValidationError
        For an unknown field, a value out of range, or levels that do not fit their unit
        (:func:`~crypto_strategy_lab.backtest.inputs.check_stops`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    market: Literal["spot", "perp", "stock"] = "perp"
    costs: CostModel = Field(default_factory=CostModel)
    sizing: float = Field(default=1.0, gt=0)
    stop_loss: float | None = Field(default=0.02, ge=0)
    take_profit: float | None = Field(default=0.04, ge=0)
    #: ``fraction``: levels in fractions of the entry; ``atr``: in multiples of Wilder's ATR.
    stop_unit: StopUnit = "fraction"
    fill: Literal["next_open", "next_close"] = "next_open"
    fee_side: Literal["taker", "maker"] = "taker"

    @model_validator(mode="after")
    def _levels_fit_their_unit(self) -> BacktestSettings:
        try:
            check_stops(self.stop_loss, self.take_profit, self.stop_unit)
        except CSLError as exc:  # pydantic reports a ValueError as a field error
            raise ValueError(str(exc)) from None
        return self

    def backtest_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`run_backtest`.

        Returns
        -------
        dict of str to Any
            ``costs``, ``market``, ``sizing``, ``stop_loss``, ``take_profit``,
            ``stop_unit``, ``fill`` and ``fee_side``, as set.
        """
        return {
            "costs": self.costs,
            "market": self.market,
            "sizing": self.sizing,
            "stop_loss": self.stop_loss,
            "take_profit": self.take_profit,
            "stop_unit": self.stop_unit,
            "fill": self.fill,
            "fee_side": self.fee_side,
        }

    def identity(self) -> dict[str, Any]:
        """The settings as they enter a trial's identity.

        The JSON dump, without ``stop_unit`` when it is the default ``fraction``, so trials
        logged before volatility-scaled stops existed keep their identity (and are not counted
        twice).

        Returns
        -------
        dict of str to Any
            ``model_dump(mode="json")`` (the cost model nested), without ``stop_unit`` when
            it is ``"fraction"``.
        """
        dump = self.model_dump(mode="json")
        if self.stop_unit == "fraction":
            del dump["stop_unit"]
        return dump

    def describe(self) -> str:
        """One sentence stating the cost and fill assumptions (for reports).

        Returns
        -------
        str
            ``"; "``-separated clauses: the market (and that it is long-only), the fee in bps
            per side, the slippage, the fill timing, the sizing, the stop-loss and
            take-profit levels, and for ``perp`` the funding rate per 8 h.
        """
        c = self.costs
        slip = (
            f"{c.slippage_bps:g} bps fixed slippage"
            if c.slippage.value == "fixed"
            else f"{c.slippage.value} slippage model"
        )
        fee_bps = c.fee_rate(maker=self.fee_side == "maker") * 1e4
        parts = [
            f"market {self.market}"
            + ("" if self.market == "perp" else " (long-only: short targets are flat)"),
            f"{self.fee_side} fee {fee_bps:g} bps per side",
            slip,
            "signal at bar t's close filled at bar t+1's "
            + ("open" if self.fill == "next_open" else "close"),
            f"sizing {self.sizing:g}x equity per unit of signal",
            self._level_text("stop-loss", self.stop_loss),
            self._level_text("take-profit", self.take_profit),
        ]
        if self.market == "perp":
            parts.append(f"funding {c.funding_rate_8h * 1e4:g} bps per 8 h on the position held")
        return "; ".join(parts)

    def stop_policy(self) -> str:
        """The policy of :data:`STOP_POLICIES` these levels are.

        Returns
        -------
        str
            ``"off"`` without levels, ``"atr"`` in ATR units, ``"fixed"`` in fractions of the
            entry.
        """
        return str(self.stop_identity()["policy"])

    def stop_identity(self) -> dict[str, Any]:
        """The stop policy with its levels, as a gate verdict records it.

        ``csl live`` compares it with the deployed one
        (:func:`~crypto_strategy_lab.core.stop_policy.stop_policy_identity`).

        Returns
        -------
        dict of str to Any
            ``{"policy": "off"}``; ``{"policy": "fixed", "stop_loss", "take_profit"}``; or
            ``{"policy": "atr", "stop_loss", "take_profit", "atr_period"}`` (a disabled level
            ``None``).
        """
        return stop_policy_identity(self.stop_loss, self.take_profit, self.stop_unit, ATR_PERIOD)

    def _level_text(self, name: str, level: float | None) -> str:
        if not level:
            return f"no {name}"
        if self.stop_unit == "atr":
            return f"{name} {level:g} ATR({ATR_PERIOD})"
        return f"{name} {level:.0%}"


#: Stop policies a study can try (the ``stop`` key of a configuration): the brief's fixed
#: levels, none, or volatility-scaled levels in ATR units.
STOP_POLICIES: tuple[str, ...] = ("fixed", "off", "atr")
FIXED_STOP_LOSS, FIXED_TAKE_PROFIT = 0.02, 0.04
#: Volatility-scaled levels: 2 ATR(14) stop, 4 ATR take-profit (the brief's 1 : 2 ratio of
#: risk to target, with distances that grow with the bar size instead of a fixed 2 % that is
#: inside one daily bar's range and beyond a month of 5-minute ranges).
ATR_STOP_LOSS, ATR_TAKE_PROFIT = 2.0, 4.0


def with_stop_policy(settings: BacktestSettings, policy: str) -> BacktestSettings:
    """``settings`` with the stop levels of ``policy``.

    ``"fixed"`` keeps the settings' levels when they are fractions of the entry and at least
    one is set, else (no levels, or levels in ATR units) sets the brief's 2 % / 4 %; ``"off"``
    trades without stop-loss or take-profit; ``"atr"`` places them 2 and 4 ATR(14) from the
    entry.

    Parameters
    ----------
    settings : BacktestSettings
        The study's settings.
    policy : {"fixed", "off", "atr"}
        A stop policy of :data:`STOP_POLICIES`.

    Returns
    -------
    BacktestSettings
        `settings` itself when ``"fixed"`` keeps its levels, else a copy with the policy's
        ``stop_loss``, ``take_profit`` and ``stop_unit``.

    Raises
    ------
    CSLError
        For any other policy, naming the known ones.
    """
    if policy == "off":
        return settings.model_copy(
            update={"stop_loss": None, "take_profit": None, "stop_unit": "fraction"}
        )
    if policy == "fixed":
        if settings.stop_unit == "fraction" and (settings.stop_loss or settings.take_profit):
            return settings
        return settings.model_copy(
            update={
                "stop_loss": FIXED_STOP_LOSS,
                "take_profit": FIXED_TAKE_PROFIT,
                "stop_unit": "fraction",
            }
        )
    if policy == "atr":
        return settings.model_copy(
            update={"stop_loss": ATR_STOP_LOSS, "take_profit": ATR_TAKE_PROFIT, "stop_unit": "atr"}
        )
    raise CSLError(f"unknown stop policy {policy!r}; use one of {', '.join(STOP_POLICIES)}")


@dataclass(frozen=True)
class TrialTask:
    """A configuration to evaluate: ``params`` are the strategy's full validated parameters.

    Attributes
    ----------
    key : int
        The configuration's position in its study (its label is ``c<key:02d>``).
    study : str
        The study's name.
    strategy : str
        The registered strategy.
    params : dict of str to Any
        Its full, validated parameters.
    settings : BacktestSettings
        The backtest settings, its stop policy applied.
    config_hash : str
        The trial identity (:func:`~crypto_strategy_lab.validation.trial_log.trial_identity`).
    log : bool
        Whether to log the trial; ``False``: already in the trial log, only its returns are
        needed.
    """

    key: int
    study: str
    strategy: str
    params: dict[str, Any]
    settings: BacktestSettings
    config_hash: str
    log: bool = True  # False: already in the trial log, only its returns are needed


@dataclass(frozen=True)
class TrialOutcome:
    """What one trial produced, or the one-line error that stopped it.

    Per-bar net returns over all the bars (warm-up included), the sign of the position held at
    each bar's close (-1, 0, +1: what bets and co-activity are counted from) and the trade
    count.

    Attributes
    ----------
    returns : numpy.ndarray or None
        Per-bar net returns; ``None`` when the trial failed.
    n_trades : int
        The trade count.
    error : str
        Why the trial failed (empty when it ran).
    position_sign : numpy.ndarray or None
        The position's sign at each bar's close.
    """

    returns: np.ndarray | None
    n_trades: int = 0
    error: str = ""
    position_sign: np.ndarray | None = None


def backtest_configuration(
    strategy: str, params: dict[str, Any], settings: BacktestSettings, bars: pd.DataFrame
) -> BacktestResult:
    """The backtest of one configuration of ``strategy`` on ``bars``.

    What every trial runs, and what the lab's tear sheet re-runs for the selected
    configuration. On a long-only market the short targets are flat without a warning per run:
    the settings say so once (:meth:`BacktestSettings.describe`, in every report).

    Parameters
    ----------
    strategy : str
        The registered strategy.
    params : dict of str to Any
        Its parameters (replacing the defaults).
    settings : BacktestSettings
        Costs, market, sizing, stops and fill.
    bars : pandas.DataFrame
        The OHLCV bars.

    Returns
    -------
    BacktestResult
        :func:`~crypto_strategy_lab.backtest.run_backtest`'s result: per-bar returns,
        positions, trades and costs.

    Raises
    ------
    CSLError
        For invalid data or a configuration the backtest refuses.
    pydantic.ValidationError
        For invalid `params`.
    """
    rule = get_strategy(strategy, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LongOnlyWarning)
        return run_backtest(rule, bars, **settings.backtest_kwargs())


def evaluate_trial(task: TrialTask, bars: pd.DataFrame) -> TrialOutcome:
    """Compute the strategy's signal on ``bars`` and backtest it with the task's settings.

    Expected failures (a :class:`CSLError`: bad data for this configuration) become an
    outcome with ``error`` set; anything else is a bug and propagates.

    Parameters
    ----------
    task : TrialTask
        The configuration (strategy, full parameters, settings).
    bars : pandas.DataFrame
        The study's OHLCV bars.

    Returns
    -------
    TrialOutcome
        The per-bar net returns over all the bars (float64, warm-up included), the sign of
        the position at each bar's close (int8), the trade count; or, for a
        :class:`CSLError`, ``returns=None`` and ``error="<ErrorType>: <message>"``.
    """
    try:
        result = backtest_configuration(task.strategy, task.params, task.settings, bars)
    except CSLError as exc:
        return TrialOutcome(None, error=f"{type(exc).__name__}: {exc}")
    return TrialOutcome(
        result.returns.to_numpy(dtype=np.float64),
        len(result.trades),
        position_sign=np.sign(result.positions.to_numpy(dtype=np.float64)).astype(np.int8),
    )
