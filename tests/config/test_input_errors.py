"""The one line for an unreadable input, shared by the CLI and the dashboard."""

from __future__ import annotations

import pyarrow
import pytest
import sqlalchemy.exc

from crypto_strategy_lab.config.input_errors import describe_error
from crypto_strategy_lab.core.errors import ConfigError


def test_our_errors_are_named_and_put_on_one_line() -> None:
    line = describe_error(ConfigError("--capital must be\n  positive"))
    assert line == "ConfigError: --capital must be positive"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), "not UTF-8 text: UnicodeDecodeError:"),
        (pyarrow.ArrowInvalid("not parquet"), "unreadable Arrow/Parquet data: ArrowInvalid:"),
        (sqlalchemy.exc.ArgumentError("no URL"), "bad database URL: ArgumentError: no URL"),
    ],
)
def test_library_input_errors_get_their_family_label(exc: BaseException, expected: str) -> None:
    assert describe_error(exc).startswith(expected)


def test_a_bug_has_no_line() -> None:
    assert describe_error(KeyError("x")) is None
    assert describe_error(ZeroDivisionError()) is None


def test_secrets_and_url_credentials_are_masked() -> None:
    exc = ConfigError("key sk-live-0123456789abcdef refused at postgresql://bob:hunter22@db/j")
    line = describe_error(exc, ["sk-live-0123456789abcdef"])
    assert "sk-live-0123456789abcdef" not in line
    assert "hunter22" not in line
    assert "***REDACTED***" in line
