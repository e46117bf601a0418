from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crypto_strategy_lab.journal import Journal


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    jr = Journal.open(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    yield jr
    jr.engine.dispose()


@pytest.fixture(scope="session")
def btc_bars():
    from crypto_strategy_lab.data.bundled import load_default_bars

    return load_default_bars("crypto").bars
