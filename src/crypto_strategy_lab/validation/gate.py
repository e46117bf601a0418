"""The gate: which strategies deserve paper trading. Every criterion, its value, its threshold.

Default criteria (``configs/gate.yaml``; all per-period Sharpe ratios, raw kurtosis):

* ``dsr``: Deflated Sharpe Ratio >= 0.95 (n_trials and V[SR] from the trial log: every trial
  of the data's family, :meth:`~crypto_strategy_lab.validation.trial_log.TrialLog.deflation`);
* ``track_record``: number of independent bets >= MinTRL(SR, ``sr_benchmark``, alpha) computed
  on the per-bet returns (:mod:`crypto_strategy_lab.validation.bets`; bars shown beside); in
  bars only when no positions are known;
* ``pbo``: probability of backtest overfitting <= 0.5 (CSCV over the study's configurations);
* ``walk_forward``: walk-forward out-of-sample Sharpe ratio > 0.

The verdict passes only if every enabled criterion passes; a failing strategy is reported as
failing with the numbers that failed it. A criterion whose input is missing (e.g. no PBO
because only one configuration was tried) fails: the absence of evidence is not evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from crypto_strategy_lab.config.loader import load_yaml_config
from crypto_strategy_lab.performance.metrics import ReturnMoments
from crypto_strategy_lab.validation.sharpe import (
    deflated_sharpe_ratio,
    min_track_record_length,
)


class GateConfig(BaseModel):
    """Thresholds of the gate (``kind: gate`` YAML).

    Attributes
    ----------
    kind : "gate"
        The YAML document kind.
    min_dsr : float, default 0.95
        The deflated Sharpe ratio must be >= this, in (0, 1).
    track_record_alpha : float, default 0.05
        Significance level of the MinTRL criterion.
    track_record_sr_benchmark : float, default 0.0
        Per-period (per-bar) Sharpe ratio the track record must beat (MinTRL's ``SR*``).
    max_pbo : float, default 0.5
        The probability of backtest overfitting must be <= this.
    min_walk_forward_sharpe : float, default 0.0
        The walk-forward out-of-sample per-period Sharpe ratio must be > this.
    pbo_splits : int, default 16
        CSCV blocks ``S`` (even, >= 2).
    criteria : tuple of str
        Criteria that are evaluated, among ``"dsr"``, ``"track_record"``, ``"pbo"`` and
        ``"walk_forward"`` (default: all four); at least one: a gate that checks nothing
        would let every strategy through.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["gate"] = "gate"
    min_dsr: float = Field(default=0.95, gt=0, lt=1, description="DSR must be >= this.")
    track_record_alpha: float = Field(
        default=0.05, gt=0, lt=1, description="Significance of the MinTRL criterion."
    )
    track_record_sr_benchmark: float = Field(
        default=0.0, description="Per-period SR the track record must beat (MinTRL's SR*)."
    )
    max_pbo: float = Field(default=0.5, ge=0, le=1, description="PBO must be <= this.")
    min_walk_forward_sharpe: float = Field(
        default=0.0, description="Walk-forward OOS per-period Sharpe must be > this."
    )
    pbo_splits: int = Field(default=16, ge=2, multiple_of=2, description="CSCV blocks S.")
    criteria: tuple[Literal["dsr", "track_record", "pbo", "walk_forward"], ...] = (
        "dsr",
        "track_record",
        "pbo",
        "walk_forward",
    )

    @field_validator("criteria")
    @classmethod
    def _some_criterion(cls, criteria: tuple[str, ...]) -> tuple[str, ...]:
        if not criteria:
            raise ValueError("a gate needs at least one criterion (it would pass everything)")
        return criteria


def load_gate_config(path: str | Path) -> GateConfig:
    """Read a ``kind: gate`` YAML file.

    Parameters
    ----------
    path : str or pathlib.Path
        The YAML file.

    Returns
    -------
    GateConfig
        The validated thresholds.

    Raises
    ------
    crypto_strategy_lab.core.errors.ConfigError
        If the file is missing, is not valid YAML, or a field is unknown or out of range
        (the message names the file and the field).
    """
    return load_yaml_config(path, GateConfig)


@dataclass(frozen=True)
class GateInputs:
    """The evidence about one strategy.

    Attributes
    ----------
    strategy : str
        Name shown in the verdict.
    moments : ReturnMoments
        The selected configuration's full-sample per-period Sharpe ratio, number of bars,
        skewness and raw kurtosis.
    n_trials : int
        Number of trials to deflate by, from the trial log.
    sr_variance : float
        Variance of those trials' per-period Sharpe ratios, from the trial log.
    pbo : float or None
        Probability of backtest overfitting by CSCV over the study's returns matrix;
        ``None`` when not computed (the criterion then fails).
    walk_forward_sharpe : float or None
        Per-period out-of-sample Sharpe ratio of walk-forward selection; ``None`` when not
        computed (the criterion then fails).
    deflation_source : str, default ""
        Which trials `n_trials` counts, for the report.
    bets : ReturnMoments or None, default None
        Moments of the per-bet returns (``n_obs`` = number of bets); ``None`` when the
        positions are unknown, and the track record is then counted in bars.
    bars_per_bet : float, default 1.0
        Mean length of a bet in bars; converts the per-bar ``SR*`` to per bet.
    """

    strategy: str
    moments: ReturnMoments
    n_trials: int
    sr_variance: float
    pbo: float | None
    walk_forward_sharpe: float | None
    deflation_source: str = ""
    bets: ReturnMoments | None = None
    bars_per_bet: float = 1.0


@dataclass(frozen=True)
class Criterion:
    """One criterion's value, its threshold and the comparison between them."""

    name: str
    value: float
    threshold: float
    comparison: str  # ">=", "<=", ">"
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class GateVerdict:
    """All criteria of one strategy and the overall pass/fail."""

    strategy: str
    criteria: tuple[Criterion, ...]

    @property
    def passed(self) -> bool:
        """Whether every evaluated criterion passed.

        ``False`` when none was evaluated: the absence of evidence is not evidence.
        """
        return bool(self.criteria) and all(c.passed for c in self.criteria)

    def to_frame(self) -> pd.DataFrame:
        """The verdict as a table.

        Returns
        -------
        pandas.DataFrame
            One row per criterion: ``criterion, value, comparison, threshold, passed,
            detail``.
        """
        return pd.DataFrame(
            [
                {
                    "criterion": c.name,
                    "value": c.value,
                    "comparison": c.comparison,
                    "threshold": c.threshold,
                    "passed": c.passed,
                    "detail": c.detail,
                }
                for c in self.criteria
            ]
        )

    def __str__(self) -> str:
        """One line for the verdict, then one per criterion."""
        lines = [f"{self.strategy}: {'PASS' if self.passed else 'FAIL'}"]
        for c in self.criteria:
            mark = "pass" if c.passed else "FAIL"
            lines.append(
                f"  {c.name:<13} {c.value:>12.6g} {c.comparison} {c.threshold:<10.6g} {mark}"
            )
        return "\n".join(lines)


def _check(name: str, value: float | None, op: str, threshold: float, detail: str) -> Criterion:
    if value is None or math.isnan(value):
        ok = False
    elif op == ">=":
        ok = value >= threshold
    elif op == ">":
        ok = value > threshold
    else:
        ok = value <= threshold
    return Criterion(name, math.nan if value is None else float(value), threshold, op, ok, detail)


MIN_BETS = 3  # fewer bets have no skew/kurtosis, hence no MinTRL


def _track_record(inputs: GateInputs, cfg: GateConfig) -> Criterion:
    """Bets >= MinTRL in bets (bars beside in the detail), or bars when no bets are known."""
    m = inputs.moments
    alpha, benchmark = cfg.track_record_alpha, cfg.track_record_sr_benchmark
    mintrl_bars = min_track_record_length(m.sr, benchmark, m.skew, m.kurtosis, alpha)
    in_bars = f"in bars: {m.n_obs:,} vs MinTRL {mintrl_bars:,.0f}"
    b = inputs.bets
    if b is None:
        return _check(
            "track_record", float(m.n_obs), ">=", mintrl_bars, f"MinTRL at alpha={alpha}; {in_bars}"
        )
    if b.n_obs < MIN_BETS:
        mintrl = math.inf
    else:
        bench = benchmark * math.sqrt(inputs.bars_per_bet)
        mintrl = min_track_record_length(b.sr, bench, b.skew, b.kurtosis, alpha)
    detail = (
        f"in independent bets: {b.n_obs:,} bets of {inputs.bars_per_bet:.1f} bars "
        f"(bet kurtosis {b.kurtosis:.3g}) vs MinTRL {mintrl:,.1f} bets at alpha={alpha}; "
        f"{in_bars}"
    )
    return _check("track_record", float(b.n_obs), ">=", mintrl, detail)


def evaluate_gate(inputs: GateInputs, config: GateConfig | None = None) -> GateVerdict:
    """Apply the gate's criteria to one strategy's evidence.

    Parameters
    ----------
    inputs : GateInputs
        The strategy's evidence.
    config : GateConfig, optional
        Thresholds and enabled criteria (default :class:`GateConfig`).

    Returns
    -------
    GateVerdict
        One criterion per entry of ``config.criteria``, in that order; it passes when all
        do. A criterion whose input is missing or NaN fails.

    Raises
    ------
    crypto_strategy_lab.validation.sharpe.SharpeStatisticsError
        If the moments are outside the domain of the DSR or MinTRL.

    Notes
    -----
    ``dsr``: :func:`~crypto_strategy_lab.validation.deflated_sharpe_ratio` of the moments
    >= ``min_dsr``. ``track_record``: number of bets >= MinTRL of the per-bet returns, with
    the benchmark scaled to a bet as ``SR* sqrt(bars_per_bet)`` (i.i.d. bars; fewer than 3
    bets give an infinite MinTRL), or bars >= MinTRL of the per-bar returns when no bets are
    known. ``pbo`` <= ``max_pbo``; ``walk_forward`` > ``min_walk_forward_sharpe``.
    """
    cfg = config or GateConfig()
    m = inputs.moments
    out = []
    for name in cfg.criteria:
        if name == "dsr":
            dsr = deflated_sharpe_ratio(
                m.sr, m.n_obs, m.skew, m.kurtosis, inputs.n_trials, inputs.sr_variance
            )
            out.append(
                _check(
                    "dsr",
                    dsr,
                    ">=",
                    cfg.min_dsr,
                    f"n_trials={inputs.n_trials}, V[SR]={inputs.sr_variance:.3g}"
                    + (f"; {inputs.deflation_source}" if inputs.deflation_source else ""),
                )
            )
        elif name == "track_record":
            out.append(_track_record(inputs, cfg))
        elif name == "pbo":
            detail = "" if inputs.pbo is not None else "not computed (fewer than 2 configs)"
            out.append(_check("pbo", inputs.pbo, "<=", cfg.max_pbo, detail))
        else:
            detail = "" if inputs.walk_forward_sharpe is not None else "not computed"
            out.append(
                _check(
                    "walk_forward",
                    inputs.walk_forward_sharpe,
                    ">",
                    cfg.min_walk_forward_sharpe,
                    detail,
                )
            )
    return GateVerdict(inputs.strategy, tuple(out))
