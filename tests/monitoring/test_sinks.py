"""Webhooks delivered to a local HTTP server: each format, de-duplication, rate limit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.monitoring.alerts import Alert, Severity
from crypto_strategy_lab.monitoring.sinks import (
    AlertRouter,
    CallbackSink,
    LogSink,
    SlidingWindowRateLimiter,
    WebhookSink,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def make_alert(
    key: str = "drawdown:0.05", severity: Severity = Severity.WARNING, minutes: float = 0
) -> Alert:
    return Alert(
        rule=key.split(":")[0],
        severity=severity,
        message="Drawdown 5.20% from peak <10,000.00> & more",
        key=key,
        timestamp=T0 + timedelta(minutes=minutes),
        details={"drawdown": 0.052, "threshold": 0.05},
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_generic_format_delivered(webhook_receiver) -> None:
    sink = WebhookSink(webhook_receiver.url, "generic")
    sink.emit(make_alert())
    [body] = webhook_receiver.bodies
    assert body["rule"] == "drawdown" and body["severity"] == "warning"
    assert body["key"] == "drawdown:0.05"
    assert body["timestamp"] == "2024-03-01T12:00:00+00:00"
    assert body["details"] == {"drawdown": 0.052, "threshold": 0.05}
    assert sink.delivered == 1 and sink.failed == 0


def test_slack_format_delivered(webhook_receiver) -> None:
    WebhookSink(webhook_receiver.url, "slack").emit(make_alert(severity=Severity.CRITICAL))
    [body] = webhook_receiver.bodies
    assert "[CRITICAL] drawdown" in body["text"]
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["section", "section", "context"]
    assert body["blocks"][0]["text"]["type"] == "mrkdwn"
    assert {"type": "mrkdwn", "text": "*drawdown*\n0.052"} in body["blocks"][1]["fields"]


def test_discord_format_delivered(webhook_receiver) -> None:
    WebhookSink(webhook_receiver.url, "discord").emit(make_alert(severity=Severity.CRITICAL))
    [body] = webhook_receiver.bodies
    [embed] = body["embeds"]
    assert embed["title"].endswith("[CRITICAL] drawdown")
    assert embed["color"] == 0xD72B3F
    assert embed["timestamp"] == "2024-03-01T12:00:00+00:00"
    assert {"name": "threshold", "value": "0.05", "inline": True} in embed["fields"]


def test_telegram_format_escapes_html(webhook_receiver) -> None:
    url = webhook_receiver.url.replace("/hook", "/bot123:SECRETTOKEN/sendMessage")
    WebhookSink(url, "telegram", chat_id="-10042").emit(make_alert())
    [body] = webhook_receiver.bodies
    assert webhook_receiver.paths == ["/bot123:SECRETTOKEN/sendMessage"]
    assert body["chat_id"] == "-10042" and body["parse_mode"] == "HTML"
    assert "&lt;10,000.00&gt; &amp; more" in body["text"]
    assert "<b>[WARNING] drawdown</b>" in body["text"]


def test_long_messages_truncated_to_service_limits(webhook_receiver) -> None:
    alert = Alert("x", Severity.INFO, "y" * 10_000, "x", T0)
    WebhookSink(webhook_receiver.url, "discord").emit(alert)
    WebhookSink(webhook_receiver.url, "telegram", chat_id="1").emit(alert)
    discord, telegram = webhook_receiver.bodies
    assert len(discord["embeds"][0]["description"]) == 4096
    assert len(telegram["text"]) == 4096


def test_router_deduplicates_by_key_within_window(webhook_receiver) -> None:
    sink = WebhookSink(webhook_receiver.url, "generic")
    router = AlertRouter([sink], dedup_window=timedelta(minutes=30))
    assert len(router.dispatch([make_alert(minutes=0)])) == 1
    assert router.dispatch([make_alert(minutes=10), make_alert(minutes=29.9)]) == []
    # an escalation of the same key gets through at once
    assert len(router.dispatch([make_alert(severity=Severity.CRITICAL, minutes=11)])) == 1
    # after the window the condition is reported again
    assert len(router.dispatch([make_alert(severity=Severity.CRITICAL, minutes=41)])) == 1
    # a different key is independent
    assert len(router.dispatch([make_alert(key="kill_switch", minutes=41)])) == 1
    assert len(webhook_receiver.bodies) == 4
    assert router.duplicates == 2


def test_rate_limit_holds_back_and_reports(webhook_receiver) -> None:
    clock = FakeClock()
    sink = WebhookSink(
        webhook_receiver.url, "generic", max_per_period=2, period_seconds=60, clock=clock
    )
    for i in range(5):
        sink.emit(make_alert(key=f"k{i}"))
    assert [b["key"] for b in webhook_receiver.bodies] == ["k0", "k1"]
    assert sink.rate_limited == 3
    clock.now += 60.0  # the window has slid past both sends
    sink.emit(make_alert(key="k5"))
    assert webhook_receiver.bodies[-1]["key"] == "k5"
    assert webhook_receiver.bodies[-1]["suppressed"] == 3
    sink.emit(make_alert(key="k6"))
    assert webhook_receiver.bodies[-1]["suppressed"] == 0


def test_failed_delivery_is_counted_and_never_logs_url(webhook_receiver, caplog) -> None:
    webhook_receiver.status = 500
    url = webhook_receiver.url + "?token=SECRETTOKEN"
    sink = WebhookSink(url, "slack")
    with caplog.at_level(logging.ERROR):
        sink.emit(make_alert())
    assert sink.failed == 1 and sink.delivered == 0
    assert "HTTP 500" in caplog.text and "SECRETTOKEN" not in caplog.text
    assert "SECRETTOKEN" not in repr(sink)


def test_unreachable_receiver_does_not_raise(caplog) -> None:
    sink = WebhookSink("http://127.0.0.1:9/hook", "generic", timeout=1.0)  # discard port
    sink.emit(make_alert())
    assert sink.failed == 1


def test_log_and_callback_sinks(caplog) -> None:
    recorded: list[Alert] = []
    router = AlertRouter([LogSink(), CallbackSink(recorded.append)])
    with caplog.at_level(logging.WARNING, logger="crypto_strategy_lab.alerts"):
        router.dispatch([make_alert()])
    assert recorded == [make_alert()]
    assert "[WARNING] drawdown" in caplog.text

    def broken(alert: Alert) -> None:
        raise RuntimeError("db down")

    sink = CallbackSink(broken)
    sink.emit(make_alert())
    assert sink.failed == 1


async def test_async_dispatch(webhook_receiver) -> None:
    router = AlertRouter([WebhookSink(webhook_receiver.url, "discord")])
    sent = await router.adispatch([make_alert()])
    assert len(sent) == 1 and len(webhook_receiver.bodies) == 1


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="chat_id"):
        WebhookSink("https://api.telegram.org/botX/sendMessage", "telegram")
    with pytest.raises(ConfigError, match="unknown webhook format"):
        WebhookSink("https://example.invalid/hook", "teams")
    with pytest.raises(ConfigError, match="http"):
        WebhookSink("ftp://example.invalid/hook")
    with pytest.raises(ConfigError, match="max_events"):
        SlidingWindowRateLimiter(0, 1.0)


def test_journal_sink_appends_to_alerts_table(tmp_path) -> None:
    from crypto_strategy_lab.journal import Journal
    from crypto_strategy_lab.monitoring.sinks import journal_sink

    journal = Journal.open(f"sqlite:///{tmp_path / 'j.sqlite'}")
    run = journal.start_run(name="t", mode="simulated", capital=1000, strategies=["vpin"])
    router = AlertRouter([journal_sink(journal, run.run_id)])
    router.dispatch([make_alert(), make_alert(minutes=1)])  # second one is a duplicate
    [(row, ack)] = journal.alerts()
    assert ack is None
    assert (row.severity, row.source, row.run_id) == ("warning", "drawdown", run.run_id)
    assert row.details["key"] == "drawdown:0.05" and row.details["drawdown"] == 0.052
    assert row.ts == T0
    assert journal.verify().ok
