"""Every command that reads bars, driven as a user drives it: one data grammar, one loader.

``--data`` is a path, ``SOURCE:SYMBOL:TIMEFRAME`` from the store or ``bundled:KIND``; the older
``--symbol/--source`` and ``store:EX/SYM/TF`` spellings go through the same parser. Files are
made from the real epoch-millisecond Parquet files in ../shared/data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app
from tests.conftest import make_random_walk_bars, shared_file

BTC_1H = "btcusd_cdd_1h_20180515_20220301.parquet"
SPY_1D = "spy_daily_19991101_20200828.parquet"
RESEARCH = ("backtest", "validate", "study", "lab")


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400", **(env or {})})
    return result.exit_code, result.output


def _flat(out: str) -> str:
    """Output with whitespace collapsed (rich wraps a table title to the table's width)."""
    return " ".join(out.split())


def _strategy_args(command: str) -> list[str]:
    return [command] if command == "lab" else [command, "--strategy", "lag_autocorr"]


@pytest.fixture
def btc_ms(tmp_path: Path) -> Path:
    """1,500 hourly BTC bars (62 days), timestamps in epoch milliseconds as shipped."""
    path = tmp_path / "btc.parquet"
    pd.read_parquet(shared_file(BTC_1H)).iloc[:1500].to_parquet(path)
    return path


@pytest.fixture
def store(tmp_path: Path, btc_ms: Path) -> Path:
    root = tmp_path / "store"
    code, out = _run("data", "import", str(btc_ms), "--symbol", "BTCUSD", "--data-dir", str(root))
    assert code == 0, out
    return root


def test_backtest_reads_epoch_ms_and_says_the_market_first(btc_ms: Path) -> None:
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", str(btc_ms))
    assert code == 0, out
    first = out.splitlines()[0]
    assert first.startswith("market: perp (inferred from the calendar: bars on all 7 days")
    assert "override with --market" in first
    assert "lag_autocorr on file:btc.parquet" in _flat(out)


@pytest.mark.parametrize("command", RESEARCH)
def test_every_research_command_refuses_a_wrong_epoch_unit(command: str, btc_ms: Path) -> None:
    code, out = _run(*_strategy_args(command), "--data", str(btc_ms), "--ts-unit", "s")
    assert code == 1 and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1
    assert "look like epoch milliseconds" in out and "pass --ts-unit ms" in out


@pytest.mark.parametrize("command", RESEARCH)
def test_every_research_command_maps_columns(command: str, tmp_path: Path) -> None:
    raw = pd.read_parquet(shared_file(BTC_1H)).iloc[:50]
    path = tmp_path / "odd.csv"
    raw.rename(columns={"timestamp": "t", "close": "last"}).to_csv(path, index=False)
    code, out = _run(*_strategy_args(command), "--data", str(path), "--col", "timestamp=t",
                     "--col", "close=nope")  # fmt: skip
    assert code == 1 and "mapped column 'nope' not in file" in out
    # mapped right, the file is read (then refused only because 50 bars is two days)
    code, out = _run(*_strategy_args(command), "--data", str(path),
                     "--col", "timestamp=t", "--col", "close=last")  # fmt: skip
    assert code == 1 and "cannot infer the market from 2 days" in out and "--market" in out


def test_daily_stock_file_is_a_stock_on_a_daily_grid(tmp_path: Path) -> None:
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", str(shared_file(SPY_1D)))
    assert code == 0, out
    assert out.splitlines()[0].startswith("market: stock (inferred from the calendar")
    assert "costs: market stock (long-only: short targets are flat); taker fee 0 bps" in out
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data",
                     str(shared_file(SPY_1D)), "--market", "perp")  # fmt: skip
    assert code == 1 and "before Bitcoin's first block" in out


def test_explicit_market_wins_and_says_so(btc_ms: Path) -> None:
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", str(btc_ms),
                     "--market", "spot")  # fmt: skip
    assert code == 0, out
    assert out.splitlines()[0] == "market: spot (from --market)"


