"""The Prometheus endpoint, scraped over HTTP on 127.0.0.1 and parsed with prometheus_client."""

from __future__ import annotations

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from crypto_strategy_lab.core.errors import ConfigError, ExchangeUnavailable
from crypto_strategy_lab.monitoring.metrics import TradingMetrics, start_metrics_server


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


@pytest.fixture
def served():
    metrics = TradingMetrics()
    server = start_metrics_server(metrics, port=0)
    try:
        yield metrics, server.port
    finally:
        server.close()


def test_scrape_reports_every_series(served) -> None:
    metrics, port = served
    metrics.set_equity(10_500.0, gross_exposure=4_200.0, net_exposure=-1_000.0)
    metrics.set_open_orders("bybit", 3)
    for seconds in (0.004, 0.03, 0.03, 2.0):
        metrics.observe_order_latency("bybit", seconds)
    metrics.record_venue_error("bybit", ExchangeUnavailable("502"))
    metrics.record_venue_error("bybit", "RateLimitExceeded")
    metrics.record_venue_error("bybit", ExchangeUnavailable("timeout"))
    metrics.record_halt("global", "kill_switch")

    s = scrape(port)
    assert s[("csl_equity", ())] == 10_500.0
    assert s[("csl_exposure_gross", ())] == 4_200.0
    assert s[("csl_exposure_net", ())] == -1_000.0
    assert s[("csl_exposure_heat", ())] == pytest.approx(0.4)
    assert s[("csl_open_orders", (("venue", "bybit"),))] == 3
    assert s[("csl_order_latency_seconds_count", (("venue", "bybit"),))] == 4
    assert s[("csl_order_latency_seconds_sum", (("venue", "bybit"),))] == pytest.approx(2.064)
    bucket = "csl_order_latency_seconds_bucket"
    assert s[(bucket, (("le", "0.005"), ("venue", "bybit")))] == 1
    assert s[(bucket, (("le", "0.05"), ("venue", "bybit")))] == 3
    assert s[(bucket, (("le", "1.0"), ("venue", "bybit")))] == 3
    assert s[(bucket, (("le", "+Inf"), ("venue", "bybit")))] == 4
    errors = "csl_venue_errors_total"
    assert s[(errors, (("error", "ExchangeUnavailable"), ("venue", "bybit")))] == 2
    assert s[(errors, (("error", "RateLimitExceeded"), ("venue", "bybit")))] == 1
    assert s[("csl_halts_total", (("reason", "kill_switch"), ("scope", "global")))] == 1
    assert s[("csl_halted", (("scope", "global"),))] == 1

    metrics.clear_halt("global")
    assert scrape(port)[("csl_halted", (("scope", "global"),))] == 0


def test_time_order_records_even_on_error(served) -> None:
    metrics, port = served
    with pytest.raises(RuntimeError), metrics.time_order("alpaca"):
        raise RuntimeError("venue hung up")
    assert scrape(port)[("csl_order_latency_seconds_count", (("venue", "alpaca"),))] == 1


def test_private_registries_do_not_collide() -> None:
    a, b = TradingMetrics(), TradingMetrics()
    a.set_equity(1.0, 0.0, 0.0)
    assert b.registry.get_sample_value("csl_equity") == 0.0
    assert a.registry.get_sample_value("csl_equity") == 1.0


def test_bad_values() -> None:
    with pytest.raises(ConfigError, match="open order count"):
        TradingMetrics().set_open_orders("bybit", -1)
    with pytest.raises(ConfigError, match="port"):
        start_metrics_server(TradingMetrics(), port=70000)
