"""The lab end to end on small synthetic data: verdicts, rich table, HTML report, storage."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs
from rich.console import Console

from crypto_strategy_lab.performance.metrics import return_moments
from crypto_strategy_lab.research.executors import LocalExecutor
from crypto_strategy_lab.research.lab import (
    CalibrationSettings,
    run_lab,
    store_verdicts,
    verdict_table,
)
from crypto_strategy_lab.research.report import deflation_text, write_report
from crypto_strategy_lab.research.verdicts import VerdictStore, latest_verdict
from crypto_strategy_lab.validation.gate import GateInputs, evaluate_gate
from crypto_strategy_lab.validation.pbo import probability_of_backtest_overfitting
from crypto_strategy_lab.validation.splits import walk_forward_splits
from crypto_strategy_lab.validation.trial_log import TrialLog
from crypto_strategy_lab.validation.walk_forward import walk_forward_select

from .conftest import lab_data, noise_bars, planted_edge_bars, quick_lab

STRATEGIES = ["lag_autocorr", "variance_ratio", "true_range_divergence", "volatility_clustering"]
SECTIONS = {
    "summary", "gate", "equity", "rolling-sharpe", "tearsheets", "pbo", "orthogonality",
    "calibration", "studies", "data", "costs",
}  # fmt: skip
FIGURES = {"equity-figure", "rolling-sharpe-figure", "pbo-figure", "correlation-figure"}


def inflate(text: str) -> str:
    return gzip.decompress(base64.b64decode(text)).decode("utf-8")


class ReportParser(HTMLParser):
    """Collects section ids, div ids, script tags and the gate table's pass/fail attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: set[str] = set()
        self.divs: set[str] = set()
        self.script_srcs: list[str] = []
        self.rows: dict[str, bool] = {}
        self.cells: dict[str, dict[str, bool]] = {}
        self._row: str | None = None
        self.blobs: dict[str, str] = {}
        self._blob: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.add(a["id"])
        elif tag == "div" and "id" in a:
            self.divs.add(a["id"])
        elif tag == "script" and a.get("src"):
            self.script_srcs.append(a["src"])
        elif tag == "script" and a.get("type") == "application/octet-stream":
            self._blob = a["id"]
        elif tag == "tr" and "data-strategy" in a:
            self._row = a["data-strategy"]
            self.rows[self._row] = a["data-passed"] == "true"
            self.cells[self._row] = {}
        elif tag == "td" and "data-criterion" in a and self._row:
            self.cells[self._row][a["data-criterion"]] = a["data-passed"] == "true"

    def handle_data(self, data):
        if self._blob is not None:
            self.blobs[self._blob] = self.blobs.get(self._blob, "") + data

    def handle_endtag(self, tag):
        if tag == "script":
            self._blob = None


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    journal = f"sqlite:///{tmp / 'journal.sqlite'}"
    # 1,900 bars: volatility_clustering's windows (>= 1,008 bars) exceed half the data
    data = lab_data(planted_edge_bars(0).iloc[:1900], "planted-ar1")
    result = quick_lab(data, STRATEGIES, tmp, families=20, journal=journal)
    path = write_report(result, tmp / "reports")
    result = dataclasses.replace(result, report_path=path)
    store_verdicts(result, journal)
    return result, journal


