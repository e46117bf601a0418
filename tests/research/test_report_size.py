"""The lab report stays under 3 MB: plotly.js compressed once, figures thinned and shared."""

from __future__ import annotations

import dataclasses
import math

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
#: Bytes of the page that do not grow with the lab (template, styles, loader, figure template).
FIXED = 50_000
#: Bytes a lab row or a book may add to the page (its gate and study rows, compressed tear
#: sheet and curves): 3 MB holds plotly.js (< 2 MB) and about 100 rows and books. A report
#: that listed every dataset in every row, or drew 1,000-point curves, used 21 kB a row on
#: the three-asset lab below. The BTC/ETH/SOL 5m files make 65 rows and 18 books (and 28
#: pooled rows, a few kB each): 2.85 MB.
PER_ROW = 10_000


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
    # a drawdown is drawn on the equity line's x array (one array in the page for both)
    assert dd.index.equals(line.index)
    # the deepest point is drawn within one run of bars of where it happened
    run = math.ceil(len(equity) / ((MAX_POINTS - 1) // 2))
    deepest = drawdown.index.get_loc(drawdown.idxmin())
    assert abs(equity.index.get_loc(dd.idxmin()) - deepest) <= run


def test_a_shared_array_is_stored_once():
    import plotly.graph_objects as go

    bundle = FigureBundle()
    x, y = list(range(200)), [i + 0.5 for i in range(200)]
    for k in range(3):
        bundle.add(go.Figure(go.Scatter(x=x, y=y if k else [0.0] * 200)), f"f{k}")
    assert len(bundle._axes) == 3  # one x, two distinct y
    with pytest.raises(ValueError, match="two figures"):
        bundle.add(go.Figure(), "f0")


def test_a_multi_asset_report_grows_by_a_bounded_size_per_row(tmp_path):
    """Three assets on one clock, two strategies: six rows and three books. The page beyond
    plotly.js stays within a fixed part and :data:`PER_ROW` per row and book, so nothing in
    it grows with the square of the assets (a row listing every dataset) or with the bars."""
    data = [lab_data(planted_edge_bars(seed).iloc[:1500], f"asset{seed}") for seed in range(3)]
    result = quick_lab(data, ["lag_autocorr", "true_range_divergence"], tmp_path, families=2)
    assert (len(result.assessments), len(result.books)) == (6, 3)
    size = write_report(result, tmp_path / "reports").stat().st_size
    plotly = len(plotly_js_gzip())
    assert plotly < 2_000_000
    assert size - plotly <= FIXED + PER_ROW * (len(result.assessments) + len(result.books))


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
