"""Every mapped Bybit retCode, raised by ccxt's own error handler, lands in our hierarchy."""

from __future__ import annotations

import json

import ccxt
import ccxt.async_support as ccxt_async
import pytest
import requests
from alpaca.common.exceptions import APIError

from crypto_strategy_lab.core.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimitExceeded,
)
from crypto_strategy_lab.exchanges.alpaca.errors import is_duplicate, map_api_error
from crypto_strategy_lab.exchanges.bybit.errors import RETCODE_ERRORS, map_ccxt_error

SECRET = "s3cr3t-value-never-shown"


def ccxt_exception(code: int, message: str) -> Exception:
    """Run ccxt's real handle_errors on a v5 error body and return what it raises."""
    client = ccxt_async.bybit()
    body = json.dumps(
        {"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {}, "time": 1}
    )
    try:
        client.handle_errors(
            200, "OK", "https://x/v5/order/create", "POST", {}, body, json.loads(body), {}, ""
        )
    except ccxt.BaseError as exc:
        return exc
    raise AssertionError(f"ccxt raised nothing for {code}")


@pytest.mark.parametrize("code", sorted(RETCODE_ERRORS))
def test_every_retcode_maps_with_code_and_message(code: int) -> None:
    expected_cls, _ = RETCODE_ERRORS[code]
    error = map_ccxt_error(ccxt_exception(code, f"venue text {code}"), [SECRET], "place order")
    assert type(error) is expected_cls
    assert error.code == code and error.venue == "bybit"
    assert error.venue_message == f"venue text {code}"


def test_unknown_retcode_and_transport_errors() -> None:
    unknown = map_ccxt_error(ccxt_exception(99999, "new thing"), [], "x")
    assert type(unknown) is ExchangeError and unknown.code == 99999
    html = ccxt.ExchangeNotAvailable(
        "bybit GET http://127.0.0.1:1/v5/order/realtime?limit=500 502 Bad Gateway "
        "<html><body><h1>502 Bad Gateway</h1></body></html>"
    )
    mapped = map_ccxt_error(html, [], "fetch")
    assert isinstance(mapped, ExchangeUnavailable) and mapped.code == 502
    assert "<" not in str(mapped)
    timeout = map_ccxt_error(ccxt.RequestTimeout("bybit GET http://x timed out"), [], "fetch")
    assert isinstance(timeout, ExchangeUnavailable)
    leaked = map_ccxt_error(ccxt.ExchangeError(f"bybit echo {SECRET}"), [SECRET], "x")
    assert SECRET not in str(leaked)


def api_error(status: int, text: str) -> APIError:
    response = requests.Response()
    response.status_code = status
    response._content = text.encode()
    return APIError(text, requests.HTTPError(response=response))


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (
            401,
            '{"code":40110000,"message":"request is not authorized"}',
            AuthenticationError,
            40110000,
        ),
        (401, '{"message":"unauthorized"}', AuthenticationError, 401),  # no code: .code would raise
        (
            403,
            '{"code":40310000,"message":"insufficient buying power"}',
            InsufficientFunds,
            40310000,
        ),
        (403, '{"code":40310000,"message":"forbidden"}', AuthenticationError, 40310000),
        (404, '{"code":40410000,"message":"order not found"}', OrderNotFound, 40410000),
        (
            422,
            '{"code":40010001,"message":"client_order_id must be unique"}',
            InvalidOrder,
            40010001,
        ),
        (429, '{"code":42910000,"message":"rate limit exceeded"}', RateLimitExceeded, 42910000),
        (502, "<html><h1>502 Bad Gateway</h1></html>", ExchangeUnavailable, 502),
        (504, "<html>Gateway Time-out</html>", ExchangeUnavailable, 504),
    ],
)
def test_alpaca_statuses_map(status, body, cls, code) -> None:
    error = map_api_error(api_error(status, body), [], "place order")
    assert type(error) is cls and error.code == code
    assert is_duplicate(error) == ("must be unique" in body)


def test_alpaca_transport_errors_map_to_unavailable() -> None:
    for exc in (requests.ReadTimeout("read timed out"), requests.ConnectionError("reset")):
        assert isinstance(map_api_error(exc, [], "x"), ExchangeUnavailable)
