"""The lab report in a browser: it opens from file:// with no network, inflates plotly.js and
its figures, draws the visible charts, and the tear-sheet selector draws the chosen row's.

Two checks of the page's loader: in headless Debian Chromium through Playwright (skipped when
/usr/bin/chromium is absent; never downloads a browser), and in Node (skipped without
``node``) against a stand-in DOM and a stand-in ``Plotly`` that records what it is asked to
draw (the loader's inflating, x-axis sharing and lazy drawing, without a browser).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from crypto_strategy_lab.research.figure_bundle import LOADER_JS, gzip_base64
from crypto_strategy_lab.research.report import write_report

from .conftest import lab_data, planted_edge_bars, quick_lab
from .test_lab import ReportParser, inflate

CHROMIUM = Path("/usr/bin/chromium")
GLOBAL_FIGURES = 4  # equity, rolling Sharpe, PBO, correlation
TEARSHEET_FIGURES = 3  # equity vs buy and hold, net SR vs cost, parameter heatmap


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser-report")
    data = lab_data(planted_edge_bars(0).iloc[:2000], "planted-ar1")
    result = quick_lab(data, ["lag_autocorr", "true_range_divergence"], tmp, families=2)
    return dataclasses.replace(result, report_path=write_report(result, tmp / "reports"))


def _offline(route) -> None:
    """Only the page's own file loads: any other request fails the way it would offline."""
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)")
def test_report_draws_its_charts_in_chromium(report) -> None:
    from playwright.sync_api import sync_playwright

    labels = [a.strategy for a in report.assessments]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--headless"])
        try:
            page = browser.new_page()
            page.route("**/*", _offline)
            page.goto(report.report_path.as_uri())
            page.wait_for_function("document.body.dataset.figures !== undefined", timeout=30_000)
            assert page.evaluate("document.body.dataset.figures") == "drawn"
            drawn = "document.querySelectorAll('div.figure.js-plotly-plot .main-svg').length"
            assert page.evaluate(drawn) >= GLOBAL_FIGURES + TEARSHEET_FIGURES
            drawn = "document.querySelectorAll('div.figure.js-plotly-plot').length"
            assert page.evaluate(drawn) == GLOBAL_FIGURES + TEARSHEET_FIGURES
            page.select_option("#tearsheet-select", labels[1])
            assert page.evaluate(drawn) == GLOBAL_FIGURES + 2 * TEARSHEET_FIGURES
            assert page.is_hidden(f"[data-row='{labels[0]}']")
        finally:
            browser.close()


NODE_HARNESS = """
const fs = require("fs");
const page = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const drawn = [];
const handlers = {};
function div(id, row) {
  return {id: id, dataset: {}, closest: () => row};
}
const rows = [];
const divs = [];
function addRow(label) {
  const row = {dataset: {row: label}, hidden: false};
  rows.push(row);
  page.figures.filter(f => f.row === label).forEach(f => divs.push(div(f.id, row)));
}
page.figures.filter(f => f.row === null).forEach(f => divs.push(div(f.id, null)));
addRow(page.rows[0]);  // the first tear sheet is in the page
const inserted = [];
const list = {insertAdjacentHTML: (where, html) => {
  const label = html.match(/data-row="([^"]*)"/)[1];
  inserted.push(label);
  addRow(label);
}};
const select = {value: page.rows[0], addEventListener: (e, f) => { select.onchange = f; }};
const blobs = {"plotly-js-gz": page.plotly, "figures-gz": page.bundle,
               "tearsheets-gz": page.sheets};
global.document = {
  body: {dataset: {}},
  getElementById: id => id === "tearsheet-select" ? select :
    id === "tearsheet-list" ? list : {textContent: blobs[id]},
  querySelectorAll: q => q === "div.figure" ? divs : rows,
  addEventListener: (e, f) => { handlers[e] = f; },
};
global.record = (d, data) => drawn.push([d.id, (data[0].x || []).length]);
eval(page.loader);
handlers.DOMContentLoaded();
setTimeout(() => {
  const first = drawn.map(d => d[0]);
  const before = inserted.slice();
  select.value = page.rows[1];
  select.onchange();
  console.log(JSON.stringify({status: document.body.dataset.figures, first: first,
                              all: drawn.map(d => d[0]), points: drawn.map(d => d[1]),
                              inserted_before: before, inserted: inserted,
                              hidden: rows.map(r => r.hidden)}));
}, 1500);
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_loader_inflates_and_draws_lazily(report, tmp_path) -> None:
    html = report.report_path.read_text(encoding="utf-8")
    parser = ReportParser()
    parser.feed(html)
    bundle = json.loads(inflate(parser.blobs["figures-gz"]))
    labels = [a.strategy for a in report.assessments]
    figures = [
        {
            "id": fid,
            "row": next((labels[i] for i in range(len(labels)) if fid.startswith(f"ts{i}-")), None),
        }
        for fid in bundle["figures"]
        if not fid.startswith("book")  # the book's tear sheet is never chosen here
    ]
    # a stand-in plotly.js: records each figure it is asked to draw
    fake = "globalThis.Plotly = {newPlot: (d, data) => record(d, data)};"
    spec = {
        "plotly": gzip_base64(fake.encode()),
        "bundle": parser.blobs["figures-gz"],
        "sheets": parser.blobs["tearsheets-gz"],
        "loader": LOADER_JS,
        "rows": labels,
        "figures": figures,
    }
    (tmp_path / "page.json").write_text(json.dumps(spec))
    (tmp_path / "harness.js").write_text(NODE_HARNESS)
    out = subprocess.run(
        ["node", str(tmp_path / "harness.js"), str(tmp_path / "page.json")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    got = json.loads(out.stdout)
    assert got["status"] == "drawn"
    on_load = {f["id"] for f in figures if f["row"] in (None, labels[0])}
    assert set(got["first"]) == on_load  # hidden tear sheets wait until they are shown
    assert set(got["all"]) == on_load | {f["id"] for f in figures if f["row"] == labels[1]}
    # the second tear sheet came from the compressed blob when it was chosen, not before
    assert got["inserted_before"] == [] and got["inserted"] == [labels[1]]
    assert got["hidden"] == [True, False]
    assert len(got["all"]) == len(set(got["all"]))  # nothing drawn twice
    # the shared time axes were put back: the equity curves have their points again
    equity = bundle["figures"]["equity-figure"]["data"][0]
    assert equity["x"].startswith("@")
    assert got["points"][got["all"].index("equity-figure")] == len(bundle["axes"][equity["x"][1:]])
