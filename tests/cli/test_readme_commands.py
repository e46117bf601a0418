"""Every command the README shows, and every shipped config, runs cleanly (short spans).

The README's bash blocks are parsed; each command line must have an entry in ``RUNS`` saying
how the test runs it (the same command, with a shorter span where it replays days, and the
local Bybit emulator instead of the network for ``csl data download``). A command added to the
README without an entry fails :func:`test_every_readme_command_has_a_run`, so a shipped example
can never silently break. The README's Python block runs as written against the local Bybit
emulator (:func:`test_readme_python_block_trades_on_the_bybit_emulator`).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_random_walk_bars

REPO = Path(__file__).resolve().parents[2]
CSL = [sys.executable, "-c", "from crypto_strategy_lab.cli.main import main; main()"]


def readme_commands() -> list[str]:
    """Command lines of the README's ``bash`` blocks, without their comments."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip()
            if command:
                lines.append(" ".join(command.split()))
    return lines


# README command -> (argv the test runs, expected exit status, text the output must contain).
# "{...}" fields are filled in by the test. Short spans: --days 1 instead of 7 or 30, --quick.
RUNS: dict[str, tuple[str, int, str] | None] = {
    "make lab": None,  # the whole lab: its parts run below and in tests/research
    "make test": None,  # the test suite itself
    "csl data check": ("csl data check", 0, "Data quality"),
    "csl data download --exchange bybit --symbol BTC/USDT --timeframe 1h --since 2024-01-01": (
        "csl data download --exchange bybit --symbol BTC/USDT --timeframe 1h --since 2024-01-01"
        " --until 2024-01-05 --base-url {emulator} --no-progress",
        0,
        "96 new",
    ),
    "csl data import my_bars.csv --symbol BTCUSDT --timeframe 1h --col timestamp=time --ts-unit ms": (  # noqa: E501
        "csl data import {tmp}/my_bars.csv --symbol BTCUSDT --timeframe 1h --col timestamp=time"
        " --ts-unit ms",
        0,
        "imported my_bars.csv",
    ),
    "csl data list": ("csl data list", 0, "BTCUSDT"),
    "csl strategies": ("csl strategies", 0, "lag_autocorr"),
    "csl backtest --strategy lag_autocorr": ("csl backtest --strategy lag_autocorr", 0, "sharpe"),
    "csl validate --strategy hurst_exponent": (
        "csl validate --strategy hurst_exponent --quick",
        0,
        "gate: hurst_exponent",
    ),
    "python scripts/validate_strategy.py hurst_exponent": (
        "python scripts/validate_strategy.py hurst_exponent --quick",
        0,
        "gate: hurst_exponent",
    ),
    "csl study --strategy variance_ratio": (
        "csl study --strategy variance_ratio --random 3",
        0,
        "study study:variance_ratio",
    ),
    "./scripts/paper_trade.sh --strategy lag_autocorr --days 7 --capital 5000": (
        "./scripts/paper_trade.sh --strategy lag_autocorr --days 1 --capital 5000",
        0,
        "completed",
    ),
    "./scripts/paper_trade.sh --strategy all --days 30 --capital 10000": (
        "./scripts/paper_trade.sh --strategy all --days 1 --capital 10000",
        0,
        "completed",
    ),
    "csl status": ("csl status", 0, "kill switch: armed"),
    "csl drift RUN_ID": ("csl drift {run_id}", 0, ""),
    "csl audit verify": ("csl audit verify", 0, "ok"),
    "csl kill": ("csl kill", 0, "KILL SWITCH ENGAGED"),
    # live without keys must refuse, naming every missing condition, in one line
    "python scripts/deploy_live.py --strategy hurst_exponent --capital 5000 --confirm": (
        "python scripts/deploy_live.py --strategy hurst_exponent --capital 5000 --confirm",
        1,
        "live trading refused: no live API keys for bybit",
    ),
    "python scripts/deploy_portfolio.py --config configs/production.yaml": (
        "python scripts/deploy_portfolio.py --config configs/production.yaml --days 1",
        0,
        "completed",
    ),
    # served and checked for its loopback address in tests/monitoring/test_dashboard_bind.py
    "csl dashboard": None,
    "python -m streamlit run scripts/monitoring_dashboard.py": None,
}


