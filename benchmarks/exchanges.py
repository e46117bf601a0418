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

Reported: p50/p99 latency of each and the overhead ratio ours/raw (target <= 1.2x), for
our layer with the audit logger at its default (WARNING, so muted) level and again with a
JSON-lines audit file attached (the cost of durable auditing: two appends per order).
The emulator's own rate limit is off.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
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
from crypto_strategy_lab.security.audit_log import JsonlAuditSink  # noqa: E402
from crypto_strategy_lab.security.vault import Credentials  # noqa: E402
from tests.emulators.bybit import BybitEmulator  # noqa: E402


def _quantiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def _run(n_orders: int, block: int = 50) -> None:
    async with BybitEmulator(enforce_rate_limits=False, usdt="1e12") as emu:
        creds = Credentials(api_key=emu.api_key, api_secret=emu.api_secret)
        audit_dir = tempfile.TemporaryDirectory()
        ours = BybitExchange(TradingMode.TESTNET, creds, base_url=emu.base_url)
        audited = BybitExchange(
            TradingMode.TESTNET,
            creds,
            base_url=emu.base_url,
            audit=JsonlAuditSink(Path(audit_dir.name) / "audit.jsonl"),
        )
        for client in (ours, audited):
            # the limiter stays on the path, with limits so high that it never waits
            client.limiter = RateLimiter({k: EndpointLimit(10**9, 1.0) for k in BYBIT_LIMITS})
            await client.market_rules("BTCUSDT", client.default_market)  # markets, untimed
        raw = build_ccxt_client(creds, testnet=True, base_url=emu.base_url, timeout=10)
        await raw.load_markets()

        def layer(exchange: BybitExchange) -> Callable[[OrderSide], Awaitable[float]]:
            async def one(side: OrderSide) -> float:
                request = OrderRequest(
                    symbol="BTCUSDT",
                    side=side,
                    order_type=OrderType.MARKET,
                    quantity=Decimal("0.001"),
                )
                start = time.perf_counter()
                await exchange.place_order(request)
                return time.perf_counter() - start

            return one

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

        clients = {"raw": one_raw, "ours": layer(ours), "ours+jsonl": layer(audited)}
        samples: dict[str, list[float]] = {name: [] for name in clients}
        sides = (OrderSide.BUY, OrderSide.SELL)
        for i in range(20):  # warm-up: connection pools, caches, the reference price
            for one in clients.values():
                await one(sides[i % 2])
        order = list(clients)
        while len(samples["ours"]) < n_orders:
            # the venue's state grows with every order: rotate who runs first
            for name in order:
                for i in range(block):
                    samples[name].append(await clients[name](sides[i % 2]))
            order = order[1:] + order[:1]
        for client in (ours, audited):
            await client.close()
        await raw.close()
        audit_dir.cleanup()
    raw50, raw99 = _quantiles(samples["raw"])
    print(f"orders per client: {len(samples['ours'])} (rotating blocks of {block})")
    print(f"{'raw ccxt create_order':<28} p50 {raw50 * 1e3:7.3f} ms   p99 {raw99 * 1e3:7.3f} ms")
    for name, label in (("ours", "our place_order"), ("ours+jsonl", "ours + JSONL audit file")):
        p50, p99 = _quantiles(samples[name])
        mean = statistics.fmean(samples[name]) / statistics.fmean(samples["raw"])
        print(
            f"{label:<28} p50 {p50 * 1e3:7.3f} ms   p99 {p99 * 1e3:7.3f} ms   "
            f"ratio to raw: p50 x{p50 / raw50:.3f}  p99 x{p99 / raw99:.3f}  mean x{mean:.3f}"
        )
    print("target: our place_order <= 1.2x raw ccxt")


def main() -> None:
    asyncio.run(_run(int(os.environ.get("CSL_BENCH_EXCHANGE_ORDERS", "400"))))


if __name__ == "__main__":
    main()
