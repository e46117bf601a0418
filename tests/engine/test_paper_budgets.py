"""A paper run's estimated weightings take each strategy's returns from the caller's
``unit_returns`` (the engine never backtests), on the history before the traded period only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.engine.paper import build_simulated_run
from crypto_strategy_lab.risk import RiskLimits

NAMES = ["lag_autocorr", "variance_ratio"]
#: per-bar return volatility each fake strategy reports
VOLS = {"lag_autocorr": 0.01, "variance_ratio": 0.02}


def test_inverse_volatility_budgets_come_from_unit_returns_before_the_start(journal) -> None:
    seen: list[tuple[str, pd.Timestamp]] = []

    def fake_returns(strategy, bars, costs, market) -> pd.Series:
        seen.append((strategy.name, bars.index[-1]))
        signs = np.resize([1.0, -1.0], len(bars))  # std VOLS exactly (ddof 0), mean 0
        return pd.Series(VOLS[strategy.name] * signs, index=bars.index)

    limits = RiskLimits(max_position_fraction=1.0, max_gross_exposure=1.0)
    engine, feed = build_simulated_run(
        journal, NAMES, days=1, capital=1000.0, limits=limits,
        weighting="inverse_volatility", unit_returns=fake_returns,
    )  # fmt: skip
    assert sorted(name for name, _ in seen) == NAMES
    assert all(last < feed.start for _, last in seen)
    # naive risk parity by hand: b_s = G (1 / vol_s) / sum_j (1 / vol_j), G = 1
    inverse = {n: 1.0 / v for n, v in VOLS.items()}
    expected = {n: x / sum(inverse.values()) for n, x in inverse.items()}
    assert engine.run_config["allocation"] == pytest.approx(expected, rel=1e-3)


def test_an_estimated_weighting_without_unit_returns_is_refused(journal) -> None:
    with pytest.raises(TypeError, match="unit_returns"):
        build_simulated_run(journal, NAMES, days=1, capital=1000.0, weighting="fractional_kelly")
