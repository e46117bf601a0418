"""The documentation site builds with ``mkdocs build --strict`` and shows what it promises.

``--strict`` turns every warning (a broken link, a missing snippet file, an API name that no
longer resolves) into a failed build, so `make test` catches docs that rot. The assertions on
the built pages check that the generated parts are really there: the API reference renders
every public name of DESIGN.md's "Public API" with its docstring, and each strategy page
carries its README's text (included from the source tree, not copied).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STRATEGY_DIR = REPO / "src" / "crypto_strategy_lab" / "strategies"

# DESIGN.md "Public API": public import path -> the API reference page that documents it.
PUBLIC_API = {
    "crypto_strategy_lab.strategies.get_strategy": "api/strategies",
    "crypto_strategy_lab.strategies.list_strategies": "api/strategies",
    "crypto_strategy_lab.strategies.lag_autocorr.signal.LagAutocorrSignal": "api/strategies",
    "crypto_strategy_lab.data.loader.load_bars": "api/data",
    "crypto_strategy_lab.backtest.run_backtest": "api/backtest",
    "crypto_strategy_lab.backtest.BacktestResult": "api/backtest",
    "crypto_strategy_lab.validation.sharpe_ratio": "api/validation",
    "crypto_strategy_lab.validation.probabilistic_sharpe_ratio": "api/validation",
    "crypto_strategy_lab.validation.expected_max_sharpe": "api/validation",
    "crypto_strategy_lab.validation.deflated_sharpe_ratio": "api/validation",
    "crypto_strategy_lab.validation.min_track_record_length": "api/validation",
    "crypto_strategy_lab.validation.probability_of_backtest_overfitting": "api/validation",
    "crypto_strategy_lab.exchanges.ExchangeFactory": "api/exchanges",
    "crypto_strategy_lab.exchanges.TradingMode": "api/exchanges",
    "crypto_strategy_lab.exchanges.OrderRequest": "api/exchanges",
    "crypto_strategy_lab.exchanges.OrderSide": "api/exchanges",
    "crypto_strategy_lab.exchanges.OrderType": "api/exchanges",
    "crypto_strategy_lab.risk.RiskEngine": "api/risk",
    "crypto_strategy_lab.risk.RiskLimits": "api/risk",
    "crypto_strategy_lab.data.loader.open_data": "api/data",
    "crypto_strategy_lab.data.markets.choose_market": "api/data",
}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-4000:]}"
    return out


def test_strict_build_writes_every_page(site: Path) -> None:
    for page in ("quickstart", "own-data", "research-to-live", "statistics", "ARCHITECTURE"):
        assert (site / page / "index.html").is_file(), page
    assert (site / "DECISIONS" / "index.html").is_file()


@pytest.mark.parametrize("name", sorted(PUBLIC_API))
def test_api_reference_renders_each_public_name_with_its_docstring(site: Path, name: str) -> None:
    import importlib

    module, _, attr = name.rpartition(".")
    obj = getattr(importlib.import_module(module), attr)
    html = (site / PUBLIC_API[name] / "index.html").read_text()
    assert f'id="{name}"' in html, f"{name} has no entry in {PUBLIC_API[name]}"
    doc = (obj.__doc__ or "").strip()
    assert doc, f"{name} has no docstring"
    # The summary line's first plain words (before any markup or role) appear on the page.
    words = re.split(r"[`:*]", doc.splitlines()[0])[0].split()[:4]
    assert " ".join(words) in _text(html), (name, words)


@pytest.mark.parametrize(
    "strategy", sorted(p.name for p in STRATEGY_DIR.iterdir() if (p / "README.md").is_file())
)
def test_each_strategy_page_includes_its_readme(site: Path, strategy: str) -> None:
    readme = (STRATEGY_DIR / strategy / "README.md").read_text()
    title = readme.splitlines()[0].lstrip("# ").strip()
    page = site / "statistics" / "strategies" / strategy / "index.html"
    assert page.is_file(), f"no docs page for {strategy}: add it to docs/ and mkdocs.yml nav"
    text = _text(page.read_text())
    assert title in text
    assert "References" in text


def test_the_stats_page_renders_every_kernel_stats_exports(site: Path) -> None:
    import importlib

    html = (site / "api" / "stats" / "index.html").read_text()
    names = importlib.import_module("crypto_strategy_lab.stats").__all__
    missing = [n for n in names if f'id="crypto_strategy_lab.stats.{n}"' not in html]
    assert missing == [], f"docs/api/stats.md does not render: {missing}"
