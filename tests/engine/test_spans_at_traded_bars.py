"""Spans are declared in time, so a strategy built for bars converts them at those bars' size."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from crypto_strategy_lab.cli.main import app


def test_csl_backtest_converts_spans_at_the_data_bar_size():
    # The bundled crypto bars are 15-minute bars: lag_autocorr's 7-day window is 672 of them
    # (it was 168, i.e. 7 days of the default 1h bars = 42 hours).
    result = CliRunner().invoke(app, ["backtest", "--strategy", "lag_autocorr"])
    assert result.exit_code == 0, result.output
    window = re.search(r"window=7d \((\d+) bars\)", result.output)
    assert window is not None, result.output
    assert int(window.group(1)) == 7 * 24 * 4


def test_paper_replay_converts_spans_at_the_replayed_bar_size(tmp_path):
    # the same rule for the trading loop: a replay of the 15-minute bundled bars trades the
    # 7-day window the lab validated at 15m (672 bars), not 7 days of the default 1h (168)
    import pytest

    from crypto_strategy_lab.core.errors import CSLError
    from crypto_strategy_lab.engine.paper import build_simulated_run
    from crypto_strategy_lab.journal import Journal

    journal = Journal.open(f"sqlite:///{tmp_path / 'j.sqlite'}")
    try:
        engine, _ = build_simulated_run(journal, ["lag_autocorr"], days=1, capital=1000.0)
        (sleeve,) = engine.sleeves
        params = sleeve.runner.strategy.params
        assert params.timeframe == "15m" and params.bars("window") == 7 * 24 * 4
        with pytest.raises(CSLError, match="parameters are for 1h bars but it would trade 15m"):
            build_simulated_run(
                journal, ["lag_autocorr"], days=1, capital=1000.0,
                params={"lag_autocorr": {"timeframe": "1h"}},
            )  # fmt: skip
    finally:
        journal.engine.dispose()


def test_live_refusal_compares_the_parameters_at_the_traded_bar_size(tmp_path):
    from crypto_strategy_lab.cli.trading_cmd import live_refusals

    reasons = live_refusals(
        "lag_autocorr", "bybit", True, f"sqlite:///{tmp_path / 'j.sqlite'}", timeframe="4h"
    )
    assert any("no passing gate verdict found for lag_autocorr on BTCUSDT 4h" in r for r in reasons)


def test_csl_paper_takes_parameter_overrides_for_one_strategy(tmp_path, monkeypatch):
    from crypto_strategy_lab.journal import Journal

    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    monkeypatch.setenv("CSL_DATA_DIR", str(tmp_path))
    ok = CliRunner().invoke(app, ["paper", "--strategy", "lag_autocorr", "--days", "1",
                                  "--param", "window=2d", "--journal", url])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    (run,) = Journal.open(url).runs()
    assert run.config["strategies"]["lag_autocorr"]["window"] == "2d"
    assert run.config["strategies"]["lag_autocorr"]["timeframe"] == "15m"
    bad = CliRunner().invoke(app, ["paper", "--strategy", "all", "--param", "window=2d",
                                   "--journal", url])  # fmt: skip
    assert bad.exit_code != 0 and "--param applies to one strategy" in bad.output
