"""From a study to the gate's evidence about one strategy, and the verdict.

The same pipeline as the gate calibration (:mod:`crypto_strategy_lab.validation.calibration`),
so that its false-pass rate and power describe this decision:

1. **selection**: the configuration with the best full-sample per-period Sharpe ratio;
2. **DSR** of that configuration, deflated by ``n_trials`` and ``V[SR]`` of every trial
   logged on the data's family — all strategies, timeframes, parameter sets, studies, copies
   and resamplings of the data, and every family of a multi-asset search
   (:meth:`~crypto_strategy_lab.validation.trial_log.TrialLog.deflation`);
3. **MinTRL** in independent bets: from the selected configuration's per-bet returns
   (:mod:`crypto_strategy_lab.validation.bets`), compared with its number of bets (the
   bar-count figures are reported beside);
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

from crypto_strategy_lab.performance.metrics import ReturnMoments, return_moments, sharpe_ratios
from crypto_strategy_lab.research.study import StudyResult
from crypto_strategy_lab.research.verdicts import STOPS
from crypto_strategy_lab.validation.bets import Bets, bets_of
from crypto_strategy_lab.validation.gate import GateConfig, GateInputs, GateVerdict, evaluate_gate
from crypto_strategy_lab.validation.pbo import PBOError, PBOResult, pbo_logits
from crypto_strategy_lab.validation.splits import SplitError, walk_forward_splits
from crypto_strategy_lab.validation.trial_log import Deflation, TrialLog
from crypto_strategy_lab.validation.walk_forward import WalkForwardResult, walk_forward_select

WALK_FORWARD_FOLDS = 4


@dataclass(frozen=True)
class StrategyAssessment:
    """Everything the lab reports about one strategy.

    Attributes
    ----------
    strategy : str
        The strategy's name, or the lab row's label once the lab relabels it.
    study : StudyResult
        The study assessed.
    selected : str
        The column label of the configuration selected in-sample (highest per-period SR).
    selected_params : dict of str to Any
        Its full parameters.
    moments : ReturnMoments
        The selected configuration's per-bar return moments (SR per bar, skew, raw
        kurtosis, number of bars).
    deflation : Deflation
        The trial count and SR variance its DSR is deflated by.
    bets : Bets
        Its independent bets (per-bet returns, bars per bet).
    pbo : PBOResult or None
        The CSCV probability of backtest overfitting; ``None`` when it cannot be computed
        (one configuration, too few rows).
    walk_forward : WalkForwardResult or None
        The walk-forward selection's out-of-sample result; ``None`` when the data is too
        short for the folds.
    verdict : GateVerdict
        The gate's criteria and pass/fail.
    """

    strategy: str
    study: StudyResult
    selected: str
    selected_params: dict[str, Any]
    moments: ReturnMoments
    deflation: Deflation
    bets: Bets
    pbo: PBOResult | None
    walk_forward: WalkForwardResult | None
    verdict: GateVerdict

    @property
    def verdict_params(self) -> dict[str, Any]:
        """What the stored verdict says was tested.

        The selected parameters and, under :data:`~crypto_strategy_lab.research.verdicts.STOPS`,
        the selected configuration's stop policy (``csl live`` compares both with what it would
        trade).
        """
        stops = self.study.trial_settings(self.selected).stop_identity()
        return {**self.selected_params, STOPS: stops}

    @property
    def n_trials(self) -> int:
        """The family's trial count the DSR was deflated by."""
        return self.deflation.n_trials

    @property
    def sr_variance(self) -> float:
        """The variance of the family's trial Sharpe ratios the DSR was deflated by."""
        return self.deflation.sr_variance

    @property
    def returns(self) -> pd.Series:
        """The selected configuration's per-bar net returns (in-sample selection)."""
        return self.study.returns[self.selected].rename(self.strategy)

    def criterion(self, name: str) -> float:
        """The value of one gate criterion.

        Parameters
        ----------
        name : {"dsr", "track_record", "pbo", "walk_forward"}
            The criterion's name in the verdict.

        Returns
        -------
        float
            Its measured value (the DSR probability, the track record in bets, the PBO, the
            walk-forward statistic); NaN if the gate does not check it, or could not
            compute it.
        """
        for c in self.verdict.criteria:
            if c.name == name:
                return c.value
        return float("nan")

    def threshold(self, name: str) -> float:
        """The threshold of one gate criterion.

        Parameters
        ----------
        name : {"dsr", "track_record", "pbo", "walk_forward"}
            The criterion's name in the verdict.

        Returns
        -------
        float
            The threshold its value was compared with (the MinTRL in bets for
            ``track_record``); NaN if the gate does not check it.
        """
        for c in self.verdict.criteria:
            if c.name == name:
                return c.threshold
        return float("nan")


