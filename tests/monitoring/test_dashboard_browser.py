"""End to end: the real dashboard (``streamlit run``) in headless Debian Chromium via Playwright.

Starts ``python -m streamlit run scripts/monitoring_dashboard.py`` on a free 127.0.0.1 port
against a seeded journal, visits every page, waits for its Plotly charts to draw, checks
that no Streamlit exception box appears, and saves a full-page screenshot of each page to
``reports/screenshots/<page>.png``. Skipped when /usr/bin/chromium is absent; never downloads
a browser.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from crypto_strategy_lab.monitoring.dashboard.app import PAGES
from tests.monitoring.seed import seed_journal
from tests.monitoring.test_dashboard_app import reports_dir  # noqa: F401  (fixture)

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# page url_path -> Plotly charts it draws on the seeded journal (by default selections)
EXPECTED_CHARTS = {
    "overview": 4,  # equity/drawdown, price with fills, daily-loss and heat gauges
    "positions": 0,
    "strategies": 5,
    "risk": 1,
    "research": 3,
    "alerts": 0,
}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory, reports_dir):  # noqa: F811
    journal = tmp_path_factory.mktemp("browser") / "journal.sqlite"
    seeded = seed_journal(f"sqlite:///{journal}")
    port = free_port()
    log = (tmp_path_factory.mktemp("log") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "scripts" / "monitoring_dashboard.py"),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--client.toolbarMode",
            "viewer",
            "--",
            "--journal",
            seeded.url,
            "--refresh",
            "0",
            "--reports",
            str(reports_dir),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/_stcore/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start; see {log.name}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def page(dashboard_url, browser):
    """One tab for all pages: the first visit loads the app (and plotly.js) once; the other
    pages are reached by clicking the sidebar navigation, as a user does."""
    tab = browser.new_page(viewport={"width": 1400, "height": 2600})
    tab.goto(dashboard_url, wait_until="domcontentloaded")
    try:
        yield tab
    finally:
        tab.close()


@pytest.mark.parametrize(("url_path", "title"), [(p[2], p[1]) for p in PAGES])
def test_page_renders_in_chromium(page, url_path, title) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    link = page.locator('[data-testid="stSidebarNav"] a', has_text=title)
    link.wait_for(timeout=60_000)
    link.click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    expected = EXPECTED_CHARTS[url_path]
    # Done when: the script run is over (the app's script state is 'notRunning'), no element
    # is stale (left over from the previous page), and exactly the expected charts are drawn.
    try:
        page.wait_for_function(
            """n => !document.querySelector('[data-stale="true"]')
                && document.querySelector('[data-testid="stApp"]')
                    .getAttribute('data-test-script-state') === 'notRunning'
                && document.querySelectorAll('.js-plotly-plot').length === n
                && document.querySelectorAll('.js-plotly-plot .main-svg').length >= n""",
            arg=expected,
            timeout=60_000,
        )
    except PlaywrightTimeout:
        # say what the page shows instead, so a changed page is a one-line diagnosis
        seen = page.evaluate(
            """() => ({state: document.querySelector('[data-testid="stApp"]')
                        ?.getAttribute('data-test-script-state'),
                      stale: document.querySelectorAll('[data-stale="true"]').length,
                      charts: document.querySelectorAll('.js-plotly-plot').length,
                      errors: document.querySelectorAll('[data-testid="stException"]').length})"""
        )
        pytest.fail(f"{title}: expected {expected} drawn charts after 60 s, page shows {seen}")
    page.wait_for_timeout(500)  # let Plotly finish laying out before the screenshot
    assert page.locator(".js-plotly-plot").count() == expected
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Journal unavailable").count() == 0
    assert page.get_by_role("heading", name=title, exact=True).count() >= 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Streamlit scrolls inside its own container, so the tall viewport is the full page
    page.screenshot(path=str(SCREENSHOTS / f"{url_path}.png"), full_page=True)
