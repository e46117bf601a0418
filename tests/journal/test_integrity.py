"""A damaged journal is one clear line naming the damage, never a traceback or an "ok".

Damage as it happens to files: a zeroed page (a bad sector, a torn write), a truncated file
(a full disk, a partial copy), and values the column types cannot read (a hand edit).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from crypto_strategy_lab.cli.errors import run_guarded
from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.journal import Journal, JournalError
from crypto_strategy_lab.journal.integrity import check_storage, find_unreadable_value
from tests.journal.helpers import T0, legacy_equity_point, populate

PAGE = 4096
COMMANDS = (["audit", "verify"], ["status"], ["kill"])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpointed journal of a few hundred rows (many pages, no WAL file): equity points
    as rows (a journal from before migration 0007) and as blocks of one point each."""
    path = tmp_path_factory.mktemp("pristine") / "journal.sqlite"
    journal = Journal.open(f"sqlite:///{path}")
    run_id = populate(journal)
    for i in range(300):
        legacy_equity_point(journal, run_id, T0, Decimal(10_000 + i))
        journal.record_equity(run_id, ts=T0, equity=10_000 + i, cash=10_000)
    journal.engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _copy(pristine: Path, tmp_path: Path) -> Path:
    path = tmp_path / "journal.sqlite"
    shutil.copy(pristine, path)
    return path


def _zero_page(path: Path, page: int) -> None:
    with path.open("r+b") as f:
        f.seek(PAGE * (page - 1))
        f.write(b"\0" * PAGE)


def _root_page(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(
            conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[
                0
            ]
        )


def _csl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run ``csl`` as its console script does (``run_guarded``); exit code and output."""
    with pytest.raises(SystemExit) as exit_:
        run_guarded(app, list(args), prog_name="csl")
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out + captured.err


def _assert_one_clear_line(code: int, output: str, *names: str) -> None:
    assert code != 0, output
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    for name in names:
        assert name in errors[0], output


def _unreadable(path: Path, statement: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(statement)


def test_pristine_journal_passes_the_checks(pristine: Path, tmp_path: Path) -> None:
    path = _copy(pristine, tmp_path)
    journal = Journal.open(f"sqlite:///{path}", create=False)
    check_storage(journal.engine, thorough=True)
    assert find_unreadable_value(journal.engine) is None
    assert journal.verify().ok


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_zeroed_page_is_never_ok(
    pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = _copy(pristine, tmp_path)
    # the root page of the equity curve's b-tree: the rows behind it vanish from every query
    _zero_page(path, _root_page(path, "equity_curve"))
    code, output = _csl(capsys, *command, "--journal", f"sqlite:///{path}")
    _assert_one_clear_line(code, output, "damaged", str(path))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_truncated_file_is_one_line(
    pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    path = _copy(pristine, tmp_path)
    os.truncate(path, path.stat().st_size // 2)
    code, output = _csl(capsys, *command, "--journal", f"sqlite:///{path}")
    _assert_one_clear_line(code, output, "damaged", str(path))


def test_the_damaged_table_is_named(pristine: Path, tmp_path: Path) -> None:
    path = _copy(pristine, tmp_path)
    _zero_page(path, _root_page(path, "equity_curve"))
    with pytest.raises(JournalError, match="damaged in table equity_curve:"):
        Journal.open(f"sqlite:///{path}", create=False)


UNREADABLE = {
    "decimal": (
        "UPDATE equity_curve SET equity = 'abc' WHERE id = 7",
        "equity_curve id=7: column equity holds 'abc', not a valid decimal",
    ),
    "timestamp": (
        "UPDATE equity_curve SET ts = 'notadate' WHERE id = 3",
        "equity_curve id=3: column ts holds 'notadate', not a valid UTC timestamp",
    ),
    "json": (
        "UPDATE runs SET config = '{not json'",
        "column config holds '{not json', not a valid JSON document",
    ),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
@pytest.mark.parametrize("command", [["audit", "verify"], ["status"]], ids=" ".join)
def test_an_unreadable_value_is_named_by_table_row_and_column(
    pristine: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    case: str,
) -> None:
    path = _copy(pristine, tmp_path)
    statement, named = UNREADABLE[case]
    _unreadable(path, statement)
    code, output = _csl(capsys, *command, "--journal", f"sqlite:///{path}")
    _assert_one_clear_line(code, output, named)


def test_an_unreadable_equity_block_is_named_by_status_and_fails_the_audit(
    pristine: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A block's points are bytes to the database: ``status``, which reads the equity, names
    the block; ``audit verify`` finds the bytes no longer hash to their audited digest."""
    path = _copy(pristine, tmp_path)
    _unreadable(path, "UPDATE equity_blocks SET points = substr(points, 1, 25) WHERE id = 3")
    code, output = _csl(capsys, "status", "--journal", f"sqlite:///{path}")
    _assert_one_clear_line(code, output, "equity_blocks id=3: column points holds")
    code, output = _csl(capsys, "audit", "verify", "--journal", f"sqlite:///{path}")
    assert code == 1 and "Traceback" not in output
    assert "equity_blocks id=3: record differs from its audited content" in output


@pytest.mark.parametrize("command", [["kill"], ["status"], ["audit", "verify"], ["drift", "x"]])
def test_a_journal_that_does_not_exist_is_refused_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """A mistyped ``--journal`` used to become a fresh journal (and ``kill`` said ENGAGED)."""
    missing = tmp_path / "jurnal.sqlite"
    code, output = _csl(capsys, *command, "--journal", f"sqlite:///{missing}")
    _assert_one_clear_line(code, output, "no journal at", str(missing))
    assert not missing.exists()
