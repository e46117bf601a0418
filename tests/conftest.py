"""Shared test configuration: the ``--run-slow`` switch and fixed-seed data fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Real market data lives beside the repository in ../shared/data (PROVENANCE.md there), never in
# it. CSL_SHARED_DATA overrides the location; tests that need a file skip cleanly when absent.
SHARED_DATA = Path(
    os.environ.get(
        "CSL_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)


def shared_file(name: str) -> Path:
    """Path of a real data file in ``../shared/data``; skips the calling test when absent."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared real data file {name} absent (looked in {SHARED_DATA})")
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # CI sets CSL_RUN_SLOW=1: it runs the same `make test` with the slow tests included.
    if config.getoption("--run-slow") or os.environ.get("CSL_RUN_SLOW") == "1":
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow (make test-all)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20241201)


def make_random_walk_bars(n: int = 2000, seed: int = 7, freq: str = "1h") -> pd.DataFrame:
    """A valid OHLCV frame from a geometric random walk (no effect planted)."""
    gen = np.random.default_rng(seed)
    log_ret = gen.normal(0.0, 0.01, n)
    close = 100.0 * np.exp(np.cumsum(log_ret))
    open_ = np.concatenate([[100.0], close[:-1]])
    wiggle = np.abs(gen.normal(0.0, 0.003, n))
    high = np.maximum(open_, close) * (1 + wiggle)
    low = np.minimum(open_, close) * (1 - wiggle)
    volume = gen.gamma(2.0, 50.0, n)
    index = pd.date_range("2024-01-01", periods=n, freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


@pytest.fixture
def random_walk_bars() -> pd.DataFrame:
    return make_random_walk_bars()