def test_verdicts_agree_with_the_gate_and_independent_numbers(lab_run):
    result, journal = lab_run
    log = TrialLog(journal)
    assert {a.study.spec.strategy for a in result.assessments} == set(STRATEGIES[:3])
    labels = {f"{n} 1h crypto planted-ar1" for n in STRATEGIES[:3]}
    assert {a.strategy for a in result.assessments} == labels
    logged = log.trials(family=result.assessments[0].study.data.family)
    # the book's candidates (3 weightings x all members and each leave-one-out set) are
    # logged after the members were judged: they deflate the book and later runs
    assert (logged["strategy"] == "book").sum() == 3 * 4
    family = logged[logged["strategy"] != "book"]
    # per strategy: four of its own axes plus a stops-off, an ATR-stops, a band and a
    # minimum-hold variant
    assert len(family) == 3 * 8  # every strategy's trials on this data deflate each one
    for a in result.assessments:
        logged = log.trials(a.study.spec.strategy)
        assert a.deflation.strategy_trials == len(logged) == len(a.study.trials) == 8
        assert a.n_trials == 24 and a.deflation.n_strategies == 3
        matrix = a.study.returns
        pbo = probability_of_backtest_overfitting(matrix, n_splits=result.gate.pbo_splits)
        wf = walk_forward_select(matrix, walk_forward_splits(len(matrix), n_splits=4))
        bets = return_moments(a.bets.returns)
        inputs = GateInputs(a.study.spec.strategy, a.moments, len(family),
                            float(family["sr"].var(ddof=1)), pbo, wf.oos_sharpe,
                            a.deflation.describe(), bets, a.bets.bars_per_bet)  # fmt: skip
        expected = evaluate_gate(inputs, result.gate)
        for want, got in zip(expected.criteria, a.verdict.criteria, strict=True):
            # V[SR] is summed in another order here: equal to rounding
            assert (want.name, want.passed) == (got.name, got.passed)
            assert got.value == pytest.approx(want.value, rel=1e-12, nan_ok=True)
        assert a.selected == matrix.columns[(matrix.mean() / matrix.std()).argmax()]
    skipped = result.not_evaluated["volatility_clustering 1h crypto planted-ar1"]
    assert not skipped.passed and all(not c.passed for c in skipped.criteria)
    assert "1900 1h bars; the shortest lab warm-up is 1008 bars" in skipped.criteria[0].detail


def test_rich_table_lists_every_strategy_with_its_verdict(lab_run):
    result, _ = lab_run
    console = Console(record=True, width=220)
    console.print(verdict_table(result))
    text = console.export_text()
    for a in result.assessments:
        line = next(ln for ln in text.splitlines() if a.strategy in ln)
        assert ("PASS" in line) == a.verdict.passed
        assert ("FAIL" in line) == (not a.verdict.passed)
    # a cell the data cannot evaluate fails on a row of its strategy, with its timeframe
    for name in result.not_evaluated:
        cell = result.cells[name]
        rows = [ln.split("│") for ln in text.splitlines() if ln.count("│") > 2]
        line = next("│".join(r) for r in rows if r[1].strip().startswith(cell.strategy))
        assert cell.timeframe in line and "FAIL" in line and "not evaluated" in line
    assert f"{result.n_passed} of 4 pass" in text


def test_html_report_has_every_section_and_is_self_contained(lab_run):
    result, _ = lab_run
    html = result.report_path.read_text(encoding="utf-8")
    parser = ReportParser()
    parser.feed(html)
    assert parser.sections == SECTIONS
    assert parser.divs >= FIGURES
    assert parser.script_srcs == []  # nothing loaded from the network
    # plotly.js embedded once, compressed, and the figures' JSON beside it
    assert inflate(parser.blobs["plotly-js-gz"]) == get_plotlyjs()
    bundle = json.loads(inflate(parser.blobs["figures-gz"]))
    assert set(bundle["figures"]) >= FIGURES
    books = {b.label: b.verdict.passed for b in result.books}
    assert parser.rows == {name: v.passed for name, v in result.verdicts.items()} | books
    for name, verdict in result.verdicts.items():
        assert parser.cells[name] == {c.name: c.passed for c in verdict.criteria}
    assert "synthetic series &#39;planted-ar1&#39;" in html  # the data description
    assert "no cleaning (synthetic)" in html
    assert "taker fee 5.5 bps per side" in html
    assert "family-wise false-pass rate" in html and "20 noise searches" in html
    # the report says what the DSR was deflated by, the bets beside the bars, the calibration
    for a in result.assessments:
        assert f'data-deflation="{a.strategy}"' in html
        assert deflation_text(a.deflation) in html.replace("&#39;", "'")
        # the datasets of the search are listed in the summary and under the deflation
        # table, not in every row
        assert html.count(", ".join(a.deflation.datasets)) == 2
    assert "deflated by 24 trials of 3 strategies" in html
    cal = result.calibration
    assert (cal.shape.n_strategies, cal.shape.n_configs) == (3, 8)
    assert f"mean pairwise return correlation {cal.shape.rho:.2f}" in html
    assert "power: planted edge of annual SR 2" in html


