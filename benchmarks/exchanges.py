"""Exchange-layer overhead: an order round trip through our layer vs raw ccxt.

    python -m benchmarks exchanges                 # 400 orders each
    CSL_BENCH_EXCHANGE_ORDERS=1000 python -m benchmarks exchanges

Both clients talk to the same local Bybit v5 emulator (tests/emulators/bybit.py; HMAC
signature checked on every request) in the same run, in interleaved ABBA blocks so that drift
of the machine's load and of the venue's state hits both alike. Each order is a linear market
order with a client id, alternately buy and sell (the position stays bounded), so the venue
does the same work for both.

* raw: ``ccxt.async_support.bybit.create_order`` (configured like ours, throttle off);
* ours: ``BybitExchange.place_order`` = validation and rounding to lot/tick, the token-bucket
  limiter (with limits so high that it never waits: we measure overhead, not the venue limit),
  audit events, the ccxt call and error mapping.

Reported: p50/p99 latency of each and the overhead ratio ours/raw (target <= 1.2x).
The emulator's own rate limit is off; the audit logger is at its default (WARNING) level.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the emulator lives under tests/
    sys.path.insert(0, str(ROOT))

from crypto_strategy_lab.core.enums import OrderSide, OrderType, TradingMode  # noqa: E402
from crypto_strategy_lab.core.orders import OrderRequest, new_client_order_id  # noqa: E402
from crypto_strategy_lab.exchanges.bybit.client import (  # noqa: E402
    BybitExchange,
    build_ccxt_client,
)
from crypto_strategy_lab.exchanges.rate_limit import (  # noqa: E402
    BYBIT_LIMITS,
    EndpointLimit,
    RateLimiter,
)
from crypto_strategy_lab.security.vault import Credentials  # noqa: E402
from tests.emulators.bybit import BybitEmulator  # noqa: E402


def _quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def _run(n_orders: int, block: int = 50) -> None:
    async with BybitEmulator(enforce_rate_limits=False, usdt="1e12") as emu:
        creds = Credentials(api_key=emu.api_key, api_secret=emu.api_secret)
        ours = BybitExchange(TradingMode.TESTNET, creds, base_url=emu.base_url)
        # the limiter stays on the path, with limits so high that it never waits
        ours.limiter = RateLimiter({key: EndpointLimit(10**9, 1.0) for key in BYBIT_LIMITS})
        raw = build_ccxt_client(creds, testnet=True, base_url=emu.base_url, timeout=10)
        await raw.load_markets()
        await ours.market_rules("BTCUSDT", ours.default_market)  # load markets outside timing

        async def one_ours(side: OrderSide) -> float:
            request = OrderRequest(
                symbol="BTCUSDT", side=side, order_type=OrderType.MARKET, quantity=Decimal("0.001")
            )
            start = time.perf_counter()
            await ours.place_order(request)
            return time.perf_counter() - start

        async def one_raw(side: OrderSide) -> float:
            cid = new_client_order_id()
            start = time.perf_counter()
            await raw.create_order(
                "BTC/USDT:USDT",
                "market",
                side.value.lower(),
                "0.001",
                None,
                {"clientOrderId": cid, "timeInForce": "GTC"},
            )
            return time.perf_counter() - start

        sides = (OrderSide.BUY, OrderSide.SELL)
        for i in range(20):  # warm-up: connection pools, caches, the reference price
            await one_ours(sides[i % 2])
            await one_raw(sides[i % 2])
        t_ours: list[float] = []
        t_raw: list[float] = []
        runs = ((t_raw, one_raw), (t_ours, one_ours))
        while len(t_ours) < n_orders:
            # ABBA order: the venue's state grows with every order, so neither client may
            # always run second
            for samples, one in runs if len(t_ours) % (2 * block) == 0 else runs[::-1]:
                for i in range(block):
                    samples.append(await one(sides[i % 2]))
        await ours.close()
        await raw.close()
    raw50, raw99 = _quantiles(t_raw)
    our50, our99 = _quantiles(t_ours)
    print(f"orders per client: {len(t_ours)} (interleaved blocks of {block})")
    print(f"raw ccxt create_order     p50 {raw50 * 1e3:7.3f} ms   p99 {raw99 * 1e3:7.3f} ms")
    print(f"our place_order           p50 {our50 * 1e3:7.3f} ms   p99 {our99 * 1e3:7.3f} ms")
    print(
        f"overhead ratio ours/raw   p50 x{our50 / raw50:.3f}   p99 x{our99 / raw99:.3f}   "
        f"mean x{statistics.fmean(t_ours) / statistics.fmean(t_raw):.3f}   (target <= 1.2)"
    )


def main() -> None:
    asyncio.run(_run(int(os.environ.get("CSL_BENCH_EXCHANGE_ORDERS", "400"))))


if __name__ == "__main__":
    main()
