"""Shared fixtures of the research tests: small synthetic datasets and a temp journal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crypto_strategy_lab.data.synthetic import ar_bars, gbm_bars
from crypto_strategy_lab.research.executors import LocalExecutor
from crypto_strategy_lab.research.inputs import LabData
from crypto_strategy_lab.research.lab import CalibrationSettings, LabResult, run_lab
from crypto_strategy_lab.validation.trial_log import TrialLog


def planted_edge_bars(seed: int) -> pd.DataFrame:
    """AR(1) log returns with phi = 0.35 (sigma 0.5 % per hour): a lag-1 autocorrelation a
    lag_autocorr rule can trade through the default costs."""
    return ar_bars(4000, 0.35, sigma=0.005, seed=seed)


def noise_bars(seed: int) -> pd.DataFrame:
    """A driftless random walk of the same size and volatility: no edge to find."""
    return gbm_bars(4000, sigma=0.005, seed=seed)


def lab_data(bars: pd.DataFrame, name: str) -> LabData:
    return LabData(name, bars, f"synthetic series '{name}'", "no cleaning (synthetic)", "perp")


def quick_lab(
    data: LabData, strategies: list[str], tmp: Path, *, families: int, **kwargs: object
) -> LabResult:
    """The small lab the research tests run: ``--quick`` grids at the data's own 1h bars, in
    this process, with a journal and a trial cache under ``tmp``."""
    return run_lab(
        data,
        strategies=strategies,
        quick=True,
        calibration=CalibrationSettings(n_families=families),
        journal=kwargs.pop("journal", f"sqlite:///{tmp / 'journal.sqlite'}"),
        executor=LocalExecutor(1),
        cache_dir=tmp / "cache",
        timeframes=["1h"],  # the data's own bar size (the timeframe loop: test_lab_plan.py)
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def journal_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'journal.sqlite'}"


@pytest.fixture
def trial_log(journal_url: str) -> TrialLog:
    return TrialLog(journal_url)


@pytest.fixture
def inline() -> LocalExecutor:
    return LocalExecutor(workers=1)
