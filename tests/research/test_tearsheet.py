"""The tear sheet's numbers against independent computations, capacity against re-runs, and
the machine-readable results against the gate's verdicts as stored."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.research.lab import store_verdicts
from crypto_strategy_lab.research.report import write_report
from crypto_strategy_lab.research.results import RESULTS_FILE, row_slug
from crypto_strategy_lab.research.tearsheet import (
    buy_and_hold_returns,
    cost_attribution,
    lab_book_sheets,
    lab_tear_sheets,
    rerun,
    stated_cost_bps,
    with_cost_per_fill,
)
from crypto_strategy_lab.research.verdicts import VerdictStore

from .conftest import lab_data, planted_edge_bars, quick_lab
from .test_lab import ReportParser, inflate

STRATEGIES = ["lag_autocorr", "true_range_divergence"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tearsheet")
    journal = f"sqlite:///{tmp / 'journal.sqlite'}"
    data = lab_data(planted_edge_bars(0).iloc[:2500], "planted-ar1")
    result = quick_lab(data, STRATEGIES, tmp, families=4, journal=journal)
    path = write_report(result, tmp / "reports")
    result = dataclasses.replace(result, report_path=path)
    store_verdicts(result, journal)
    return result, lab_tear_sheets(result), journal


def test_rerun_of_the_selected_configuration_is_the_studys(lab):
    result, sheets, _ = lab
    for a in result.assessments:
        pd.testing.assert_series_equal(
            sheets[a.strategy].returns, a.returns, check_names=False, rtol=0, atol=0
        )


def test_benchmark_monthly_and_yearly_returns_against_pandas(lab):
    result, sheets, _ = lab
    for a in result.assessments:
        sheet = sheets[a.strategy]
        close = result.cell_bars(a.strategy)["close"]
        start = close.index.get_loc(sheet.returns.index[0])
        # buy and hold from the close before the window's first bar
        assert sheet.benchmark.iloc[-1] == pytest.approx(close.iloc[-1] / close.iloc[start - 1])
        # month-end equity over the previous month-end (the first month over 1)
        equity = sheet.equity.copy()
        equity.index = equity.index.tz_localize(None)
        ends = equity.resample("ME").last()
        expected = ends / ends.shift(1, fill_value=1.0) - 1.0
        got = sheet.monthly.stack()
        assert len(got) == len(expected)
        for (year, month), value in got.items():
            assert value == pytest.approx(expected[f"{year}-{month:02d}"].iloc[0], abs=1e-12)
        years = equity.resample("YE").last()
        yearly = years / years.shift(1, fill_value=1.0) - 1.0
        np.testing.assert_allclose(sheet.yearly["strategy"], yearly.to_numpy(), atol=1e-12)


def test_buy_and_hold_is_held_through_a_missing_close():
    index = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    a = pd.Series([100.0, 110.0, np.nan, 121.0, 133.1], index=index)
    b = pd.Series([10.0, 10.0, 11.0, 11.0, 11.0], index=index)
    # the bar after the gap earns close_after / close_before - 1 = 121 / 110 - 1
    expected_a = [np.nan, 0.1, np.nan, 0.1, 0.1]
    np.testing.assert_allclose(buy_and_hold_returns(a).to_numpy(), expected_a, rtol=1e-12)
    # two assets: the gap bar averages the other asset alone, the bar after it both
    expected_ab = [np.nan, 0.05, 0.1, 0.05, 0.05]
    both = buy_and_hold_returns(pd.DataFrame({"a": a, "b": b}))
    np.testing.assert_allclose(both.to_numpy(), expected_ab, rtol=1e-12)


def test_exposure_and_trades_from_the_backtest(lab):
    result, sheets, _ = lab
    for a in result.assessments:
        sheet = sheets[a.strategy]
        active = float((a.study.positions[a.selected] != 0).mean())
        assert sheet.time_in_market == pytest.approx(active)
        closed = sheet.trades[sheet.trades["exit_reason"] != "open"]
        if len(closed):
            stops = closed["exit_reason"].isin(["stop_loss", "take_profit"]).mean()
            assert sum(sheet.stop_share.values()) == pytest.approx(stops)
        assert sheet.n_trades == len(sheet.trades)
        assert len(sheet.last_trades) == min(25, len(sheet.trades))


def test_cost_attribution_sums_to_gross_minus_net():
    """Gross P&L from the fills at their reference prices (before slippage, no fees) and the
    final position at the last close; net P&L from the equity: they differ by exactly the
    attributed fees, slippage and funding."""
    bars = planted_edge_bars(3).iloc[:1500]
    rng = np.random.default_rng(5)
    signal = pd.Series(np.repeat(rng.choice([-1.0, 0.0, 0.5, 1.0], 150), 10), index=bars.index)
    bt = run_backtest(
        signal, bars, market="perp", costs=CostModel(slippage_bps=3.0, funding_rate_8h=0.0003)
    )
    costs = cost_attribution(bt, bars.index[0])
    f = bt.fills
    gross = float((-f["side"] * f["quantity"] * f["reference"]).sum())
    gross += float(bt.positions.iloc[-1] * bars["close"].iloc[-1])
    assert costs.fees > 0 and costs.slippage > 0 and costs.funding != 0
    assert costs.net_pnl == pytest.approx(bt.equity.iloc[-1] - 10_000.0)
    assert costs.gross_pnl == pytest.approx(gross, rel=1e-9, abs=1e-6)


def test_capacity_curve_and_breakeven_against_reruns(lab):
    result, sheets, _ = lab
    checked = 0
    for a in result.assessments:
        sheet = sheets[a.strategy]
        cap = sheet.capacity
        settings = a.study.trial_settings(a.selected)
        bars = result.cell_bars(a.strategy)
        start = sheet.returns.index[0]
        # re-running the weights at the study's own costs reproduces the study, and so does
        # the curve's point at the stated cost per fill (5.5 bps taker fee + 2 bps slippage)
        same = rerun(sheet.backtest, bars, settings).returns.loc[start:]
        np.testing.assert_array_equal(same.to_numpy(), a.returns.to_numpy())
        assert stated_cost_bps(settings) == pytest.approx(7.5)
        stated = rerun(sheet.backtest, bars, with_cost_per_fill(settings, 7.5))
        np.testing.assert_allclose(stated.returns.loc[start:], a.returns, rtol=1e-12, atol=0)
        net = a.moments.sr * math.sqrt(a.study.periods_per_year)
        assert cap.net_sr[cap.cost_bps.index(7.5)] == pytest.approx(net, rel=1e-9)
        assert list(cap.net_sr) == sorted(cap.net_sr, reverse=True)  # costs only hurt
        if math.isnan(cap.breakeven_bps):
            assert cap.net_sr[0] <= 0.05
            continue
        at_breakeven = rerun(sheet.backtest, bars, with_cost_per_fill(settings, cap.breakeven_bps))
        r = at_breakeven.returns.loc[start:]
        sr = r.mean() / r.std() * math.sqrt(a.study.periods_per_year)
        assert abs(sr) < 0.05 * cap.net_sr[0]  # the linear approximation's error
        checked += 1
    assert checked  # the planted edge breaks even at a positive cost


def test_results_json_is_the_stored_gate(lab):
    result, sheets, journal = lab
    directory = result.report_path.parent
    text = (directory / RESULTS_FILE).read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON: missing is null
    payload = json.loads(text)
    rows = {r["label"]: r for r in payload["gate"]}
    books = {b.label: b for b in result.books}
    assert len(books) == 1  # two strategies on one bar grid make a book
    assert set(rows) == set(result.verdicts) | set(books)
    store = VerdictStore(journal)
    for label, book in books.items():
        stored = store.latest(book.verdict.strategy, label)
        assert stored is not None and stored.run_id == result.run_id
        assert rows[label]["passed"] == stored.verdict.passed == book.verdict.passed
        assert rows[label]["strategy"] == "book"
        assert rows[label]["family_trials"] == book.assessment.deflation.n_trials
        for c in stored.verdict.criteria:
            assert rows[label][c.name] == (None if math.isnan(c.value) else c.value)
    for label, verdict in result.verdicts.items():
        cell = result.cells[label]
        stored = store.latest(cell.strategy, cell.symbol)
        assert stored is not None and stored.run_id == result.run_id
        row = rows[label]
        assert row["passed"] == stored.verdict.passed == verdict.passed
        assert row["verdict"] == ("PASS" if verdict.passed else "FAIL")
        for c in stored.verdict.criteria:
            want = None if math.isnan(c.value) else c.value
            assert row[c.name] == want and row[f"{c.name}_passed"] == c.passed
    for a in result.assessments:
        row = rows[a.strategy]
        assert row["family_trials"] == a.deflation.n_trials
        assert row["strategy_trials"] == a.deflation.strategy_trials
        assert row["sr_annual"] == pytest.approx(a.moments.sr * math.sqrt(a.study.periods_per_year))
        returns = pd.read_csv(directory / row["returns_csv"], index_col=0)
        np.testing.assert_allclose(returns["net_return"], a.returns.to_numpy(), rtol=1e-12)
        trades = pd.read_csv(directory / "trades" / f"{row_slug(a.strategy)}.csv")
        assert len(trades) == sheets[a.strategy].n_trades == row["n_trades"]
    assert payload["thresholds"]["dsr"] == result.gate.min_dsr


def test_parameter_heatmap_is_the_grid_of_the_study(lab):
    result, sheets, _ = lab
    for a in result.assessments:
        hm = sheets[a.strategy].heatmap
        assert hm is not None and hm.y is not None
        trials = a.study.trials
        grid = [
            (p, sr)
            for p, sr, stop in zip(
                trials["params"], trials["sr_annual"], trials["stop"], strict=True
            )
            if stop == "fixed" and p["band"] == 0.0 and p["min_hold"] is None
        ]
        assert hm.sr.size == len(grid) == 4  # quick: two values of each of two axes
        for params, sr in grid:
            assert hm.sr.loc[str(params[hm.y]), str(params[hm.x])] == pytest.approx(sr)


def test_book_budgets_rebuild_the_books_returns(lab):
    result, _, _ = lab
    (book,) = result.books
    weights = book.budgets()
    members = pd.DataFrame({n: m.returns for n, m in book.members.items()}).dropna()
    rebuilt = (weights * members[weights.columns]).sum(axis=1)
    np.testing.assert_array_equal(rebuilt.to_numpy(), book.assessment.returns.to_numpy())
    assert (weights.sum(axis=1) <= book.params["max_gross"] + 1e-12).all()


def test_book_tear_sheet_against_a_loop_over_its_members(lab):
    """Each cost, exposure and turnover of the book is its members' own per bar (from their
    fills and trades) weighted by the budget and the book's equity before the bar: recomputed
    here bar by bar from the fills."""
    result, sheets, _ = lab
    (book,) = result.books
    sheet = lab_book_sheets(result, sheets)[book.label]
    returns = book.assessment.returns
    pd.testing.assert_series_equal(sheet.returns, returns)
    assert sheet.equity.iloc[-1] == pytest.approx(np.prod(1.0 + returns.to_numpy()))
    close = result.cell_bars(next(iter(book.members.values())).strategy)["close"]
    start = close.index.get_loc(returns.index[0])
    assert sheet.benchmark.iloc[-1] == pytest.approx(close.iloc[-1] / close.iloc[start - 1])
    weights = book.budgets()
    members = {}
    for name in weights.columns:
        bt = sheets[book.members[name].strategy].backtest
        f = bt.fills.assign(
            slip=bt.fills["quantity"] * (bt.fills["price"] - bt.fills["reference"]).abs(),
            notional=bt.fills["quantity"] * bt.fills["price"],
        )
        by_bar = {t: g for t, g in f.groupby("time")}
        funded = bt.trades.groupby("entry_time")["funding"].sum().to_dict()
        members[name] = (bt.equity, by_bar, funded)
    equity = 10_000.0
    fees = slippage = funding = traded = 0.0
    for t, r in returns.items():
        for name, (member_equity, by_bar, funded) in members.items():
            pos = member_equity.index.get_loc(t)
            before = member_equity.iloc[pos - 1] if pos else 10_000.0
            sleeve = weights.at[t, name] * equity / before
            funding += sleeve * funded.get(t, 0.0)
            if t in by_bar:
                f = by_bar[t]
                fees += sleeve * f["fee"].sum()
                slippage += sleeve * f["slip"].sum()
                traded += weights.at[t, name] * f["notional"].sum() / before
        equity *= 1.0 + r
    assert sheet.costs.fees == pytest.approx(fees, rel=1e-9)
    assert sheet.costs.slippage == pytest.approx(slippage, rel=1e-9)
    assert sheet.costs.funding == pytest.approx(funding, rel=1e-9, abs=1e-9)
    assert sheet.costs.net_pnl == pytest.approx(equity - 10_000.0, rel=1e-9)
    ppy = book.assessment.study.periods_per_year
    assert sheet.turnover == pytest.approx(traded / len(returns) * ppy, rel=1e-9)
    assert fees > 0 and 0 < sheet.time_in_market <= 1


def test_results_json_has_the_books_gate_and_tear_sheet_numbers(lab):
    result, sheets, _ = lab
    directory = result.report_path.parent
    rows = {r["label"]: r for r in json.loads((directory / RESULTS_FILE).read_text())["gate"]}
    (book,) = result.books
    sheet = lab_book_sheets(result, sheets)[book.label]
    row, a = rows[book.label], book.assessment
    assert row["sr_annual"] == pytest.approx(a.moments.sr * math.sqrt(a.study.periods_per_year))
    assert row["sr_per_bar"] == a.moments.sr and row["n_obs"] == a.moments.n_obs
    assert row["strategy_trials"] == a.deflation.strategy_trials == len(book.candidates)
    members = sum(m.deflation.strategy_trials for m in book.members.values())
    assert row["family_trials"] == a.deflation.n_trials >= members + len(book.candidates)
    for c in a.verdict.criteria:
        assert row[c.name] == (None if math.isnan(c.value) else c.value)
        assert row[f"{c.name}_passed"] == c.passed
    assert row["params"] == json.loads(json.dumps(book.params))
    assert row["costs"]["fees"] == pytest.approx(sheet.costs.fees)
    assert row["turnover_annual"] == pytest.approx(sheet.turnover)
    saved = pd.read_csv(directory / row["returns_csv"], index_col=0)
    np.testing.assert_allclose(saved["net_return"], a.returns.to_numpy(), rtol=1e-12)
    for name in book.params["members"]:
        np.testing.assert_allclose(saved[f"budget:{name}"], book.budgets()[name], rtol=1e-12)
    # the book's tear sheet is one of the page's (compressed: only the first is inline)
    parser = ReportParser()
    parser.feed(result.report_path.read_text())
    sheets_html = json.loads(inflate(parser.blobs["tearsheets-gz"]))
    assert f'data-row="{book.label}" data-kind="book"' in sheets_html[book.label]
