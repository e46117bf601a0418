"""The lab report stays under 3 MB: plotly.js compressed once, figures thinned and shared."""

from __future__ import annotations

import dataclasses

import pytest

from crypto_strategy_lab.research.figure_bundle import (
    MAX_POINTS,
    FigureBundle,
    plotly_js_gzip,
    thin_extremes,
    thin_line,
)
from crypto_strategy_lab.research.inputs import bundled_data
from crypto_strategy_lab.research.lab import run_lab
from crypto_strategy_lab.research.report import write_report
from tests.conftest import make_random_walk_bars

from .conftest import lab_data, planted_edge_bars, quick_lab

LIMIT = 3_000_000
#: Bytes a lab row may add to the page (its tear sheet, curves, table rows): the bundled lab
#: has 27 evaluated rows, so 2 MB of plotly.js + 27 * 30 kB stays under the limit.
PER_ROW = 30_000


def test_thinning_bounds_the_points_and_keeps_the_extremes():
    bars = make_random_walk_bars(20_000, seed=2)
    equity = bars["close"] / bars["close"].iloc[0]
    drawdown = equity / equity.cummax() - 1.0
    line, dd = thin_line(equity), thin_extremes(drawdown)
    assert len(line) <= MAX_POINTS and len(dd) <= MAX_POINTS
    assert line.index[0] == equity.index[0] and line.index[-1] == equity.index[-1]
    assert dd.min() == drawdown.min() and dd.max() == drawdown.max()
    assert dd.index.is_monotonic_increasing
    assert thin_line(equity.iloc[:50]).equals(equity.iloc[:50])  # short lines are kept whole


def test_a_shared_array_is_stored_once():
    import plotly.graph_objects as go

    bundle = FigureBundle()
    x, y = list(range(200)), [i + 0.5 for i in range(200)]
    for k in range(3):
        bundle.add(go.Figure(go.Scatter(x=x, y=y if k else [0.0] * 200)), f"f{k}")
    assert len(bundle._axes) == 3  # one x, two distinct y
    with pytest.raises(ValueError, match="two figures"):
        bundle.add(go.Figure(), "f0")


def test_report_bytes_per_row(tmp_path):
    data = lab_data(planted_edge_bars(0).iloc[:2500], "planted-ar1")
    result = quick_lab(data, ["lag_autocorr", "true_range_divergence"], tmp_path, families=2)
    size = write_report(result, tmp_path / "reports").stat().st_size
    plotly = len(plotly_js_gzip())
    assert plotly < 2_000_000
    assert size - plotly < 50_000 + PER_ROW * len(result.assessments)


@pytest.mark.slow
def test_bundled_quick_lab_report_is_under_3_mb(tmp_path):
    result = run_lab(
        [bundled_data("crypto"), bundled_data("stocks")],
        quick=True,
        journal=f"sqlite:///{tmp_path / 'journal.sqlite'}",
        cache_dir=tmp_path / "cache",
    )
    result = dataclasses.replace(result, report_path=write_report(result, tmp_path / "reports"))
    assert result.report_path.stat().st_size <= LIMIT