def test_future_and_short_files_are_refused(tmp_path: Path) -> None:
    future = make_random_walk_bars(24 * 30)
    future.index = future.index + pd.DateOffset(years=70)
    path = tmp_path / "future.csv"
    future.to_csv(path)
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", str(path))
    assert code == 1 and "in the future" in out and "Traceback" not in out


def test_the_grammar_and_the_older_spellings_name_the_same_series(store: Path) -> None:
    spellings = [
        ("--data", "file:BTCUSD:1h"),
        ("--data", "file:BTCUSD"),  # the only stored bar size
        ("--symbol", "BTCUSD"),  # default source: file, as csl data import
        ("--data", "store:file/BTCUSD/1h"),
    ]
    outputs = []
    for option, value in spellings:
        code, out = _run("backtest", "--strategy", "lag_autocorr", option, value,
                         "--data-dir", str(store))  # fmt: skip
        assert code == 0, (value, out)
        assert "lag_autocorr on file:BTCUSD:1h" in _flat(out)
        outputs.append(_flat(out).split("lag_autocorr on", 1)[1])
    assert all(o == outputs[0] for o in outputs)


@pytest.mark.parametrize("spelling", ["4H", "4h", "240min"])
def test_timeframe_resamples_on_the_fly(store: Path, spelling: str) -> None:
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", "file:BTCUSD",
                     "--timeframe", spelling, "--param", "window=60",
                     "--data-dir", str(store))  # fmt: skip
    assert code == 0, out
    assert "lag_autocorr on file:BTCUSD:1h@4h" in _flat(out)


def test_missing_series_says_what_is_stored_and_did_you_mean(store: Path) -> None:
    for value in ("bybit:BTCUSD:1h", "file:BTC/USD:1h", "file:BTCUSD:4h"):
        code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", value,
                         "--data-dir", str(store))  # fmt: skip
        assert code == 1 and "Traceback" not in out
        assert f"no stored bars for {value}" in out
        assert "stored: file:BTCUSD:1h" in out and "did you mean --data file:BTCUSD:1h" in out
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", "file:BTCUSD:7m",
                     "--data-dir", str(store))  # fmt: skip
    assert code == 1 and "unknown timeframe '7m'" in out


def test_a_damaged_stored_series_is_one_line(store: Path) -> None:
    (store / "file" / "ETH").mkdir(parents=True)
    (store / "file" / "ETH" / "1h.parquet").write_bytes(b"PAR1 truncated")
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", "file:ETH:1h",
                     "--data-dir", str(store))  # fmt: skip
    assert code == 1 and "Traceback" not in out
    assert "file:ETH:1h cannot be read: unreadable" in out


def test_bad_data_names(tmp_path: Path) -> None:
    for value, message in [
        ("nonsense", "is not a CSV/Parquet path, SOURCE:SYMBOL:TIMEFRAME"),
        (str(tmp_path / "missing.csv"), "data file not found"),
        ("bundled:forex", "unknown bundled dataset 'forex'"),
    ]:
        code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", value)
        assert code == 1 and message in out and "Traceback" not in out


def test_bundled_data_resamples_and_names_its_market() -> None:
    code, out = _run("backtest", "--strategy", "lag_autocorr", "--data", "bundled:crypto",
                     "--timeframe", "1H", "--param", "window=60")  # fmt: skip
    assert code == 0, out
    assert out.splitlines()[0].startswith("market: perp (inferred from the bundled crypto")
    assert "@1h" in out


