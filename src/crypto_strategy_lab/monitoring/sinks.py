"""Where alerts go: the log, the journal, and webhooks (generic JSON, Slack, Discord, Telegram).

:class:`AlertRouter` sits in front of the sinks and de-duplicates: an alert whose ``key`` was
already sent within ``dedup_window`` (measured on the alerts' own timestamps, so replayed runs
behave like live ones) is dropped, unless its severity is higher than the one last sent for
that key (an escalation always gets through). Each :class:`WebhookSink` additionally has a
sliding-window rate limit on the wall clock (the receiving service's limits are wall-clock
limits: Slack about one message per second per channel, Discord five per two seconds,
Telegram about twenty per minute per group). Alerts dropped by the rate limit are counted and
the next delivered message says how many were held back, so nothing disappears silently.

A failing webhook never raises into the trading loop: it is logged (without the URL, which
for Telegram contains the bot token) and counted in ``WebhookSink.failed``.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

import requests

from crypto_strategy_lab.core.errors import ConfigError
from crypto_strategy_lab.monitoring.alerts import Alert, Severity

logger = logging.getLogger(__name__)

_LOG_LEVEL = {
    Severity.INFO: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.CRITICAL: logging.CRITICAL,
}
# Colours used by the chat formats: green / amber / red.
_COLOUR = {Severity.INFO: 0x2EB886, Severity.WARNING: 0xDAA038, Severity.CRITICAL: 0xD72B3F}
_EMOJI = {Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.CRITICAL: "🚨"}

# Documented size limits of each service (characters).
DISCORD_DESCRIPTION_MAX = 4096
DISCORD_TITLE_MAX = 256
SLACK_SECTION_TEXT_MAX = 3000
TELEGRAM_TEXT_MAX = 4096


class AlertSink(Protocol):
    """Something that receives alerts; ``emit`` must not raise for delivery problems."""

    name: str

    def emit(self, alert: Alert) -> None:
        """Deliver ``alert``; a delivery problem is logged and counted, never raised.

        Parameters
        ----------
        alert : Alert
            The alert to deliver.
        """
        ...


class WebhookFormat(StrEnum):
    """The payload shapes :class:`WebhookSink` can post."""

    GENERIC = "generic"
    SLACK = "slack"
    DISCORD = "discord"
    TELEGRAM = "telegram"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _suppressed_note(suppressed: int) -> str:
    return f" (+{suppressed} more alert(s) held back by the rate limit)" if suppressed else ""


def format_generic(alert: Alert, suppressed: int = 0) -> dict[str, Any]:
    """Plain JSON for any receiver: every field of the alert, ISO-8601 timestamp.

    Parameters
    ----------
    alert : Alert
        The alert to format.
    suppressed : int, default 0
        How many alerts the rate limit held back since the last one sent;
        a note saying so is appended to the message when > 0.

    Returns
    -------
    dict of str to Any
        ``rule``, ``severity`` (its value), ``message``, ``key``, ``timestamp``
        (ISO-8601), ``details`` and ``suppressed``; the message is not truncated.
    """
    return {
        "rule": alert.rule,
        "severity": alert.severity.value,
        "message": alert.message,
        "key": alert.key,
        "timestamp": alert.timestamp.isoformat(),
        "details": dict(alert.details),
        "suppressed": suppressed,
    }


def format_slack(alert: Alert, suppressed: int = 0) -> dict[str, Any]:
    """Slack incoming-webhook payload: ``text`` fallback plus Block Kit blocks.

    See https://api.slack.com/messaging/webhooks and the Block Kit reference (section text is
    limited to 3000 characters).

    Parameters
    ----------
    alert : Alert
        The alert to format.
    suppressed : int, default 0
        How many alerts the rate limit held back since the last one sent; a note saying so
        is appended to the text when > 0.

    Returns
    -------
    dict of str to Any
        ``text`` (emoji, title and message, truncated to 3000 characters) and ``blocks``:
        that text as a section, the first 10 ``details`` as fields, and a context line with
        the key and the timestamp.
    """
    text = f"{_EMOJI[alert.severity]} {alert.title}: {alert.message}{_suppressed_note(suppressed)}"
    details = list(alert.details.items())[:10]  # Slack allows at most 10 fields per section
    fields = [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in details]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _truncate(text, SLACK_SECTION_TEXT_MAX)},
        }
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": f"key `{alert.key}` · {alert.timestamp.isoformat()}"}
            ],
        }
    )
    return {"text": _truncate(text, SLACK_SECTION_TEXT_MAX), "blocks": blocks}


def format_discord(alert: Alert, suppressed: int = 0) -> dict[str, Any]:
    """Discord webhook payload with one embed (title <= 256, description <= 4096 chars).

    See https://discord.com/developers/docs/resources/webhook#execute-webhook.

    Parameters
    ----------
    alert : Alert
        The alert to format.
    suppressed : int, default 0
        How many alerts the rate limit held back since the last one sent; a note saying so
        is appended to the description when > 0.

    Returns
    -------
    dict of str to Any
        ``username`` and ``embeds``: one embed with the title, the message as description,
        the severity's colour, the timestamp, the first 25 ``details`` as inline fields and
        the key in the footer.
    """
    embed = {
        "title": _truncate(f"{_EMOJI[alert.severity]} {alert.title}", DISCORD_TITLE_MAX),
        "description": _truncate(
            alert.message + _suppressed_note(suppressed), DISCORD_DESCRIPTION_MAX
        ),
        "color": _COLOUR[alert.severity],
        "timestamp": alert.timestamp.isoformat(),
        "fields": [
            {"name": str(k), "value": str(v), "inline": True}
            for k, v in list(alert.details.items())[:25]
        ],
        "footer": {"text": f"key {alert.key}"},
    }
    return {"username": "Crypto Strategy Lab", "embeds": [embed]}


def format_telegram(alert: Alert, chat_id: str, suppressed: int = 0) -> dict[str, Any]:
    """Telegram Bot API ``sendMessage`` body with HTML parse mode (text <= 4096 chars).

    The webhook URL is ``https://api.telegram.org/bot<TOKEN>/sendMessage``; see
    https://core.telegram.org/bots/api#sendmessage. Alert text is HTML-escaped.

    Parameters
    ----------
    alert : Alert
        The alert to format.
    chat_id : str
        The Telegram chat the bot posts to.
    suppressed : int, default 0
        How many alerts the rate limit held back since the last one sent; a note saying so
        is appended to the message when > 0.

    Returns
    -------
    dict of str to Any
        ``chat_id``, ``text`` (title, message, one line per detail, key and timestamp,
        truncated to 4096 characters), ``parse_mode="HTML"`` and
        ``disable_web_page_preview=True``.
    """
    lines = [
        f"{_EMOJI[alert.severity]} <b>{html.escape(alert.title)}</b>",
        html.escape(alert.message + _suppressed_note(suppressed)),
    ]
    lines += [
        f"<i>{html.escape(str(k))}</i>: {html.escape(str(v))}" for k, v in alert.details.items()
    ]
    lines.append(f"<code>{html.escape(alert.key)}</code> · {alert.timestamp.isoformat()}")
    return {
        "chat_id": chat_id,
        "text": _truncate("\n".join(lines), TELEGRAM_TEXT_MAX),
        "parse_mode": "HTML",
        "disable_web_page_preview": True,
    }


class SlidingWindowRateLimiter:
    """At most ``max_events`` acquisitions in any ``period_seconds`` window of ``clock``."""

    def __init__(
        self,
        max_events: int,
        period_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_events < 1:
            raise ConfigError(f"rate limit max_events must be >= 1, got {max_events}")
        if period_seconds <= 0:
            raise ConfigError(f"rate limit period must be > 0 s, got {period_seconds}")
        self.max_events = max_events
        self.period_seconds = period_seconds
        self._clock = clock
        self._times: deque[float] = deque()

    def try_acquire(self) -> bool:
        """Take one slot if the window has room; ``False`` (nothing taken) if it is full.

        Returns
        -------
        bool
            True when fewer than ``max_events`` acquisitions happened in the half-open window
            ``(now - period_seconds, now]`` (this one is then recorded); False otherwise.
        """
        now = self._clock()
        while self._times and now - self._times[0] >= self.period_seconds:
            self._times.popleft()
        if len(self._times) >= self.max_events:
            return False
        self._times.append(now)
        return True


class LogSink:
    """Writes each alert to the ``crypto_strategy_lab.alerts`` logger at its severity's level.

    Parameters
    ----------
    logger_ : logging.Logger, optional
        Another logger to write to instead.
    """

    name = "log"

    def __init__(self, logger_: logging.Logger | None = None) -> None:
        self._logger = logger_ or logging.getLogger("crypto_strategy_lab.alerts")

    def emit(self, alert: Alert) -> None:
        """Log ``alert``'s title, message and key at its severity's level.

        Parameters
        ----------
        alert : Alert
            The alert to log.
        """
        self._logger.log(
            _LOG_LEVEL[alert.severity], "%s %s (key=%s)", alert.title, alert.message, alert.key
        )


class CallbackSink:
    """Hands each alert to ``record(alert)``, e.g. the journal's alert writer.

    The journal sink is this class around the journal repository's alert-recording method;
    keeping the dependency as a callable keeps monitoring importable without the journal.
    Exceptions from ``record`` are logged and counted, never raised.

    Parameters
    ----------
    record : callable
        Called with each alert; its return value is ignored.
    name : str, default "journal"
        The sink's name, in routing and in the failure log.

    Attributes
    ----------
    failed : int
        How many alerts ``record`` raised on.
    """

    def __init__(self, record: Callable[[Alert], Any], name: str = "journal") -> None:
        self._record = record
        self.name = name
        self.failed = 0

    def emit(self, alert: Alert) -> None:
        """Hand ``alert`` to ``record``; a failure is logged and counted in ``failed``.

        Parameters
        ----------
        alert : Alert
            The alert to deliver.
        """
        try:
            self._record(alert)
        except Exception as exc:
            self.failed += 1
            logger.error("alert sink %s failed: %s: %s", self.name, type(exc).__name__, exc)


def journal_sink(journal: Any, run_id: str | None = None) -> CallbackSink:
    """A sink that appends each alert to the journal's ``alerts`` table.

    Parameters
    ----------
    journal : Journal
        A :class:`crypto_strategy_lab.journal.Journal`; each alert goes to its ``raise_alert``.
    run_id : str, optional
        The run the alerts belong to.

    Returns
    -------
    CallbackSink
        Named ``journal``. The alert's severity, rule and message become the row's severity,
        ``source`` and message, its timestamp the row's; its de-duplication key is kept in
        ``details["key"]``.
    """

    def record(alert: Alert) -> None:
        journal.raise_alert(
            alert.severity.value,
            alert.rule,
            alert.message,
            details={**alert.details, "key": alert.key},
            run_id=run_id,
            ts=alert.timestamp,
        )

    return CallbackSink(record, name="journal")


class WebhookSink:
    """POSTs each alert as JSON to ``url`` in one of the :class:`WebhookFormat` shapes.

    Parameters
    ----------
    url : str
        The receiver, ``http://`` or ``https://``. Treated as a secret: never logged (Telegram
        URLs carry the bot token).
    fmt : WebhookFormat or str, default ``generic``
        ``generic``, ``slack``, ``discord`` or ``telegram``.
    chat_id : str, optional
        Required for Telegram.
    max_per_period : int, default 20
        Alerts posted in any window of ``period_seconds``; the rest are held back.
    period_seconds : float, default 60.0
        Length of the sliding rate-limit window.
    timeout : float, default 5.0
        Seconds per HTTP request.
    clock : callable, default ``time.monotonic``
        Monotonic clock for the rate limit (tests inject a fake one).
    session : requests.Session, optional
        The HTTP session to post with (a new one by default).

    Attributes
    ----------
    delivered, failed, rate_limited : int
        Alerts posted with a 2xx answer, posts that failed (network error or other status),
        alerts held back by the rate limit.

    Raises
    ------
    ConfigError
        For a URL that is not HTTP(S), an unknown format, a Telegram sink without
        ``chat_id``, or a rate limit below one alert or over a non-positive period.
    """

    def __init__(
        self,
        url: str,
        fmt: WebhookFormat | str = WebhookFormat.GENERIC,
        *,
        chat_id: str | None = None,
        max_per_period: int = 20,
        period_seconds: float = 60.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError("webhook url must start with http:// or https://")
        try:
            self.format = WebhookFormat(fmt)
        except ValueError:
            known = ", ".join(f.value for f in WebhookFormat)
            raise ConfigError(f"unknown webhook format {fmt!r}; known: {known}") from None
        if self.format is WebhookFormat.TELEGRAM and not chat_id:
            raise ConfigError("telegram webhook needs chat_id")
        self.name = f"webhook:{self.format.value}"
        self._url = url
        self._chat_id = chat_id
        self._timeout = timeout
        self._limiter = SlidingWindowRateLimiter(max_per_period, period_seconds, clock)
        self._session = session or requests.Session()
        self.delivered = 0
        self.failed = 0
        self.rate_limited = 0
        self._held_back = 0

    def __repr__(self) -> str:
        """The format only: the URL is a secret and never shown."""
        return f"WebhookSink(format={self.format.value!r})"

    def payload(self, alert: Alert, suppressed: int = 0) -> dict[str, Any]:
        """The JSON body for ``alert`` in this sink's format.

        Parameters
        ----------
        alert : Alert
            The alert to format.
        suppressed : int, default 0
            Alerts held back by the rate limit since the last delivery, said in the message.

        Returns
        -------
        dict
            :func:`format_generic`, :func:`format_slack`, :func:`format_discord` or
            :func:`format_telegram` of the alert.
        """
        if self.format is WebhookFormat.SLACK:
            return format_slack(alert, suppressed)
        if self.format is WebhookFormat.DISCORD:
            return format_discord(alert, suppressed)
        if self.format is WebhookFormat.TELEGRAM:
            return format_telegram(alert, str(self._chat_id), suppressed)
        return format_generic(alert, suppressed)

    def emit(self, alert: Alert) -> None:
        """POST ``alert``, or hold it back if the rate limit is reached; never raises.

        The next delivered message says how many were held back; a network error or a non-2xx
        status is logged (without the URL) and counted in ``failed``.

        Parameters
        ----------
        alert : Alert
            The alert to post.
        """
        if not self._limiter.try_acquire():
            self.rate_limited += 1
            self._held_back += 1
            logger.warning("%s rate limit reached; held back alert key=%s", self.name, alert.key)
            return
        body = self.payload(alert, self._held_back)
        try:
            response = self._session.post(self._url, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            self.failed += 1
            logger.error("%s delivery failed: %s", self.name, type(exc).__name__)
            return
        if 200 <= response.status_code < 300:
            self.delivered += 1
            self._held_back = 0
        else:
            self.failed += 1
            logger.error("%s delivery failed: HTTP %s", self.name, response.status_code)


@dataclass
class _Sent:
    at_seconds: float
    severity: Severity


class AlertRouter:
    """De-duplicates alerts by key and fans them out to every sink.

    Parameters
    ----------
    sinks : Sequence[AlertSink]
        Receivers, called in order.
    dedup_window : timedelta, default 30 minutes
        A key already sent less than this long ago (by alert timestamp) is dropped unless the
        new alert is more severe.

    Attributes
    ----------
    duplicates : int
        Alerts dropped as duplicates so far.

    Raises
    ------
    ConfigError
        If ``dedup_window`` is negative.
    """

    def __init__(
        self, sinks: Sequence[AlertSink], dedup_window: timedelta = timedelta(minutes=30)
    ) -> None:
        if dedup_window.total_seconds() < 0:
            raise ConfigError("dedup_window must be >= 0")
        self.sinks = list(sinks)
        self.dedup_window = dedup_window
        self._last: dict[str, _Sent] = {}
        self.duplicates = 0

    def _is_duplicate(self, alert: Alert) -> bool:
        now = alert.timestamp.timestamp()
        last = self._last.get(alert.key)
        if last is not None:
            recent = now - last.at_seconds < self.dedup_window.total_seconds()
            if recent and alert.severity.rank <= last.severity.rank:
                return True
        self._last[alert.key] = _Sent(now, alert.severity)
        return False

    def dispatch(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Send the non-duplicate ``alerts`` to every sink.

        Parameters
        ----------
        alerts : iterable of Alert
            E.g. :func:`~crypto_strategy_lab.monitoring.alerts.evaluate_rules`' result.

        Returns
        -------
        list of Alert
            Those that were sent, in their order; a sent alert's key and severity start a new
            de-duplication window.
        """
        sent = []
        for alert in alerts:
            if self._is_duplicate(alert):
                self.duplicates += 1
                continue
            for sink in self.sinks:
                sink.emit(alert)
            sent.append(alert)
        return sent

    async def adispatch(self, alerts: Iterable[Alert]) -> list[Alert]:
        """:meth:`dispatch` in a worker thread, so webhook I/O never blocks the event loop.

        Parameters
        ----------
        alerts : iterable of Alert
            The alerts; consumed into a list before the thread starts.

        Returns
        -------
        list of Alert
            Those that were sent, as :meth:`dispatch`.
        """
        return await asyncio.to_thread(self.dispatch, list(alerts))