def test_stored_verdicts_round_trip(lab_run):
    result, journal = lab_run
    for label, verdict in result.verdicts.items():
        stored = latest_verdict(label.split()[0], journal)
        assert stored is not None and stored.passed == verdict.passed
        for got, want in zip(stored.criteria, verdict.criteria, strict=True):
            assert got.name == want.name and got.passed == want.passed
            assert (math.isnan(got.value) and math.isnan(want.value)) or got.value == want.value
            assert got.threshold == want.threshold or (
                math.isnan(got.threshold) and math.isnan(want.threshold)
            )
    assert latest_verdict("lag_autocorr", journal, symbol="another dataset") is None


def test_stored_verdicts_name_the_stop_policy_of_the_selected_configuration(lab_run):
    """``csl live`` compares the deployed exits with this record (``stops``), written out
    here from the study's policies: the brief's 2 % / 4 %, none, or 2 / 4 ATR(14)."""
    result, journal = lab_run
    expected = {
        "fixed": {"policy": "fixed", "stop_loss": 0.02, "take_profit": 0.04},
        "off": {"policy": "off"},
        "atr": {"policy": "atr", "stop_loss": 2.0, "take_profit": 4.0, "atr_period": 14},
    }
    store = VerdictStore(journal)
    for a in result.assessments:
        policy = a.study.trials.loc[a.selected, "stop"]
        assert a.verdict_params == {**a.selected_params, "stops": expected[policy]}
        stored = store.latest(
            a.study.spec.strategy, a.study.spec.symbol, timeframe=a.study.data.timeframe
        )
        assert stored is not None and stored.params == a.verdict_params
    assert VerdictStore(journal).latest("vpin") is None


@pytest.mark.parametrize("seed", [0, 1])
def test_planted_edge_passes_and_noise_fails(seed, tmp_path, inline):
    calibration = CalibrationSettings(n_families=5)
    verdicts = {}
    for kind, bars in (("edge", planted_edge_bars(seed)), ("noise", noise_bars(seed))):
        result = run_lab(
            lab_data(bars, kind),
            strategies=["lag_autocorr"],
            quick=True,
            calibration=calibration,
            journal=f"sqlite:///{tmp_path / (kind + '.sqlite')}",
            executor=inline,
            cache_dir=tmp_path / kind,
            timeframes=["1h"],
        )
        verdicts[kind] = result.verdicts[f"lag_autocorr 1h crypto {kind}"]
    assert verdicts["edge"].passed, str(verdicts["edge"])
    assert not verdicts["noise"].passed
    dsr = {c.name: c.value for c in verdicts["noise"].criteria}["dsr"]
    assert dsr < 0.95


def test_calibration_is_shaped_by_the_run_and_cached(lab_run):
    result, journal = lab_run
    cal = result.calibration
    rhos = []
    for a in result.assessments:
        c = a.study.returns.corr().to_numpy()
        rhos.append(np.nanmean(c[np.triu_indices_from(c, 1)]))
    assert cal.shape.rho == pytest.approx(max(0.0, float(np.mean(rhos))))
    assert cal.shape.n_obs == int(np.median([len(a.study.returns) for a in result.assessments]))
    assert cal.shape.periods_per_year == pytest.approx(8760.0)
    assert not cal.from_cache and set(cal.power) == {1.0, 2.0, 3.0}
    # an identical run reads the same numbers from the calibration cache
    cache = result.report_path.parents[2] / "cache"
    again = run_lab(
        result.data, strategies=STRATEGIES, quick=True, calibration=cal.settings,
        journal=journal, executor=LocalExecutor(1), cache_dir=cache, timeframes=["1h"],
    )  # fmt: skip
    assert again.calibration.from_cache
    assert (again.calibration.false_pass, again.calibration.power) == (cal.false_pass, cal.power)
    assert all(a.study.new_trials == 0 for a in again.assessments)  # a re-run adds no trial


def test_report_shows_co_activity(lab_run):
    result, _ = lab_run
    co = result.co_activity
    labels = {f"{n} 1h crypto planted-ar1" for n in STRATEGIES[:3]}
    assert co is not None and set(co.time_in_market.index) == labels
    html = result.report_path.read_text(encoding="utf-8")
    assert 'id="co-activity-table"' in html and 'id="rarely-together"' in html
    assert f"{co.effective_bets:.1f} from the plain correlations" in html
    for name, share in co.time_in_market.items():
        assert f"{share:.1%}" in html and name in html


