"""Peer: NautilusTrader's event-driven BacktestEngine on the same bars and EMA cross.

Runs inside its own virtual environment (NautilusTrader 1.221 needs pandas < 3, the project
pins pandas 3); ``benchmarks.engine_peers`` creates that environment and calls this script:

    <peer-venv>/bin/python benchmarks/peers/nautilus_ema.py BARS.parquet FAST SLOW

It prints one JSON line: bars processed, wall seconds of ``engine.run()`` (data loading and
wrangling excluded, as for our replay), orders and fills.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal

import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.test_kit.providers import TestInstrumentProvider


def main(path: str, fast: int, slow: int) -> None:
    frame = pd.read_parquet(path)
    frame.index = pd.to_datetime(frame.pop("timestamp"), utc=True)
    instrument = TestInstrumentProvider.btcusdt_perp_binance()
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    bars = BarDataWrangler(bar_type, instrument).process(frame)

    engine = BacktestEngine(
        BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR", bypass_logging=True))
    )
    engine.add_venue(
        venue=Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=None,
        starting_balances=[Money(1_000_000, USDT)],
    )
    engine.add_instrument(instrument)
    engine.add_data(bars)
    engine.add_strategy(
        EMACross(
            EMACrossConfig(
                instrument_id=instrument.id,
                bar_type=bar_type,
                trade_size=Decimal("0.010"),
                fast_ema_period=fast,
                slow_ema_period=slow,
                request_bars=False,
            )
        )
    )
    start = time.perf_counter()
    engine.run()
    seconds = time.perf_counter() - start
    orders = len(engine.cache.orders())
    fills = len(engine.trader.generate_fills_report())
    engine.dispose()
    print(json.dumps({"bars": len(bars), "seconds": seconds, "orders": orders, "fills": fills}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
