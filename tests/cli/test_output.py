"""What the commands print: units, a benchmark, full run ids, flags, run summaries, fast failures.

Numbers on screen are checked against independent computations from the same inputs (the bars
for buy-and-hold, the journal's own fills for fees), not against the code under test.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import stat
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import ccxt
import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from crypto_strategy_lab.cli.display import (
    Benchmark,
    bar_progress,
    print_runs,
    progress_console,
    run_report,
    step_progress,
)
from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.data.quality import check_ohlcv_quality
from crypto_strategy_lab.data.timeframes import duration_label
from crypto_strategy_lab.journal import Journal
from tests.conftest import make_random_walk_bars

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CSL_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def journal_url(env: Path) -> str:
    """Passed as --journal: settings are cached per process, the option is not."""
    return f"sqlite:///{env / 'journal.sqlite'}"


def _flat(text: str) -> str:
    return " ".join(text.split())


# -- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "label"),
    [
        ("15min", "15m"),
        ("1h", "1h"),
        ("1D", "1d"),
        ("3h55min", "3h55m"),
        ("2D 1h", "2d1h"),
        ("0s", "0m"),
    ],
)
def test_duration_label_names_bar_sizes_as_timeframes(delta: str, label: str) -> None:
    assert duration_label(pd.Timedelta(delta)) == label


def test_quality_report_prints_bar_size_and_gaps_as_timeframes() -> None:
    bars = make_random_walk_bars(200, freq="15min")
    bars = bars.drop(bars.index[50:60])  # a 2h45m hole: 11 missing bars after bar 49
    report = check_ohlcv_quality(bars)
    assert report.bar_size == "15m"
    assert report.largest_gap == "2h45m"
    assert "days" not in str(report.rows_for_table())


# -- csl backtest ----------------------------------------------------------------------------


def test_buy_and_hold_benchmark_matches_an_independent_computation() -> None:
    bars = make_random_walk_bars(500)
    b = Benchmark.buy_and_hold(bars, periods_per_year=8760)
    path = np.concatenate([[bars["open"].iloc[0]], bars["close"].to_numpy()])
    assert b.total_return == pytest.approx(path[-1] / path[0] - 1, rel=1e-12)
    drawdown = 1 - path / np.maximum.accumulate(path)
    assert b.max_drawdown == pytest.approx(drawdown.max(), rel=1e-12)
    r = np.diff(path) / path[:-1]
    assert b.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(8760), rel=1e-9)


def test_backtest_prints_units_benchmark_and_parameters(env: Path) -> None:
    from crypto_strategy_lab.data.bundled import load_default_bars

    result = runner.invoke(app, ["backtest", "--strategy", "lag_autocorr", "--param", "lag=2"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "0 days" not in out
    assert re.search(r"bars of 15m", out), out
    params = next(line for line in out.splitlines() if line.startswith("parameters: "))
    assert "window=7d (672 bars)" in params and "lag=2" in params  # 7 days of 15m bars
    for label in ("total return", "Sharpe (ann.)", "max drawdown", "fees", "funding paid"):
        assert label in out, label
    # RISK_FREE_RATE (the brief's 2 % a year by default) is shown beside the raw Sharpe ratio
    excess = next(line for line in out.splitlines() if "Sharpe over rf" in line)
    assert "2.00 %" in excess and re.search(r"-?\d+\.\d\d", excess.split("(ann.)")[1])
    assert "trades" in out and "buy & hold" in out
    bars = load_default_bars("crypto").bars
    bh = bars["close"].iloc[-1] / bars["open"].iloc[0] - 1
    row = next(line for line in out.splitlines() if "total return" in line)
    assert f"{bh * 100:,.2f} %" in row, row
    assert re.search(r"-?\d+\.\d\d %", row)


# -- csl status, kill, paper -----------------------------------------------------------------


def _paper(journal_url: str):
    return runner.invoke(
        app,
        [
            *("paper", "--strategy", "lag_autocorr", "--days", "1", "--capital", "5000"),
            *("--journal", journal_url),
        ],
    )


def test_paper_summary_reports_the_run_from_its_journal(journal_url: str) -> None:
    result = _paper(journal_url)
    assert result.exit_code == 0, result.output
    out = result.output
    for label in (
        "return",
        "Sharpe (ann.)",
        "max drawdown",
        "fees",
        "funding paid",
        "orders sent",
        "halts",
    ):
        assert label in out, label
    assert "blocked by the kill switch" not in out
    journal = Journal.open(journal_url)
    (run,) = journal.runs()
    fees = sum(float(f.fee) for f in journal.fills(run.run_id))
    assert f"run {run.run_id} completed" in out
    fee_row = next(line for line in out.splitlines() if "fees" in line)
    assert f"{fees:,.2f}" in fee_row


def test_paper_after_kill_says_it_was_blocked_by_the_kill_switch(journal_url: str) -> None:
    Journal.open(journal_url)  # `csl kill` refuses a journal that does not exist yet
    kill = runner.invoke(app, ["kill", "--reason", "drill", "--journal", journal_url])
    assert kill.exit_code == 0, kill.output
    result = _paper(journal_url)
    assert result.exit_code == 0, result.output
    assert "blocked by the kill switch" in _flat(result.output)
    rearm = runner.invoke(app, ["kill", "--rearm", "--by", "tester", "--journal", journal_url])
    assert rearm.exit_code == 0, rearm.output
    assert "re-armed" in rearm.output
    assert "blocked by the kill switch" not in _paper(journal_url).output


def test_kill_rearm_is_a_plain_flag() -> None:
    helptext = runner.invoke(app, ["kill", "--help"], terminal_width=100).output
    line = next(line for line in helptext.splitlines() if "--rearm" in line and "Re-arm" in line)
    assert "<bool>" not in line and "Re-arm" in line
    assert runner.invoke(app, ["kill", "--rearm", "true"]).exit_code == 2  # takes no value


def _command_paths() -> list[list[str]]:
    from typer.main import get_command

    def walk(command, path):
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(get_command(app), []))


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "csl")
def test_help_shows_every_flag_as_a_flag(path: list[str]) -> None:
    # typer 0.29 shows a flag's type as `<bool>`, as if it took a value (`--quick true` fails)
    result = runner.invoke(app, [*path, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output, result.output


def test_status_shows_full_run_ids_and_labelled_exposures(journal_url: str) -> None:
    assert _paper(journal_url).exit_code == 0
    run_id = Journal.open(journal_url).runs()[-1].run_id
    out = runner.invoke(app, ["status", "--journal", journal_url]).output
    assert run_id in out
    assert "gross exposure" in out and "net exposure" in out
    assert "notional in the quote currency" in out


@dataclass
class _Run:
    run_id: str = "0123456789abcdef0123456789abcdef"
    name: str = "paper"
    mode: str = "simulated"
    status: str = "completed"
    started_at: datetime = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def test_runs_on_a_narrow_terminal_keep_the_whole_run_id() -> None:
    last = pd.Series({"equity": 5000.0, "gross_exposure": 12.5, "net_exposure": -12.5})
    for width in (60, 80, 200):
        buf = io.StringIO()
        print_runs(Console(file=buf, width=width), [(_Run(), last)])
        text = buf.getvalue()
        assert _Run.run_id in text, width
        assert "gross exposure" in text and "12.50" in text and "-12.50" in text


# -- the run report's arithmetic -------------------------------------------------------------


@dataclass
class _Fill:
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal


@dataclass
class _Position:
    quantity: Decimal
    mark_price: Decimal
    average_price: Decimal


@dataclass
class _RiskEvent:
    decision: str
    rule: str | None


@dataclass
class _Summary:
    run_id: str
    status: str
    bars: int
    orders_sent: int
    final_equity: Decimal


class _Journal:
    """The four journal reads a run report uses, with known numbers."""

    def __init__(self, equity: list[float], final: float) -> None:
        index = pd.date_range("2024-01-01", periods=len(equity), freq="1h", tz="UTC")
        self._equity = pd.DataFrame({"equity": equity}, index=index)

    def equity_frame(self, run_id: str) -> pd.DataFrame:
        return self._equity

    def fills(self, run_id: str) -> list[_Fill]:
        return [_Fill("BUY", Decimal(1), Decimal(100), Decimal("0.1"))]

    def latest_positions(self, run_id: str) -> list[_Position]:
        return [_Position(Decimal(1), Decimal(110), Decimal(100))]

    def risk_events(self, run_id: str) -> list[_RiskEvent]:
        return [_RiskEvent("approve", None), _RiskEvent("halt", "daily_loss")]


def test_run_report_return_drawdown_fees_funding_and_halts() -> None:
    # Long 1 unit bought at 100 (fee 0.1), marked at 110: without funding equity would be
    # 1000 - 100 - 0.1 + 110 = 1009.9; it ended at 1009.4, so 0.5 was paid in funding.
    equity = [1000.0, 990.0, 1005.0, 1009.4]
    report = run_report(
        _Journal(equity, 1009.4),
        _Summary("r1", "completed", 4, 1, Decimal("1009.4")),
        capital=1000.0,
        market="crypto",
    )
    assert report.total_return == pytest.approx(0.0094)
    assert report.max_drawdown == pytest.approx(0.01)
    assert report.fees == pytest.approx(0.1)
    assert report.funding == pytest.approx(0.5)
    assert report.halts == {"daily_loss": 1}
    assert not report.blocked_by_kill_switch
    path = np.array([1000.0, *equity])
    r = np.diff(path) / path[:-1]
    assert report.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(24 * 365), rel=1e-9)


def test_progress_counts_every_bar_of_the_feed() -> None:
    class Feed:
        def __len__(self) -> int:
            return 5

        def describe(self) -> str:
            return "five bars"

        async def __aiter__(self):
            for i in range(5):
                yield i

    async def consume(feed) -> list[int]:
        return [bar async for bar in feed]

    with bar_progress(Console(file=io.StringIO()), Feed()) as tracked:
        assert tracked.describe() == "five bars"  # the engine still sees the feed's attributes
        assert asyncio.run(consume(tracked)) == list(range(5))
        (task,) = tracked.progress.tasks
        assert task.completed == task.total == 5


def test_step_progress_counts_each_step_on_a_terminal_and_nothing_without_one() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with step_progress(console, "preparing strategies", 3) as step:
        for name in ("a", "b", "c"):
            step(name)
    frames = re.findall(r"preparing strategies.*?(\d+)/(\d+)", screen.getvalue())
    assert frames and frames[-1] == ("3", "3")
    with step_progress(None, "preparing strategies", 3) as step:
        step("a")  # a no-op: no console, no bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_stderr_and_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert progress_console() is None  # pytest captures stderr: no bar at all
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    console = progress_console()
    assert console is not None and console.file is terminal


def test_paper_output_holds_no_progress_frame(journal_url: str) -> None:
    # rich ends a bar on a console that is not a terminal with a blank line (and a bar that is
    # not transient with its last frame): the summary must be all there is
    result = _paper(journal_url)
    assert result.exit_code == 0, result.output
    assert "" not in result.output.splitlines() and not result.stderr, result.output


# -- scripts/paper_trade.sh ------------------------------------------------------------------


def _script_copy(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    script = repo / "scripts" / "paper_trade.sh"
    script.write_text((ROOT / "scripts" / "paper_trade.sh").read_text())
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_paper_trade_script_uses_a_csl_on_path_without_a_repo_venv(tmp_path: Path) -> None:
    script = _script_copy(tmp_path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "csl"
    fake.write_text('#!/usr/bin/env bash\necho "csl on PATH: $*"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}/usr/bin:/bin"}
    run = subprocess.run(
        [str(script), "--strategy", "lag_autocorr", "--days", "1"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "csl on PATH: paper --strategy lag_autocorr --days 1"


def test_paper_trade_script_without_any_csl_says_how_to_get_one(tmp_path: Path) -> None:
    script = _script_copy(tmp_path)
    run = subprocess.run(
        [str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert run.returncode == 1
    assert "no csl on PATH" in run.stderr and "make lab" in run.stderr


# -- csl data download without a network -----------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_fails_at_once_with_a_hint_when_no_connection_can_be_made(
    env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from crypto_strategy_lab.data.sources import ccxt_source

    real_sleep = asyncio.sleep

    async def no_waiting(delay: float) -> None:
        if delay >= 1.0:  # a retry backs off >= 1 s; ccxt's own throttle waits less
            raise AssertionError(f"retried a connection that cannot be made (sleep {delay})")
        await real_sleep(delay)

    monkeypatch.setattr(ccxt_source.asyncio, "sleep", no_waiting)
    result = runner.invoke(
        app,
        [
            "data",
            "download",
            "--symbol",
            "BTC/USDT",
            "--since",
            "2024-01-01",
            "--base-url",
            f"http://127.0.0.1:{_closed_port()}",
        ],
    )
    assert result.exit_code == 1
    text = _flat(result.output + str(result.exception))
    assert "unreachable" in text and "csl data import" in text
    assert "retried" not in text
    assert not [r for r in caplog.records if "retry" in r.getMessage()]


def test_download_without_a_network_fails_at_once_on_the_name_lookup(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, the first thing to fail is DNS: ccxt raises NetworkError from aiohttp's
    connector error, itself from socket.gaierror. No request leaves the process here: the
    client's first call raises that chain."""
    from crypto_strategy_lab.data.sources import ccxt_source

    calls: list[str] = []
    real_create = ccxt_source.create_exchange

    def offline(exchange_id: str, base_url: str | None = None):
        exchange = real_create(exchange_id, base_url)

        async def load_markets(*args, **kwargs):
            calls.append("load_markets")
            lookup = socket.gaierror(-3, "Temporary failure in name resolution")
            try:
                raise lookup
            except socket.gaierror as exc:
                raise ccxt.NetworkError(
                    "bybit GET https://api.bybit.com/v5/market/instruments-info"
                ) from exc

        exchange.load_markets = load_markets
        return exchange

    real_sleep = asyncio.sleep

    async def no_waiting(delay: float) -> None:
        if delay >= 1.0:  # a retry backs off >= 1 s; closing the client waits less
            raise AssertionError(f"retried a name that does not resolve (sleep {delay})")
        await real_sleep(delay)

    monkeypatch.setattr(ccxt_source, "create_exchange", offline)
    monkeypatch.setattr(ccxt_source.asyncio, "sleep", no_waiting)
    result = runner.invoke(
        app, ["data", "download", "--symbol", "BTC/USDT", "--since", "2024-01-01"]
    )
    assert result.exit_code == 1 and calls == ["load_markets"], result.output
    (line,) = result.output.splitlines()
    assert line.startswith("error: ExchangeUnavailable: cannot connect (")
    assert "Temporary failure in name resolution" in line and "network" in line
    assert "csl data import" in line


def test_download_still_retries_an_error_after_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    from crypto_strategy_lab.data.sources import ccxt_source

    waits: list[float] = []

    async def record(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(ccxt_source.asyncio, "sleep", record)
    calls = iter([ccxt.NetworkError("connection reset by peer"), "markets"])

    async def flaky():
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    counter = [0]
    assert asyncio.run(ccxt_source._with_retries(flaky, 5, 1.0, counter)) == "markets"
    assert counter == [1] and waits == [1.0]
