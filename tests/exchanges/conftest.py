"""Fixtures: venue emulators on 127.0.0.1 and our clients pointed at them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crypto_strategy_lab.exchanges import ExchangeFactory, TradingMode
from crypto_strategy_lab.exchanges.alpaca.client import AlpacaExchange
from crypto_strategy_lab.exchanges.bybit.client import BybitExchange
from crypto_strategy_lab.exchanges.retry import RetryPolicy
from crypto_strategy_lab.security.audit_log import MemoryAuditSink
from tests.emulators.alpaca import AlpacaEmulator
from tests.emulators.bybit import BybitEmulator

FAST_RETRY = RetryPolicy(attempts=3, base=0.01, cap=0.05)


@pytest.fixture
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture
async def bybit_emu() -> AsyncIterator[BybitEmulator]:
    async with BybitEmulator() as emu:
        yield emu


@pytest.fixture
async def bybit(bybit_emu: BybitEmulator, audit: MemoryAuditSink) -> AsyncIterator[BybitExchange]:
    exchange = ExchangeFactory.create_exchange(
        "bybit",
        TradingMode.TESTNET,
        base_url=bybit_emu.base_url,
        credentials={"api_key": bybit_emu.api_key, "api_secret": bybit_emu.api_secret},
        timeout=1.0,
        retry_policy=FAST_RETRY,
        audit=audit,
    )
    assert isinstance(exchange, BybitExchange)
    async with exchange:
        yield exchange


@pytest.fixture
async def alpaca_emu() -> AsyncIterator[AlpacaEmulator]:
    async with AlpacaEmulator() as emu:
        yield emu


@pytest.fixture
async def alpaca(
    alpaca_emu: AlpacaEmulator, audit: MemoryAuditSink
) -> AsyncIterator[AlpacaExchange]:
    exchange = ExchangeFactory.create_exchange(
        "alpaca",
        TradingMode.PAPER,
        base_url=alpaca_emu.base_url,
        credentials={"api_key": alpaca_emu.api_key, "api_secret": alpaca_emu.api_secret},
        timeout=1.0,
        retry_policy=FAST_RETRY,
        audit=audit,
    )
    assert isinstance(exchange, AlpacaExchange)
    async with exchange:
        yield exchange