def _no_bets(bets: Bets) -> ReturnMoments:
    # fewer than 2 bets: the gate fails the track record (fewer than MIN_BETS)
    return ReturnMoments(0.0, bets.n_bets, 0.0, 3.0)


def assess_study(
    study: StudyResult,
    trial_log: TrialLog,
    config: GateConfig | None = None,
    *,
    wf_folds: int = WALK_FORWARD_FOLDS,
    families: tuple[str, ...] | None = None,
) -> StrategyAssessment:
    """Select, deflate, cross-validate and gate one strategy's study (module docstring).

    Parameters
    ----------
    study : StudyResult
        The study: per-bar net returns and positions of every configuration.
    trial_log : TrialLog
        Where the deflation's trial count and Sharpe-ratio variance come from.
    config : GateConfig, optional
        The gate (default ``GateConfig()``).
    wf_folds : int, default ``WALK_FORWARD_FOLDS``
        Walk-forward folds.
    families : tuple of str, optional
        The data families the search spanned (default: the study's own; a multi-asset search
        passes every asset's family, so the DSR counts every asset).

    Returns
    -------
    StrategyAssessment
        The selected configuration, its moments, deflation, bets, PBO and walk-forward
        results (``None`` where the data is too short for them) and the gate's verdict.

    Raises
    ------
    TrialLogError
        If the trial log holds no trial of the study's strategy on ``families``.

    Notes
    -----
    The selected configuration is the one of highest in-sample per-period Sharpe ratio
    (:func:`~crypto_strategy_lab.performance.metrics.sharpe_ratios`, the calibration's rule:
    ``mean / std`` with ``ddof=1``, ``0`` for a constant column; NaN ranks last). Its DSR is
    deflated by ``n_trials`` and ``V[SR]`` of every trial the trial log holds for
    ``families``, of every strategy
    (:meth:`~crypto_strategy_lab.validation.trial_log.TrialLog.deflation`; Bailey & López de
    Prado 2014, "The Deflated Sharpe Ratio", J. of Portfolio Management 40(5)); the PBO is
    CSCV over every configuration with ``config.pbo_splits`` blocks (Bailey, Borwein, López de
    Prado & Zhu 2017, "The Probability of Backtest Overfitting", J. of Computational Finance
    20(4)); MinTRL is measured in bets (the gate fails a track record of too few bets).
    """
    cfg = config or GateConfig()
    matrix = study.returns
    srs = sharpe_ratios(matrix)
    selected = str(srs.fillna(-np.inf).idxmax())
    moments = return_moments(matrix[selected])
    deflation = trial_log.deflation(
        families or (study.data.family,), study.spec.strategy, study.periods_per_year
    )
    bets = bets_of(matrix[selected], study.positions[selected])
    bet_moments = return_moments(bets.returns) if bets.n_bets >= 2 else None
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
        n_trials=deflation.n_trials,
        sr_variance=deflation.sr_variance,
        pbo=None if pbo is None else pbo.pbo,
        walk_forward_sharpe=None if wf is None else wf.oos_sharpe,
        deflation_source=deflation.describe(),
        bets=bet_moments if bet_moments is not None else _no_bets(bets),
        bars_per_bet=bets.bars_per_bet,
    )
    return StrategyAssessment(
        strategy=study.spec.strategy,
        study=study,
        selected=selected,
        selected_params=study.trials.loc[selected, "params"],
        moments=moments,
        deflation=deflation,
        bets=bets,
        pbo=pbo,
        walk_forward=wf,
        verdict=evaluate_gate(inputs, cfg),
    )