def test_paper_replay_takes_the_same_grammar(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crypto_strategy_lab.engine.paper import load_replay_data

    monkeypatch.setenv("CSL_DATA_DIR", str(store))
    new = load_replay_data(5, source="file:BTCUSD:1h", warmup_bars=10)
    old = load_replay_data(5, source="store:file/BTCUSD/1h", warmup_bars=10)
    pd.testing.assert_frame_equal(new.bars, old.bars)
    assert new.timeframe == "1h" and len(new.bars) == 5 * 24 + 10
    with pytest.raises(Exception, match="did you mean --data file:BTCUSD:1h"):
        load_replay_data(5, source="bybit:BTCUSD:1h")


def test_strategies_lists_what_the_classes_declare() -> None:
    from crypto_strategy_lab.strategies import list_strategies, strategy_class

    code, out = _run("strategies", "--json")
    assert code == 0, out
    rows = {r["name"]: r for r in json.loads(out)}
    assert list(rows) == list_strategies()
    for name, row in rows.items():
        cls = strategy_class(name)
        assert row["timeframes"] == list(cls.recommended_timeframes)
        assert row["asset_classes"] == list(cls.asset_classes)
        defaults = {k: v.default for k, v in cls.params_model.model_fields.items()}
        shown = json.loads(json.dumps(defaults, default=str))  # spans print as "7d"
        assert {k: v["default"] for k, v in row["params"].items()} == shown
    code, out = _run("strategies")
    window = strategy_class("lag_autocorr").params_model.model_fields["window"].default
    assert code == 0 and "lag_autocorr" in out and f"window={window}" in out
    code, out = _run("strategies", "nope")
    assert code == 1 and "unknown strategy 'nope'" in out


BAD_FILES = {
    "corrupt.parquet": (b"PAR1 garbage", "cannot parse corrupt.parquet"),
    "empty.csv": (b"", "cannot parse empty.csv"),
    "latin1.csv": (b"\xff\xfe\x00bad", "cannot parse latin1.csv"),
    "header.csv": (b"timestamp,open,high,low,close,volume\n", "OHLCV frame is empty"),
    "bars.txt": (b"timestamp,open\n", "unsupported file type '.txt'"),
}


@pytest.mark.parametrize("command", [*RESEARCH, "import"])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unreadable_files_are_one_line_for_every_command(
    command: str, name: str, tmp_path: Path
) -> None:
    content, message = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(content)
    if command == "import":
        args = ["data", "import", str(path), "--symbol", "X", "--data-dir", str(tmp_path / "s")]
    else:
        args = [*_strategy_args(command), "--data", str(path)]
    code, out = _run(*args)
    assert code == 1 and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1 and message in out, out
    truncated = tmp_path / "truncated.parquet"
    truncated.write_bytes(shared_file(SPY_1D).read_bytes()[:20_000])
    code, out = _run(*[a if a != str(path) else str(truncated) for a in args])
    assert code == 1 and "cannot parse truncated.parquet" in out


def test_paper_reads_a_file_with_ts_unit_and_col(tmp_path: Path) -> None:
    from crypto_strategy_lab.engine.paper import load_replay_data

    raw = pd.read_parquet(shared_file(BTC_1H)).iloc[:500]
    path = tmp_path / "odd.csv"
    raw.rename(columns={"timestamp": "t", "close": "last"}).to_csv(path, index=False)
    journal = f"sqlite:///{tmp_path / 'j.sqlite'}"
    proc = subprocess.run(
        [sys.executable, "-m", "crypto_strategy_lab.cli.main", "paper", "--strategy",
         "lag_autocorr", "--days", "1", "--data", str(path), "--col", "timestamp=t",
         "--col", "close=last", "--ts-unit", "s", "--journal", journal],
        capture_output=True, text=True, env=os.environ | {"COLUMNS": "400"}, timeout=300,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "pass --ts-unit ms" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    read = {"ts_unit": "ms", "columns": {"timestamp": "t", "close": "last"}}
    data = load_replay_data(1, source=str(path), warmup_bars=24, read=read)
    assert data.bars.index[0] == pd.Timestamp("2018-05-15 06:00", tz="UTC") + pd.Timedelta(
        hours=500 - 48
    )
    assert data.timeframe == "1h"
