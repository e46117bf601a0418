"""The pooled cross-asset verdict: the equal-weight mean of the assets' returns per
configuration, through the same gate with the family's N, recomputed here independently."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from crypto_strategy_lab.performance.metrics import return_moments
from crypto_strategy_lab.research.lab import verdict_table
from crypto_strategy_lab.research.report import write_report
from crypto_strategy_lab.research.results import RESULTS_FILE
from crypto_strategy_lab.validation.gate import GateInputs, evaluate_gate
from crypto_strategy_lab.validation.pbo import probability_of_backtest_overfitting
from crypto_strategy_lab.validation.splits import walk_forward_splits
from crypto_strategy_lab.validation.trial_log import TrialLog
from crypto_strategy_lab.validation.walk_forward import walk_forward_select

from .conftest import lab_data, planted_edge_bars, quick_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pooled")
    journal = f"sqlite:///{tmp / 'journal.sqlite'}"
    # three assets on one clock; the third shorter, so the pool is on the shared timestamps
    data = [lab_data(planted_edge_bars(s).iloc[:1500], f"asset{s}") for s in range(2)]
    data.append(lab_data(planted_edge_bars(2).iloc[200:1500], "asset2"))
    result = quick_lab(data, ["lag_autocorr"], tmp, families=2, journal=journal)
    return result, journal, write_report(result, tmp / "reports")


def test_pooled_returns_are_the_mean_of_the_assets_on_shared_timestamps(lab):
    result, _, _ = lab
    (pooled,) = result.pooled
    assert pooled.label == "lag_autocorr 1h crypto pooled"
    assert len(pooled.members) == 3 == len(result.assessments)
    matrix = pooled.assessment.study.returns
    shared = None
    for m in pooled.members.values():
        shared = (
            m.study.returns.index if shared is None else shared.intersection(m.study.returns.index)
        )
    assert matrix.index.equals(shared) and len(shared) < len(result.assessments[0].returns)
    for col in matrix.columns:
        params = pooled.assessment.study.trials.at[col, "params"]
        stop = pooled.assessment.study.trials.at[col, "stop"]
        per_asset = []
        for m in pooled.members.values():
            t = m.study.trials
            (label,) = [
                c for c in t.index if t.at[c, "params"] == params and t.at[c, "stop"] == stop
            ]
            per_asset.append(m.study.returns[label].loc[shared].to_numpy())
        np.testing.assert_allclose(matrix[col].to_numpy(), np.mean(per_asset, axis=0), rtol=1e-12)


def test_pooled_verdict_is_the_gate_with_the_familys_n(lab):
    result, journal, _ = lab
    (pooled,) = result.pooled
    a = pooled.assessment
    log = TrialLog(journal)
    families = a.deflation.families
    assert len(families) == 3  # each asset is its own family, and the search spans them
    logged = pd.concat([log.trials(family=f) for f in families])
    # nothing new is logged for the pool: N is every per-asset trial, as for each asset's row
    assert a.deflation.n_trials == len(logged) == result.assessments[0].deflation.n_trials
    matrix = a.study.returns
    assert a.selected == matrix.columns[(matrix.mean() / matrix.std()).argmax()]
    pbo = probability_of_backtest_overfitting(matrix, n_splits=result.gate.pbo_splits)
    wf = walk_forward_select(matrix, walk_forward_splits(len(matrix), n_splits=4))
    inputs = GateInputs("lag_autocorr", return_moments(matrix[a.selected]), len(logged),
                        float(logged["sr"].var(ddof=1)), pbo, wf.oos_sharpe,
                        a.deflation.describe(), return_moments(a.bets.returns),
                        a.bets.bars_per_bet)  # fmt: skip
    expected = evaluate_gate(inputs, result.gate)
    for want, got in zip(expected.criteria, a.verdict.criteria, strict=True):
        assert (want.name, want.passed) == (got.name, got.passed)
        assert got.value == pytest.approx(want.value, rel=1e-9, nan_ok=True)


def test_pooled_row_in_the_table_the_report_and_results_json(lab):
    result, _, path = lab
    (pooled,) = result.pooled
    a = pooled.assessment
    console = Console(record=True, width=250)
    console.print(verdict_table(result))
    assert pooled.label in console.export_text()
    html = path.read_text()
    assert f'data-strategy="{pooled.label}"' in html
    assert "Pooled across the 3 assets" in html
    rows = {r["label"]: r for r in json.loads((path.parent / RESULTS_FILE).read_text())["gate"]}
    row = rows[pooled.label]
    assert row["pooled"] and row["symbol"] == "pooled"
    assert row["assets"] == ["asset0@1h", "asset1@1h", "asset2@1h"]
    assert row["sr_annual"] == pytest.approx(a.moments.sr * math.sqrt(a.study.periods_per_year))
    assert row["family_trials"] == a.deflation.n_trials
    for c in a.verdict.criteria:
        assert row[c.name] == (None if math.isnan(c.value) else c.value)
        assert row[f"{c.name}_passed"] == c.passed
    # the benchmark: a third of the capital held in each asset, rebalanced every bar
    curves = pd.read_csv(path.parent / row["returns_csv"], index_col=0, parse_dates=True)
    np.testing.assert_allclose(curves["net_return"], a.returns.to_numpy(), rtol=1e-12)
    closes = pd.DataFrame(
        {n: result.cell_bars(m.strategy)["close"] for n, m in pooled.members.items()}
    )
    held = (closes / closes.shift(1)).loc[a.returns.index].to_numpy()
    expected = np.cumprod(held.mean(axis=1))
    np.testing.assert_allclose(curves["buy_and_hold"], expected, rtol=1e-9)
    assert row["buy_and_hold_return"] == pytest.approx(expected[-1] - 1.0, rel=1e-9)
    assert row["total_return"] == pytest.approx(np.prod(1.0 + a.returns.to_numpy()) - 1.0)
