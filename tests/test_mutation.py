"""The mutation harness samples by what a mutant is, so a seed names one sample."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from mutation.__main__ import _sample

SPECS = [("core/NumberReplacer", k, 10 + k, 4) for k in range(40)]


def _session(path: Path) -> Path:
    # the two tables of a cosmic-ray session that sampling reads, with fresh random job ids as
    # every `cosmic-ray init` writes them
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE work_items (job_id VARCHAR PRIMARY KEY)")
        db.execute(
            "CREATE TABLE mutation_specs (module_path VARCHAR, operator_name VARCHAR,"
            " operator_args JSON, occurrence INTEGER, start_pos_row INTEGER,"
            " start_pos_col INTEGER, end_pos_row INTEGER, end_pos_col INTEGER,"
            " definition_name VARCHAR, job_id VARCHAR PRIMARY KEY)"
        )
        for op, occurrence, row, col in SPECS:
            job = uuid.uuid4().hex
            db.execute("INSERT INTO work_items VALUES (?)", (job,))
            db.execute(
                "INSERT INTO mutation_specs VALUES ('m.py', ?, '{}', ?, ?, ?, ?, ?, NULL, ?)",
                (op, occurrence, row, col, row, col + 1, job),
            )
    return path


def _kept(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        work = {r[0] for r in db.execute("SELECT job_id FROM work_items")}
        rows = db.execute("SELECT operator_name, occurrence, job_id FROM mutation_specs")
        kept = sorted((op, occ) for op, occ, job in rows if job in work)
    return kept


def test_a_seed_picks_the_same_mutants_in_every_session(tmp_path: Path) -> None:
    first, second = _session(tmp_path / "a.sqlite"), _session(tmp_path / "b.sqlite")
    assert _sample(first, 10, seed=7) == _sample(second, 10, seed=7) == len(SPECS)
    assert len(_kept(first)) == 10
    assert _kept(first) == _kept(second)
    other = _session(tmp_path / "c.sqlite")
    _sample(other, 10, seed=8)
    assert _kept(other) != _kept(first)