def test_the_book_is_validated_with_its_member_selection_counted(lab_run):
    from crypto_strategy_lab.research.book import BOOK

    result, journal = lab_run
    (book,) = result.books  # one bar grid with three evaluated strategies
    assert book.label == "book 1h crypto planted-ar1"
    assert set(book.members) == set(STRATEGIES[:3])
    # 3 weightings x (all members + each leave-one-out set)
    assert len(book.candidates) == 12 and book.assessment.study.returns.shape[1] == 12
    a = book.assessment
    log = TrialLog(journal)
    family = log.trials(family=a.study.data.family)
    assert a.deflation.n_trials == len(family) == 24 + 12  # members' trials and the book's
    assert a.deflation.strategy_trials == 12
    # the equal-weight book of all three: budgets min(0.5 / 3, 10 %) = 10 % each, every month
    members = pd.DataFrame({n: m.returns for n, m in book.members.items()}).dropna()
    equal_all = next(
        col for col, p in book.candidates.items()
        if p["weighting"] == "equal" and len(p["members"]) == 3
    )  # fmt: skip
    np.testing.assert_allclose(
        a.study.returns[equal_all].to_numpy(), 0.10 * members.sum(axis=1).to_numpy(), atol=1e-15
    )
    # the gate recomputed from the candidates' matrix and the family's N
    matrix = a.study.returns
    assert a.selected == matrix.columns[(matrix.mean() / matrix.std()).argmax()]
    pbo = probability_of_backtest_overfitting(matrix, n_splits=result.gate.pbo_splits)
    wf = walk_forward_select(matrix, walk_forward_splits(len(matrix), n_splits=4))
    inputs = GateInputs(BOOK, return_moments(matrix[a.selected]), len(family),
                        float(family["sr"].var(ddof=1)), pbo, wf.oos_sharpe,
                        a.deflation.describe(), return_moments(a.bets.returns),
                        a.bets.bars_per_bet)  # fmt: skip
    expected = evaluate_gate(inputs, result.gate)
    for want, got in zip(expected.criteria, a.verdict.criteria, strict=True):
        assert (want.name, want.passed) == (got.name, got.passed)
        assert got.value == pytest.approx(want.value, rel=1e-9, nan_ok=True)
    stored = VerdictStore(journal).latest(BOOK)
    assert stored is not None and stored.params == book.params
    assert stored.verdict.passed == a.verdict.passed


def test_monthly_budgets_use_only_the_returns_before_each_month():
    from crypto_strategy_lab.research.book import MIN_ESTIMATION_BARS, BookCaps, monthly_budgets

    rng = np.random.default_rng(4)
    idx = pd.date_range("2024-01-01", periods=24 * 120, freq="1h", tz="UTC")
    returns = pd.DataFrame(rng.normal(0, [0.001, 0.002, 0.004], (len(idx), 3)), index=idx,
                           columns=["a", "b", "c"])  # fmt: skip
    caps = BookCaps(max_weight=0.3, max_gross=0.5)
    b = monthly_budgets(returns, "inverse_volatility", caps)
    starts = [
        idx.get_loc(t) for t in pd.date_range("2024-01-01", "2024-04-01", freq="MS", tz="UTC")
    ]
    for i in starts:
        got = b.iloc[i].to_numpy()
        if i < MIN_ESTIMATION_BARS:
            np.testing.assert_allclose(got, [0.5 / 3] * 3)  # equal (under the 30 % cap)
            continue
        inv = 1.0 / returns.iloc[:i].std(ddof=1).to_numpy()
        raw = np.minimum(0.5 * inv / inv.sum(), 0.3)
        np.testing.assert_allclose(got, raw * min(1.0, 0.5 / raw.sum()), rtol=1e-12)
        # constant within the month; and returns from the month start on never change it
        assert (b.iloc[i : i + 24] == b.iloc[i]).all().all()
        shocked = returns.copy()
        shocked.iloc[i:] *= 50.0
        np.testing.assert_array_equal(monthly_budgets(shocked, "inverse_volatility", caps).iloc[i],
                                      b.iloc[i])  # fmt: skip


