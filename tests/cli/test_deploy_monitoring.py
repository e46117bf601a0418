"""``csl deploy`` hands the engine the monitor its YAML's ``monitoring:`` section configures (the
engine only knows the observer protocol; the CLI builds monitoring's implementation)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crypto_strategy_lab.cli import trading_cmd
from crypto_strategy_lab.cli.main import app
from crypto_strategy_lab.monitoring.alerts import DailyLossRule
from crypto_strategy_lab.monitoring.run_monitor import RunMonitor

DEPLOYMENT = """\
kind: deployment
name: wiring
capital: 10000
weighting: equal
strategies:
  - name: lag_autocorr
    venue: simulated
    symbol: BTCUSDT
    timeframe: 15m
risk:
  daily_loss_limit: 0.07
monitoring:
  enabled: {enabled}
  every_bars: 3
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_deploy_wires_the_configured_monitor(tmp_path: Path, monkeypatch, enabled: bool) -> None:
    config = tmp_path / "deploy.yaml"
    config.write_text(DEPLOYMENT.format(enabled=str(enabled).lower()))
    built = {}
    monkeypatch.setattr(trading_cmd, "_run", lambda engine, feed: built.update(engine=engine))
    journal = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    result = CliRunner().invoke(
        app, ["deploy", "--config", str(config), "--days", "1", "--journal", journal]
    )
    assert result.exit_code == 0, result.output
    monitor = built["engine"].monitor
    if not enabled:
        assert monitor is None
        return
    assert isinstance(monitor, RunMonitor)
    assert monitor.config.every_bars == 3
    assert monitor.journal is built["engine"].journal
    # the alert thresholds follow the deployment's risk overrides, not the defaults
    daily = next(rule for rule in monitor.rules if isinstance(rule, DailyLossRule))
    assert daily.limit == pytest.approx(0.07)
