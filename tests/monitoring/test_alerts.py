"""Alert rules at their thresholds: exactly at the threshold fires, a hair below does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.monitoring.alerts import (
    DailyLossRule,
    DrawdownRule,
    KillSwitchRule,
    MonitorSnapshot,
    OrderRejectRule,
    ReconciliationMismatchRule,
    Severity,
    StaleDataRule,
    VenueErrorRule,
    default_rules,
    evaluate_rules,
)

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
EPS = 1e-9


def snap(**kw) -> MonitorSnapshot:
    base = {
        "timestamp": NOW,
        "equity": 10_000.0,
        "peak_equity": 10_000.0,
        "day_start_equity": 10_000.0,
    }
    base.update(kw)
    return MonitorSnapshot(**base)


def test_drawdown_fires_at_threshold_and_not_below() -> None:
    rule = DrawdownRule(thresholds=(0.05, 0.10, 0.20), critical_from=0.10)
    assert rule.evaluate(snap(equity=9_500.0 + 1e-6)) == []
    [alert] = rule.evaluate(snap(equity=9_500.0))
    assert alert.severity is Severity.WARNING and alert.key == "drawdown:0.05"
    [alert] = rule.evaluate(snap(equity=9_000.0))
    assert alert.severity is Severity.CRITICAL and alert.key == "drawdown:0.1"
    [alert] = rule.evaluate(snap(equity=7_000.0))  # 30 %: only the deepest threshold fires
    assert alert.key == "drawdown:0.2"
    assert alert.details["drawdown"] == pytest.approx(0.30)


def test_daily_loss_approaching_then_hit() -> None:
    rule = DailyLossRule(limit=0.05, warn_ratio=0.8)
    assert rule.evaluate(snap(equity=9_600.0 + 1e-6)) == []
    [warn] = rule.evaluate(snap(equity=9_600.0))  # 4 % = 0.8 * 5 %
    assert warn.severity is Severity.WARNING and warn.key == "daily_loss:approaching:2024-03-01"
    [hit] = rule.evaluate(snap(equity=9_500.0))
    assert hit.severity is Severity.CRITICAL and hit.key == "daily_loss:hit:2024-03-01"
    # a gain is not a loss
    assert rule.evaluate(snap(equity=11_000.0, peak_equity=11_000.0)) == []


def test_reconciliation_mismatch() -> None:
    rule = ReconciliationMismatchRule()
    assert rule.evaluate(snap()) == []
    [alert] = rule.evaluate(snap(reconciliation_mismatches=["BTCUSDT venue 0.1 journal 0.2"]))
    assert alert.severity is Severity.CRITICAL and "BTCUSDT" in alert.message


def test_stale_data_per_symbol_at_max_age() -> None:
    rule = StaleDataRule(max_age=timedelta(hours=2))
    last = {
        "BTCUSDT": NOW - timedelta(hours=2),
        "ETHUSDT": NOW - timedelta(hours=2) + timedelta(seconds=1),
    }
    [alert] = rule.evaluate(snap(last_data_at=last))
    assert alert.key == "stale_data:BTCUSDT"


def test_order_rejects_in_window_boundaries() -> None:
    rule = OrderRejectRule(max_rejects=3, window=timedelta(minutes=15))
    inside = [NOW - timedelta(minutes=15), NOW - timedelta(minutes=5), NOW]
    [alert] = rule.evaluate(snap(reject_times=inside))
    assert alert.details["count"] == 3
    outside = [NOW - timedelta(minutes=15, seconds=1), NOW - timedelta(minutes=5), NOW]
    assert rule.evaluate(snap(reject_times=outside)) == []


def test_venue_errors_counted_per_venue() -> None:
    rule = VenueErrorRule(max_errors=2, window=timedelta(minutes=5))
    errors = {
        "bybit": [NOW - timedelta(minutes=1), NOW],
        "alpaca": [NOW - timedelta(minutes=10), NOW],
    }
    [alert] = rule.evaluate(snap(venue_error_times=errors))
    assert alert.key == "venue_errors:bybit" and alert.severity is Severity.CRITICAL


def test_kill_switch() -> None:
    assert KillSwitchRule().evaluate(snap()) == []
    [alert] = KillSwitchRule().evaluate(
        snap(kill_switch_active=True, kill_switch_reason="csl kill")
    )
    assert "csl kill" in alert.message and alert.severity is Severity.CRITICAL


def test_default_rules_sorted_most_severe_first() -> None:
    # 4.5 % daily loss (approaching), 5.4 % drawdown (warning), kill switch (critical)
    state = snap(equity=9_550.0, peak_equity=10_100.0, kill_switch_active=True)
    alerts = evaluate_rules(default_rules(), state)
    assert [a.rule for a in alerts] == ["kill_switch", "drawdown", "daily_loss"]
    assert alerts[0].severity is Severity.CRITICAL
    assert alerts[-1].severity is Severity.WARNING


def test_bad_inputs_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="timezone-aware"):
        MonitorSnapshot(timestamp=datetime(2024, 1, 1), equity=1, peak_equity=1, day_start_equity=1)
    with pytest.raises(ConfigError, match="equity"):
        snap(equity=0.0)
    with pytest.raises(ConfigError, match="threshold"):
        DrawdownRule(thresholds=(1.5,))
    with pytest.raises(ConfigError, match="daily loss limit"):
        DailyLossRule(limit=0.0)