def test_every_readme_command_has_a_run():
    commands = readme_commands()
    assert commands, "no bash blocks found in README.md"
    # "csl dashboard  # or: python -m streamlit run ..." names its alternative in the comment
    missing = [c for c in commands if c not in RUNS]
    assert not missing, f"add these README commands to RUNS: {missing}"


def _env(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BYBIT_", "ALPACA_", "CSL_", "DEFAULT_CAPITAL"))
    }
    env.update(
        CSL_DATA_DIR=str(tmp / "data"),
        CSL_JOURNAL_URL=f"sqlite:///{tmp / 'journal.sqlite'}",
        CSL_VAULT_PATH=str(tmp / "keys.vault"),
        PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")]),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        XDG_CACHE_HOME=str(tmp / "cache"),
    )
    return env


def _argv(line: str) -> list[str]:
    words = shlex.split(line)
    if words[0] == "csl":
        return [*CSL, *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    return words


@pytest.mark.slow
def test_readme_commands_run_cleanly(tmp_path):
    from tests.emulators.bybit_market import BybitMarketServer

    bars = make_random_walk_bars(24 * 10, seed=3, freq="1h")
    raw = bars.reset_index()
    epoch = pd.Timestamp(0, tz="UTC")
    raw.insert(0, "time", (raw.pop("timestamp") - epoch) // pd.Timedelta("1ms"))
    raw.to_csv(tmp_path / "my_bars.csv", index=False)
    env = _env(tmp_path)
    fields = {"tmp": str(tmp_path)}
    order = [c for c in readme_commands() if RUNS[c] is not None]
    # drift needs a run: run the paper commands first, then the journal readers
    order.sort(key=lambda c: ("paper_trade" not in c, c.startswith("csl kill")))
    with BybitMarketServer() as server:
        server.state.add_bars("spot", "BTCUSDT", bars, "60")
        fields["emulator"] = server.url
        for command in order:
            if "{run_id}" in RUNS[command][0]:
                from crypto_strategy_lab.journal import Journal

                journal = Journal.open(env["CSL_JOURNAL_URL"])
                fields["run_id"] = journal.runs()[-1].run_id
                journal.engine.dispose()
            line, status, expected = RUNS[command]
            result = subprocess.run(
                _argv(line.format(**fields)),
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            output = result.stdout + result.stderr
            assert result.returncode == status, f"{line}\n{output}"
            assert "Traceback" not in output, f"{line}\n{output}"
            assert expected.lower() in output.lower(), f"{line}\n{output}"


@pytest.mark.parametrize("config", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates(config):
    result = subprocess.run(
        [*CSL, "config", "validate", str(config)],
        capture_output=True,
        text=True,
        env=_env(Path("/nonexistent")),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_deployment_deploys(tmp_path, config):
    """configs/production.yaml used to validate and then always refuse to deploy
    ("inverse_volatility weighting needs warm-up history")."""
    from crypto_strategy_lab.config.loader import read_yaml

    if read_yaml(config).get("kind") != "deployment":
        pytest.skip(f"{config.name} is not a deployment")
    result = subprocess.run(
        [*CSL, "deploy", "--config", str(config), "--days", "1"],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        cwd=tmp_path,
        timeout=900,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "completed" in output and "Traceback" not in output
    # a fresh journal holds no book verdict: the replay runs and says it is not validated
    assert "book verdict: none that holds — no passing gate verdict found for book" in output


def test_paper_weights_use_history_beyond_the_warmup(tmp_path):
    """For an estimated weighting the replay holds each strategy's warm-up plus a sample of
    returns before the traded period; a sleeve that traded there gets a positive budget, one
    that did not gets none, and the run records which."""
    from crypto_strategy_lab.backtest import run_backtest
    from crypto_strategy_lab.backtest.engine import unit_returns
    from crypto_strategy_lab.engine.paper import WEIGHTING_SAMPLE_BARS, build_simulated_run
    from crypto_strategy_lab.journal import Journal
    from crypto_strategy_lab.strategies.registry import strategy_for_bars

    names = ["lag_autocorr", "true_range_divergence", "variance_ratio"]
    journal = Journal.open(f"sqlite:///{tmp_path / 'j.sqlite'}")
    try:
        engine, feed = build_simulated_run(
            journal,
            names,
            days=1,
            capital=1000.0,
            weighting="inverse_volatility",
            unit_returns=unit_returns,
        )
        [bars] = feed.frames.values()
        history = bars[bars.index < feed.start]
        instances = [strategy_for_bars(n, None, "15m") for n in names]  # the bundled bars
        assert len(history) >= max(s.warmup for s in instances) + WEIGHTING_SAMPLE_BARS
        allocation, unfunded = engine.run_config["allocation"], engine.run_config["unfunded"]
        assert set(allocation) == set(names)
        sample = history.iloc[-(max(s.warmup for s in instances) + WEIGHTING_SAMPLE_BARS + 1) :]
        for s in instances:
            vol = run_backtest(s, sample, market="perp").returns.std()
            assert (allocation[s.name] > 0) == (vol > 0) and (s.name in unfunded) == (vol == 0)
    finally:
        journal.engine.dispose()


def readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text("utf-8"), flags=re.S)


def test_readme_python_block_trades_on_the_bybit_emulator(monkeypatch: pytest.MonkeyPatch):
    """The README's Python block, as written (top-level ``await``, as in a notebook), against
    the local Bybit emulator with testnet keys: the signal it computes reaches the venue as an
    order of that side and quantity."""
    import asyncio
    import textwrap

    from crypto_strategy_lab.data.synthetic import ar_bars
    from tests.emulators.bybit import BybitEmulator

    (code,) = readme_python_blocks()
    bars = ar_bars(1500, 0.3, sigma=0.005, seed=5)  # autocorrelated: lag_autocorr takes a side
    namespace: dict[str, object] = {"bars": bars}
    # the block's top-level await runs as the body of a coroutine; its names are kept
    body = textwrap.indent(code + "\nglobals().update(locals())\n", "    ")
    exec(compile(f"async def readme_block():\n{body}", "README.md", "exec"), namespace)

    async def scenario() -> list[dict]:
        async with BybitEmulator() as emu:
            monkeypatch.setenv("CSL_BYBIT_BASE_URL", emu.base_url)
            monkeypatch.setenv("BYBIT_TESTNET_API_KEY", emu.api_key)
            monkeypatch.setenv("BYBIT_TESTNET_API_SECRET", emu.api_secret)
            await namespace["readme_block"]()
            await namespace["exchange"].close()
            return list(emu.orders.values())

    orders = asyncio.run(scenario())
    signal = namespace["signal"]
    assert signal.action != "HOLD", "the bars must make the block place its order"
    (order,) = orders
    assert order["side"] == ("Buy" if signal.action == "BUY" else "Sell")
    # the client rounds the quantity down to the instrument's lot (0.001 BTC on the emulator)
    assert float(signal.quantity) - 0.001 < float(order["qty"]) <= float(signal.quantity)


@pytest.mark.slow
def test_lab_quick_runs_cleanly(tmp_path):
    """The docs' `csl lab --quick` as written (every strategy, the bundled crypto and S&P 500
    bars): clean exit, the verdict table, the report; stderr holds nothing (progress draws only
    on a terminal, and long-only trials do not warn per trial)."""
    result = subprocess.run(
        [*CSL, "lab", "--quick"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    assert "report: reports/lab/" in result.stdout
    assert "verdicts stored in the journal under run" in result.stdout
    assert (tmp_path / "reports" / "lab").is_dir()
