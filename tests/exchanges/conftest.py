"""Fixtures: venue emulators on 127.0.0.1 and our clients pointed at them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from crypto_strategy_lab.exchanges import (
    Exchange,
    ExchangeFactory,
    OrderRequest,
    OrderResult,
    TradingMode,
)
from crypto_strategy_lab.exchanges.alpaca.client import AlpacaExchange
from crypto_strategy_lab.exchanges.bybit.client import BybitExchange
from crypto_strategy_lab.exchanges.retry import RetryPolicy
from crypto_strategy_lab.security.audit_log import MemoryAuditSink
from tests.emulators.alpaca import AlpacaEmulator
from tests.emulators.bybit import BybitEmulator

FAST_RETRY = RetryPolicy(attempts=3, base=0.01, cap=0.05)
EMULATED_MODE = {"bybit": TradingMode.TESTNET, "alpaca": TradingMode.PAPER}


def client_for(
    venue: str,
    emu: BybitEmulator | AlpacaEmulator,
    *,
    api_key: str | None = None,
    api_secret: str | None = None,
    **options: Any,
) -> Exchange:
    """Our ``venue`` client pointed at ``emu``, with the emulator's credentials unless given."""
    return ExchangeFactory.create_exchange(
        venue,
        EMULATED_MODE[venue],
        base_url=emu.base_url,
        credentials={
            "api_key": emu.api_key if api_key is None else api_key,
            "api_secret": emu.api_secret if api_secret is None else api_secret,
        },
        **options,
    )


async def place_all(exchange: Exchange, requests: Iterable[OrderRequest]) -> list[OrderResult]:
    """Submit every request at once (a burst) and return the results in order."""
    return await asyncio.gather(*(exchange.place_order(r) for r in requests))


@pytest.fixture
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture
async def bybit_emu() -> AsyncIterator[BybitEmulator]:
    async with BybitEmulator() as emu:
        yield emu


@pytest.fixture
async def bybit(bybit_emu: BybitEmulator, audit: MemoryAuditSink) -> AsyncIterator[BybitExchange]:
    exchange = client_for("bybit", bybit_emu, timeout=1.0, retry_policy=FAST_RETRY, audit=audit)
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
    exchange = client_for("alpaca", alpaca_emu, timeout=1.0, retry_policy=FAST_RETRY, audit=audit)
    assert isinstance(exchange, AlpacaExchange)
    async with exchange:
        yield exchange
