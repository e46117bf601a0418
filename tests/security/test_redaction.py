"""No configured secret survives into a log record, whatever logger or path wrote it."""

from __future__ import annotations

import io
import logging

from crypto_strategy_lab.security.redaction import MASK, RedactingFilter, install_redaction, redact

SECRET = "AbCdEf0123456789-topsecret"


def test_redact_replaces_every_occurrence_longest_first():
    assert redact(f"a {SECRET} b {SECRET}", [SECRET, SECRET[:6]]) == f"a {MASK} b {MASK}"
    assert redact("nothing here", [SECRET]) == "nothing here"


def _capture(logger_name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


def test_installed_redaction_covers_messages_args_and_exceptions():
    install_redaction([SECRET])
    logger, stream = _capture("some.third_party.lib")
    logger.info("connecting with key %s", SECRET)
    logger.warning(f"inline {SECRET}")
    try:
        raise RuntimeError(f"auth failed for secret={SECRET}")
    except RuntimeError:
        logger.exception("request failed")
    output = stream.getvalue()
    assert SECRET not in output
    assert output.count(MASK) == 3
    assert "auth failed for secret=" in output  # the context survives, only the value goes


def test_filter_on_a_handler_also_works():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(["hunter2-password"]))
    logger = logging.getLogger("handler.filter.test")
    logger.addHandler(handler)
    logger.propagate = False
    logger.error("pw=%s", "hunter2-password")
    assert "hunter2-password" not in stream.getvalue()
    assert MASK in stream.getvalue()
