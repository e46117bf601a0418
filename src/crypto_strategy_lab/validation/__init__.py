"""Validation: PSR/DSR/MinTRL, PBO, walk-forward and CPCV, the trial log and the gate.

Performance metrics (re-exported from :mod:`crypto_strategy_lab.performance`), PSR/DSR/MinTRL,
PBO (CSCV), walk-forward and CPCV splits, the trial log, orthogonality and the gate.

Conventions: Sharpe ratios inside PSR/DSR/MinTRL are per period (not annualised); kurtosis is
raw (3 = normal); ``n_trials`` and the variance of Sharpe ratios come from the trial log.

The trial log (:mod:`.trial_log`) imports SQLAlchemy models; import it explicitly.
"""

from crypto_strategy_lab.performance.metrics import ReturnMoments, return_moments, sharpe_ratio
from crypto_strategy_lab.validation.calibration import calibrate_gate
from crypto_strategy_lab.validation.gate import (
    GateConfig,
    GateInputs,
    evaluate_gate,
    load_gate_config,
)
from crypto_strategy_lab.validation.orthogonality import orthogonality_report
from crypto_strategy_lab.validation.pbo import pbo_logits, probability_of_backtest_overfitting
from crypto_strategy_lab.validation.sharpe import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    min_track_record_length,
    probabilistic_sharpe_ratio,
)
from crypto_strategy_lab.validation.splits import (
    combinatorial_purged_splits,
    cpcv_paths,
    walk_forward_splits,
)
from crypto_strategy_lab.validation.walk_forward import walk_forward_select

__all__ = [
    "GateConfig",
    "GateInputs",
    "ReturnMoments",
    "calibrate_gate",
    "combinatorial_purged_splits",
    "cpcv_paths",
    "deflated_sharpe_ratio",
    "evaluate_gate",
    "expected_max_sharpe",
    "load_gate_config",
    "min_track_record_length",
    "orthogonality_report",
    "pbo_logits",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "return_moments",
    "sharpe_ratio",
    "walk_forward_select",
    "walk_forward_splits",
]
