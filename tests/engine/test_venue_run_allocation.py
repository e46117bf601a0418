"""A venue run sizes its sleeve from the account's equity, read by the venue's one rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto_strategy_lab.core.enums import MarketType, TradingMode
from crypto_strategy_lab.engine.venue_run import build_venue_run
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.risk import RiskLimits
from tests.emulators.bybit import BybitEmulator

MAX = RiskLimits().max_position_fraction


@pytest.mark.parametrize(
    ("capital", "usdt", "expected"),
    [(1_000.0, "50000", 1_000 / 50_000), (45_000.0, "50000", min(MAX, 45_000 / 50_000))],
)
async def test_the_allocation_is_the_capital_over_the_accounts_equity(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capital, usdt, expected
) -> None:
    journal = Journal.open(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    async with BybitEmulator(usdt=usdt) as emu:
        monkeypatch.setenv("BYBIT_TESTNET_API_KEY", emu.api_key)
        monkeypatch.setenv("BYBIT_TESTNET_API_SECRET", emu.api_secret)
        engine, _feed = await build_venue_run(
            journal,
            "drift_significance",
            venue="bybit",
            mode=TradingMode.TESTNET,
            capital=capital,
            symbol="BTCUSDT",
            timeframe="1h",
            market=MarketType.LINEAR,
            days=0.001,
            params={"window": "10h"},
            base_url=emu.base_url,
        )
        try:
            (sleeve,) = engine.sleeves
            assert sleeve.allocation == pytest.approx(expected)
            account = await sleeve.exchange.get_account_value("BTCUSDT")
            assert account.equity == int(usdt)  # what the allocation was computed from
        finally:
            await engine.sleeves[0].exchange.close()
    journal.engine.dispose()
