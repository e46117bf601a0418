"""From a study to the gate's evidence about one strategy, and the verdict.

The same pipeline as the gate calibration (:mod:`crypto_strategy_lab.validation.calibration`),
so that its false-pass rate and power describe this decision:

1. **selection**: the configuration with the best full-sample per-period Sharpe ratio;
2. **DSR** of that configuration, deflated by ``n_trials`` and ``V[SR]`` read from the trial
   log for the strategy on this dataset (every logged trial, all studies:
   :func:`~crypto_strategy_lab.research.study.logged_trial_statistics`);
3. **MinTRL** from the selected returns' SR, skew and raw kurtosis; the track record is the
   number of bars after warm-up;
4. **PBO** by CSCV over the study's ``(T, N)`` returns matrix (``S`` from the gate config);
5. **walk-forward**: 4 rolling folds (:func:`~crypto_strategy_lab.validation.
   walk_forward_splits`), each choosing the best in-sample configuration and keeping its next
   test window; the concatenated out-of-sample returns' per-period Sharpe ratio. No purge is
   needed: a return at bar t comes from the position set at bar t-1's close, so the in-sample
   selection sees nothing of the test window.

A criterion whose input cannot be computed (one configuration, too few rows) fails, as the
gate itself decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.performance.metrics import ReturnMoments, return_moments
from crypto_strategy_lab.research.study import StudyResult, logged_trial_statistics
from crypto_strategy_lab.validation.gate import GateConfig, GateInputs, GateVerdict, evaluate_gate
from crypto_strategy_lab.validation.pbo import PBOError, PBOResult, pbo_logits
from crypto_strategy_lab.validation.splits import SplitError, walk_forward_splits
from crypto_strategy_lab.validation.trial_log import TrialLog
from crypto_strategy_lab.validation.walk_forward import WalkForwardResult, walk_forward_select

WALK_FORWARD_FOLDS = 4


@dataclass(frozen=True)
class StrategyAssessment:
    """Everything the lab reports about one strategy."""

    strategy: str
    study: StudyResult
    selected: str
    selected_params: dict[str, Any]
    moments: ReturnMoments
    n_trials: int
    sr_variance: float
    pbo: PBOResult | None
    walk_forward: WalkForwardResult | None
    verdict: GateVerdict

    @property
    def returns(self) -> pd.Series:
        """The selected configuration's per-bar net returns (in-sample selection)."""
        return self.study.returns[self.selected].rename(self.strategy)

    def criterion(self, name: str) -> float:
        """The value of one gate criterion (NaN if the gate does not check it)."""
        for c in self.verdict.criteria:
            if c.name == name:
                return c.value
        return float("nan")

    def threshold(self, name: str) -> float:
        for c in self.verdict.criteria:
            if c.name == name:
                return c.threshold
        return float("nan")


def assess_study(
    study: StudyResult,
    trial_log: TrialLog,
    config: GateConfig | None = None,
    *,
    wf_folds: int = WALK_FORWARD_FOLDS,
) -> StrategyAssessment:
    """Select, deflate, cross-validate and gate one strategy's study (module docstring)."""
    cfg = config or GateConfig()
    matrix = study.returns
    srs = matrix.mean() / matrix.std(ddof=1)
    selected = str(srs.fillna(-np.inf).idxmax())
    moments = return_moments(matrix[selected])
    n_trials, variance = logged_trial_statistics(trial_log, study.spec.strategy, study.spec.symbol)
    try:
        pbo = pbo_logits(matrix, n_splits=cfg.pbo_splits)
    except PBOError:
        pbo = None
    try:
        wf = walk_forward_select(matrix, walk_forward_splits(len(matrix), n_splits=wf_folds))
    except SplitError:
        wf = None
    inputs = GateInputs(
        strategy=study.spec.strategy,
        moments=moments,
        n_trials=n_trials,
        sr_variance=variance,
        pbo=None if pbo is None else pbo.pbo,
        walk_forward_sharpe=None if wf is None else wf.oos_sharpe,
    )
    return StrategyAssessment(
        strategy=study.spec.strategy,
        study=study,
        selected=selected,
        selected_params=study.trials.loc[selected, "params"],
        moments=moments,
        n_trials=n_trials,
        sr_variance=variance,
        pbo=pbo,
        walk_forward=wf,
        verdict=evaluate_gate(inputs, cfg),
    )
