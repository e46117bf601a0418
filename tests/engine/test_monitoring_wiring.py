"""The trading loop feeds Prometheus metrics and routes alert rules to a webhook."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.engine import HistoricalReplayFeed, Sleeve, StrategyRunner, TradingEngine
from crypto_strategy_lab.engine.deployment import DeploymentConfig, MonitoringConfig
from crypto_strategy_lab.exchanges import ExchangeFactory
from crypto_strategy_lab.monitoring.run_monitor import RunMonitor
from crypto_strategy_lab.risk import RiskLimits
from tests.engine.helpers import FixedSignal

CAPITAL = 10_000.0


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict]]]:
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _crash_bars(n: int = 200) -> pd.DataFrame:
    """Flat, then a steady 12 % fall: a fully invested long loses about 12 % of equity."""
    close = np.concatenate([np.full(50, 100.0), np.linspace(100.0, 88.0, n - 50)])
    idx = pd.date_range("2024-01-01", periods=n, freq="15min", tz="UTC", name="timestamp")
    open_ = np.concatenate([[100.0], close[:-1]])
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close),
            "low": np.minimum(open_, close),
            "close": close,
            "volume": 1.0,
        },
        index=idx,
    )


def test_replay_drawdown_alert_arrives_as_webhook_and_metrics_follow(journal, receiver) -> None:
    url, bodies = receiver
    bars = _crash_bars()
    costs = CostModel(funding_rate_8h=0.0)
    limits = RiskLimits(
        max_position_fraction=1.0,
        max_gross_exposure=1.0,
        stop_loss_pct=0.5,
        take_profit_pct=0.9,
        daily_loss_limit=0.5,
    )
    runner = StrategyRunner(
        FixedSignal(pd.Series(1.0, index=bars.index)), "BTCUSDT", MarketType.LINEAR
    )
    runner.prepare(bars)
    venue = ExchangeFactory.create_exchange(
        "simulated", TradingMode.SIMULATED, cost_model=costs, cash=Decimal(str(CAPITAL))
    )
    config = MonitoringConfig(enabled=True, webhook_url=url, every_bars=8, metrics_port=0)
    monitor = RunMonitor(config, limits, journal)
    engine = TradingEngine(
        journal,
        [Sleeve(runner, venue, allocation=0.95, costs=costs)],
        mode=TradingMode.SIMULATED,
        capital=CAPITAL,
        limits=limits,
        monitor=monitor,
    )
    scraped: dict[str, float] = {}
    original_close = monitor.close

    def scrape_then_close() -> None:  # read /metrics while the server still runs
        assert monitor.server is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{monitor.server.port}/metrics") as r:
            text = r.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                scraped.setdefault(sample.name, sample.value)
        original_close()

    monitor.close = scrape_then_close  # type: ignore[method-assign]
    summary = asyncio.run(engine.run(HistoricalReplayFeed({"BTCUSDT": bars})))
    assert summary.status == "completed"

    drawdown = [b for b in bodies if b["rule"] == "drawdown"]
    thresholds = [b["details"]["threshold"] for b in drawdown]
    assert thresholds[0] == 0.05 and thresholds[-1] == 0.1
    assert thresholds == sorted(thresholds)  # only the deepest breached level fires
    assert drawdown[0]["severity"] == "warning" and drawdown[-1]["severity"] == "critical"
    equity = journal.equity_frame(summary.run_id)["equity"].astype(float)
    peak = equity.cummax()
    depth = (peak - equity) / peak
    assert 0.1 <= depth.max() < 0.2  # the replay really drew down that far, not further
    # rules run every 8 bars (2 h, beyond the 30 min de-duplication window): one alert per run
    assert len(drawdown) <= (depth >= 0.05 - 1e-12).sum() / 8 + 2
    assert monitor.webhook is not None and monitor.webhook.rate_limited == 0
    journaled = [a for a, _ in journal.alerts() if a.source == "drawdown"]
    assert len(journaled) == len(drawdown) and journaled[0].run_id == summary.run_id
    assert scraped["csl_equity"] == pytest.approx(float(equity.iloc[-1]), rel=1e-9)
    assert scraped["csl_exposure_gross"] > 0
    assert monitor.server is None  # stopped with the run


def test_monitoring_is_off_by_default_and_validated() -> None:
    cfg = DeploymentConfig(
        name="d",
        capital=1000,
        strategies=[{"name": "vpin", "venue": "simulated", "symbol": "BTCUSDT"}],
    )
    assert cfg.monitoring.enabled is False and cfg.monitoring.metrics_port is None
    with pytest.raises(ValueError, match="webhook_format"):
        MonitoringConfig(webhook_format="pager")
