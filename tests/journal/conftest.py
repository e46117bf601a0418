"""Journal fixtures: a migrated journal on SQLite, and on PostgreSQL when one is configured.

``CSL_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://csl:csl@127.0.0.1/csl_test``) enables
the PostgreSQL variants; each test gets a fresh schema (all tables dropped first).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from crypto_strategy_lab.journal import Journal, make_engine

POSTGRES_URL = os.environ.get("CSL_TEST_POSTGRES_URL")


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def journal_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journal.sqlite'}"
        return
    if not POSTGRES_URL:
        pytest.skip("CSL_TEST_POSTGRES_URL is not set (no PostgreSQL server)")
    _reset_postgres(POSTGRES_URL)
    yield POSTGRES_URL


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    j = Journal.open(journal_url)
    yield j
    j.engine.dispose()
