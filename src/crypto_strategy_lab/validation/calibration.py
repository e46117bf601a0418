"""Gate calibration: false-pass rate on pure noise, pass rate (power) with a planted edge.

Each *family* imitates one study of one strategy: ``n_configs`` configurations' returns over
``n_obs`` bars, drawn as Student-t(``df``) noise (fat tails, raw kurtosis 3 + 6/(df-4)) with a
common factor of correlation ``rho`` between configurations (neighbouring parameters trade
alike). Under the null every configuration has true Sharpe 0; with ``edge_sr > 0`` the first
configuration's true per-period Sharpe ratio is ``edge_sr``.

The family goes through the same pipeline as a real strategy in the lab: the configuration
with the best full-sample Sharpe is selected; DSR deflates it by ``n_trials = n_configs`` and
the variance of the family's Sharpe ratios (what the trial log would hold); PBO is CSCV over
the family's matrix; the walk-forward OOS Sharpe comes from rolling in-sample selection. The
gate's verdict is recorded; its pass rate over null families is the false-pass rate (target
<= 5 %), over edge families the power.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crypto_strategy_lab.performance.metrics import return_moments
from crypto_strategy_lab.validation.gate import GateConfig, GateInputs, GateVerdict, evaluate_gate
from crypto_strategy_lab.validation.pbo import probability_of_backtest_overfitting
from crypto_strategy_lab.validation.splits import walk_forward_splits
from crypto_strategy_lab.validation.walk_forward import walk_forward_select


@dataclass(frozen=True)
class CalibrationResult:
    """Share of families passing the gate, and each criterion's pass rate."""

    pass_rate: float
    n_families: int
    criterion_pass_rates: dict[str, float]
    settings: dict[str, float | int] = field(default_factory=dict)


def simulate_family(
    rng: np.random.Generator,
    n_obs: int,
    n_configs: int,
    *,
    edge_sr: float = 0.0,
    rho: float = 0.3,
    df: float = 5.0,
    vol: float = 0.01,
) -> pd.DataFrame:
    """``(n_obs, n_configs)`` returns: unit-variance t noise mixed with a common factor
    (correlation ``rho``), scaled to ``vol``; configuration 0 gets mean ``edge_sr * vol``."""
    scale = np.sqrt((df - 2.0) / df)  # unit variance Student-t
    common = rng.standard_t(df, size=(n_obs, 1)) * scale
    own = rng.standard_t(df, size=(n_obs, n_configs)) * scale
    z = np.sqrt(rho) * common + np.sqrt(1.0 - rho) * own
    returns = vol * z
    returns[:, 0] += edge_sr * vol
    index = pd.date_range("2020-01-01", periods=n_obs, freq="1D", tz="UTC")
    return pd.DataFrame(returns, index=index)


def evaluate_family(returns: pd.DataFrame, config: GateConfig, n_wf_splits: int = 4) -> GateVerdict:
    """Run one family through selection, DSR, MinTRL, PBO and walk-forward, then the gate."""
    srs = returns.mean() / returns.std(ddof=1)
    best = srs.idxmax()
    wf = walk_forward_select(returns, walk_forward_splits(len(returns), n_splits=n_wf_splits))
    inputs = GateInputs(
        strategy=f"config {best}",
        moments=return_moments(returns[best]),
        n_trials=returns.shape[1],
        sr_variance=float(srs.var(ddof=1)),
        pbo=probability_of_backtest_overfitting(returns, n_splits=config.pbo_splits),
        walk_forward_sharpe=wf.oos_sharpe,
    )
    return evaluate_gate(inputs, config)


def gate_pass_rate(
    *,
    n_families: int = 200,
    n_obs: int = 1000,
    n_configs: int = 20,
    edge_sr: float = 0.0,
    rho: float = 0.3,
    df: float = 5.0,
    seed: int = 0,
    config: GateConfig | None = None,
) -> CalibrationResult:
    """Pass rate of the gate over ``n_families`` simulated families (see module docstring).

    With ``edge_sr = 0`` this is the false-pass rate; with ``edge_sr > 0`` the power.
    """
    cfg = config or GateConfig()
    rng = np.random.default_rng(seed)
    passes = 0
    by_criterion = dict.fromkeys(cfg.criteria, 0)
    for _ in range(n_families):
        family = simulate_family(rng, n_obs, n_configs, edge_sr=edge_sr, rho=rho, df=df)
        verdict = evaluate_family(family, cfg)
        passes += verdict.passed
        for c in verdict.criteria:
            by_criterion[c.name] += c.passed
    settings = {
        "n_obs": n_obs,
        "n_configs": n_configs,
        "edge_sr": edge_sr,
        "rho": rho,
        "df": df,
        "seed": seed,
        "pbo_splits": cfg.pbo_splits,
    }
    return CalibrationResult(
        passes / n_families,
        n_families,
        {k: v / n_families for k, v in by_criterion.items()},
        settings,
    )


def calibrate_gate(
    *,
    n_families: int = 500,
    n_obs: int = 2000,
    n_configs: int = 50,
    edge_sr: float = 0.1,
    seed: int = 0,
    config: GateConfig | None = None,
) -> dict[str, CalibrationResult]:
    """False-pass rate (pure noise) and power (``edge_sr`` planted) at the same sizes.

    The defaults are the full-size run of ``benchmarks/backtest.py`` and the slow test; the
    fast test uses fewer, shorter families.
    """
    common = {"n_families": n_families, "n_obs": n_obs, "n_configs": n_configs, "config": config}
    return {
        "false_pass": gate_pass_rate(edge_sr=0.0, seed=seed, **common),
        "power": gate_pass_rate(edge_sr=edge_sr, seed=seed + 1, **common),
    }
