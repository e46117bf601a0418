"""Journal fixtures: a migrated journal on SQLite, and on PostgreSQL when one is configured.

``CSL_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://csl:csl@127.0.0.1/csl_test``) enables
the PostgreSQL variants; each test gets its own fresh schema (via ``search_path``), dropped
afterwards, so concurrent users of the same database do not collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from crypto_strategy_lab.journal import Journal, make_engine

POSTGRES_URL = os.environ.get("CSL_TEST_POSTGRES_URL")


def _schema_sql(url: str, statement: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
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
    schema = f"csl_test_{uuid.uuid4().hex[:12]}"
    _schema_sql(POSTGRES_URL, f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    _schema_sql(POSTGRES_URL, f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    j = Journal.open(journal_url)
    yield j
    j.engine.dispose()