def test_monthly_budgets_variance_of_a_near_constant_member_against_numpy():
    # a carry-like member: mean 1e-3 per bar, spread 1e-8 (mean / std = 1e5); a variance from
    # running sums S2 - n mu^2 cancels about 10 of its 16 digits, the two-pass one does not
    from crypto_strategy_lab.research.book import MIN_ESTIMATION_BARS, BookCaps, monthly_budgets

    rng = np.random.default_rng(7)
    idx = pd.date_range("2024-01-01", periods=24 * 120, freq="1h", tz="UTC")
    returns = pd.DataFrame(rng.normal([1e-3, 0.0], [1e-8, 0.002], (len(idx), 2)), index=idx,
                           columns=["carry", "trend"])  # fmt: skip
    caps = BookCaps(max_weight=1.0, max_gross=1.0)  # no cap binds: budgets are 1/σ shares
    b = monthly_budgets(returns, "inverse_volatility", caps)
    starts = [
        idx.get_loc(t) for t in pd.date_range("2024-02-01", "2024-04-01", freq="MS", tz="UTC")
    ]
    for i in starts:
        assert i >= MIN_ESTIMATION_BARS
        inv = 1.0 / np.std(returns.to_numpy()[:i], axis=0, ddof=1)
        # the trend member's budget is about σ_carry / σ_trend: it carries σ_carry's error
        np.testing.assert_allclose(b.iloc[i].to_numpy(), inv / inv.sum(), rtol=1e-9)


def test_deploy_trades_a_book_only_on_a_passing_book_verdict(lab_run, tmp_path):
    from crypto_strategy_lab.cli.trading_cmd import book_refusal
    from crypto_strategy_lab.engine.deployment import DeploymentConfig
    from crypto_strategy_lab.research.book import BOOK
    from crypto_strategy_lab.validation.gate import GateVerdict

    result, journal = lab_run
    (book,) = result.books
    p = book.params
    instrument = "BTCUSDT"
    assert VerdictStore(journal).latest(BOOK).instrument == ""  # synthetic bars: no instrument

    def config(weighting: str, **risk: float) -> DeploymentConfig:
        return DeploymentConfig(
            name="b", capital=1000, weighting=weighting,
            strategies=[{"name": n, "venue": "simulated", "symbol": instrument, "timeframe": "1h",
                         "params": params} for n, params in p["members"].items()],
            risk={"max_position_fraction": p["max_weight"], "max_gross_exposure": p["max_gross"],
                  "kelly_fraction": p["kelly_fraction"], **risk},
        )  # fmt: skip

    # the lab's verdict names no instrument, so it validates no deployment
    assert "no passing gate verdict found for book on BTCUSDT 1h" in book_refusal(
        config(p["weighting"]), journal
    )
    # a passing verdict for exactly this book (saved through the chain, as the lab does)
    passing = GateVerdict(
        BOOK, tuple(dataclasses.replace(c, passed=True) for c in book.verdict.criteria)
    )
    VerdictStore(journal).save("r", passing, symbol=book.label, params=p, instrument=instrument,
                               data=book.assessment.study.data)  # fmt: skip
    assert book_refusal(config(p["weighting"]), journal) is None
    other = next(
        w for w in ("equal", "inverse_volatility", "fractional_kelly") if w != p["weighting"]
    )
    assert "tested parameters" in book_refusal(config(other), journal)
    assert "tested parameters" in book_refusal(
        config(p["weighting"], max_gross_exposure=0.4), journal
    )
    mixed = config(p["weighting"]).model_copy()
    mixed.strategies[0] = mixed.strategies[0].model_copy(update={"timeframe": "4h"})
    assert "one instrument and timeframe" in book_refusal(mixed, journal)


def test_calibration_draws_a_bar_over_every_simulated_search(tmp_path):
    """On a terminal console the calibration shows a bar counting each search of each arm (a
    noise arm and one per planted edge); the cached re-run computes nothing and shows none."""
    import io
    import re

    from crypto_strategy_lab.research.lab import run_calibration
    from crypto_strategy_lab.validation.calibration import SearchShape
    from crypto_strategy_lab.validation.gate import GateConfig

    settings = CalibrationSettings(n_families=2, edges_annual=(1.0, 2.0))
    args = (settings, GateConfig(criteria=("dsr",)), SearchShape(1, 2, 300, 0.5))
    bars = noise_bars(seed=1)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    assert not run_calibration(*args, bars, tmp_path, console).from_cache
    frames = re.findall(r"gate calibration searches.*?(\d+)/(\d+)", screen.getvalue())
    assert frames and frames[-1] == ("6", "6"), screen.getvalue()[-400:]
    screen.seek(0), screen.truncate()
    assert run_calibration(*args, bars, tmp_path, console).from_cache
    assert "gate calibration" not in screen.getvalue()


