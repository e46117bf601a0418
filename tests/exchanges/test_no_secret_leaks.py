"""Known secrets go in; every log line, audit record, exception and report is grepped: 0 hits."""

from __future__ import annotations

import logging
from decimal import Decimal

from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.exchanges import (
    MarketType,
    OrderRequest,
    OrderSide,
    OrderType,
)
from crypto_strategy_lab.security.audit_log import JsonlAuditSink
from tests.emulators.alpaca import AlpacaEmulator
from tests.emulators.bybit import BybitEmulator
from tests.exchanges.conftest import FAST_RETRY, client_for

BYBIT_KEY, BYBIT_SECRET = "LEAKTEST-bybit-key-7Q2W", "LEAKTEST-bybit-secret-9Z8X7C6V"
ALPACA_KEY, ALPACA_SECRET = "LEAKTEST-alpaca-key-3E4R", "LEAKTEST-alpaca-secret-5T6Y7U8I"
SECRETS = (BYBIT_KEY, BYBIT_SECRET, ALPACA_KEY, ALPACA_SECRET, "LEAKTEST-wrong-secret-000")


async def test_no_secret_reaches_logs_audit_or_exceptions(tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    log_file = tmp_path / "debug.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    audit_path = tmp_path / "audit.jsonl"
    errors: list[str] = []
    reports: list[str] = []
    try:
        async with (
            BybitEmulator(api_key=BYBIT_KEY, api_secret=BYBIT_SECRET) as bemu,
            AlpacaEmulator(api_key=ALPACA_KEY, api_secret=ALPACA_SECRET) as aemu,
        ):
            options = {"timeout": 1.0, "retry_policy": FAST_RETRY}
            bybit = client_for("bybit", bemu, audit=JsonlAuditSink(audit_path), **options)
            alpaca = client_for("alpaca", aemu, audit=JsonlAuditSink(audit_path), **options)
            wrong = client_for(
                "bybit", bemu, api_secret="LEAKTEST-wrong-secret-000", retry_policy=FAST_RETRY
            )
            async with bybit, alpaca, wrong:
                req = OrderRequest(
                    symbol="BTCUSDT",
                    side=OrderSide.BUY,
                    order_type=OrderType.MARKET,
                    quantity=Decimal("0.01"),
                )
                bemu.faults.drop_response_next(1, path="/v5/order/create")
                reports.append(repr(await bybit.place_order(req)))
                reports.append(repr(await bybit.place_order(req)))  # duplicate path
                aemu.faults.status_after_execute_next(1, 504, path="/v2/orders")
                reports.append(
                    repr(
                        await alpaca.place_order(
                            OrderRequest(
                                symbol="AAPL",
                                side=OrderSide.BUY,
                                order_type=OrderType.MARKET,
                                quantity=Decimal("1"),
                                market=MarketType.STOCK,
                            )
                        )
                    )
                )
                reports.append(repr(await bybit.get_balance()))
                reports.append(repr(await alpaca.get_positions()))
                for call in (
                    lambda: wrong.get_balance(),
                    lambda: bybit.place_order(
                        req.with_quantities(quantity=Decimal("99"), client_order_id="leak-2")
                    ),
                    lambda: bybit.cancel_order("nope", "BTCUSDT"),
                    lambda: alpaca.get_order("nope", "AAPL"),
                ):
                    try:
                        await call()
                    except ExchangeError as exc:
                        errors.append(f"{exc!s} {exc!r} {exc.venue_message}")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    assert len(errors) == 4  # every failure above did fail
    audit_text = audit_path.read_text()
    assert audit_text.count("order.request") >= 3 and "order.lookup" in audit_text
    haystacks = {
        "log file": log_file.read_text(),
        "caplog": caplog.text,
        "audit": audit_text,
        "errors": "\n".join(errors),
        "reports": "\n".join(reports),
    }
    hits = {(name, s) for name, text in haystacks.items() for s in SECRETS if s in text}
    assert hits == set()