def test_two_datasets_of_one_asset_class_keep_their_rows(tmp_path, inline):
    """BTC and ETH bars are both crypto: the symbol in the row label keeps them apart."""
    btc = lab_data(planted_edge_bars(0).iloc[:1200], "BTC-synthetic")
    eth = dataclasses.replace(
        lab_data(noise_bars(1).iloc[:1200], "ETH-synthetic"), instrument="ETHUSDT"
    )
    result = run_lab(
        [btc, eth],
        strategies=["lag_autocorr"],
        quick=True,
        calibration=CalibrationSettings(n_families=2),
        journal=f"sqlite:///{tmp_path / 'j.sqlite'}",
        executor=inline,
        cache_dir=tmp_path / "cache",
        timeframes=["1h"],
    )
    labels = {"lag_autocorr 1h crypto BTC-synthetic", "lag_autocorr 1h crypto ETHUSDT"}
    assert set(result.verdicts) == labels == {a.strategy for a in result.assessments}
    by_label = {a.strategy: a for a in result.assessments}
    assert by_label["lag_autocorr 1h crypto ETHUSDT"].study.spec.symbol == "ETH-synthetic@1h"
    assert by_label["lag_autocorr 1h crypto BTC-synthetic"].study.spec.symbol == "BTC-synthetic@1h"


def test_pbo_small_multiples_fit_a_multi_asset_lab(lab_run):
    # 3 assets x 12 strategies x several timeframes: plotly refused the fixed 0.12 row gap
    # beyond 9 rows of histograms (the BTC/ETH/SOL 5m lab crashed writing its report)
    from crypto_strategy_lab.research.report import pbo_figure

    result, _ = lab_run
    many = dataclasses.replace(result, assessments=result.assessments * 30)
    fig = pbo_figure(many)
    assert len(fig.data) == sum(a.pbo is not None for a in many.assessments)


def test_volume_participation_slippage_is_a_lab_option(tmp_path):
    from crypto_strategy_lab.core.costs import CostModel, SlippageModel
    from crypto_strategy_lab.research.inputs import default_settings

    data = lab_data(planted_edge_bars(0).iloc[:1500], "planted-vol")
    fixed = quick_lab(data, ["lag_autocorr"], tmp_path, families=2)
    volume = quick_lab(data, ["lag_autocorr"], tmp_path, families=2, slippage="volume")
    (f,), (v,) = fixed.assessments, volume.assessments
    assert f.study.spec.settings.costs.slippage is SlippageModel.FIXED
    assert v.study.spec.settings.costs == CostModel(slippage="volume")
    assert v.study.spec.settings == default_settings("perp", "volume")
    # other costs, other trials: nothing of the fixed-slippage study is reused for it
    assert set(v.study.trials["config_hash"]).isdisjoint(f.study.trials["config_hash"])
    assert (v.study.trials["status"] == "new").all()
    # participation slippage only adds cost: the selected configuration's net return is lower
    r_fixed = f.study.returns[v.selected]
    assert v.study.returns[v.selected].sum() < r_fixed.sum()


def test_a_book_needs_two_members_on_one_grid(lab_run):
    from crypto_strategy_lab.performance.allocation import PortfolioError
    from crypto_strategy_lab.research.book import validate_book

    result, journal = lab_run
    members = result.books[0].members
    first = next(iter(members.values()))
    with pytest.raises(PortfolioError, match="at least two strategies"):
        validate_book("b", [first], TrialLog(journal))
    short = dataclasses.replace(
        first, study=dataclasses.replace(first.study, returns=first.study.returns.iloc[:1])
    )
    others = [m for m in members.values() if m is not first]
    with pytest.raises(PortfolioError, match=r"share [01] bars after their warm-ups"):
        validate_book("b", [short, *others], TrialLog(journal))
