"""Bybit adapter driven through ccxt against the local v5 emulator (no mocks of our code)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from crypto_strategy_lab.core.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeUnavailable,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimitExceeded,
)
from crypto_strategy_lab.exchanges import (
    ExchangeFactory,
    MarketType,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    TradingMode,
)
from crypto_strategy_lab.exchanges.bybit.client import BybitExchange, build_ccxt_client
from crypto_strategy_lab.exchanges.bybit.parsing import position_from_v5
from tests.emulators.bybit import BybitEmulator, sign
from tests.exchanges.conftest import FAST_RETRY, client_for, place_all


def body(request: dict) -> dict:
    return json.loads(request["body"])


def order(**fields) -> OrderRequest:
    base = {
        "symbol": "BTCUSDT",
        "side": OrderSide.BUY,
        "order_type": OrderType.MARKET,
        "quantity": Decimal("0.01"),
    }
    base.update(fields)
    return OrderRequest(**base)


# ---- the brief's example ----
async def test_brief_example_runs_unchanged(bybit_emu: BybitEmulator, monkeypatch) -> None:
    monkeypatch.setenv("BYBIT_TESTNET_API_KEY", bybit_emu.api_key)
    monkeypatch.setenv("BYBIT_TESTNET_API_SECRET", bybit_emu.api_secret)
    exchange = ExchangeFactory.create_exchange(
        "bybit", mode=TradingMode.TESTNET, base_url=bybit_emu.base_url
    )
    async with exchange:
        result = await exchange.place_order(
            OrderRequest(
                symbol="BTCUSDT",
                side=OrderSide.BUY,
                order_type=OrderType.MARKET,
                quantity=Decimal("0.01"),
            )
        )
        filled = await exchange.get_order(result.order_id, "BTCUSDT")
    sent = bybit_emu.create_requests()
    assert len(sent) == 1
    assert body(sent[0])["category"] == "linear"  # the stated default market
    assert body(sent[0])["orderLinkId"] == result.client_order_id
    assert filled.status is OrderStatus.FILLED
    assert filled.filled_quantity == Decimal("0.01")
    assert filled.average_price == Decimal("50000")
    [fill] = filled.fills  # from /v5/execution/list: the venue's own price and fee
    assert fill.quantity == Decimal("0.01") and fill.price == Decimal("50000")
    assert fill.fee == Decimal("0.01") * Decimal("50000") * Decimal("0.00055")
    assert fill.client_order_id == result.client_order_id


# ---- every order type ----
async def test_linear_market_limit_stop_and_stop_limit(bybit, bybit_emu) -> None:
    market = await bybit.place_order(order())
    limit = await bybit.place_order(order(order_type=OrderType.LIMIT, price=Decimal("45000")))
    stop = await bybit.place_order(order(order_type=OrderType.STOP, stop_price=Decimal("52000")))
    stop_limit = await bybit.place_order(
        order(
            side=OrderSide.SELL,
            order_type=OrderType.STOP_LIMIT,
            stop_price=Decimal("48000"),
            price=Decimal("47900"),
        )
    )
    sent = [body(r) for r in bybit_emu.create_requests()]
    assert [s["orderType"] for s in sent] == ["Market", "Limit", "Market", "Limit"]
    assert sent[1]["price"] == "45000"
    assert sent[2]["triggerPrice"] == "52000" and sent[2]["triggerDirection"] == 1
    assert sent[3]["triggerPrice"] == "48000" and sent[3]["triggerDirection"] == 2
    assert (await bybit.get_order(market.order_id, "BTCUSDT")).status is OrderStatus.FILLED
    got = {o.order_id: o for o in await bybit.get_open_orders("BTCUSDT")}
    assert set(got) == {limit.order_id, stop.order_id, stop_limit.order_id}
    assert got[stop.order_id].order_type is OrderType.STOP
    assert got[stop_limit.order_id].order_type is OrderType.STOP_LIMIT
    assert got[limit.order_id].price == Decimal("45000")
    bybit_emu.set_price("BTCUSDT", "52500")  # fires the buy stop
    assert (await bybit.get_order(stop.order_id, "BTCUSDT")).status is OrderStatus.FILLED


async def test_post_only_reduce_only_and_attached_sl_tp(bybit, bybit_emu) -> None:
    await bybit.place_order(order(stop_loss=Decimal("49000"), take_profit=Decimal("52000")))
    await bybit.place_order(
        order(order_type=OrderType.LIMIT, price=Decimal("45000"), post_only=True)
    )
    await bybit.place_order(order(side=OrderSide.SELL, reduce_only=True, quantity=Decimal("0.005")))
    await bybit.place_order(
        order(order_type=OrderType.LIMIT, price=Decimal("45000"), time_in_force=TimeInForce.IOC)
    )
    sent = [body(r) for r in bybit_emu.create_requests()]
    assert sent[0]["stopLoss"] == "49000" and sent[0]["takeProfit"] == "52000"
    assert sent[1]["timeInForce"] == "PostOnly"
    assert sent[2]["reduceOnly"] is True
    assert sent[3]["timeInForce"] == "IOC"
    [position] = await bybit.get_positions("BTCUSDT")
    assert position.quantity == Decimal("0.005")
    assert position.stop_loss == Decimal("49000") and position.take_profit == Decimal("52000")
    bybit_emu.set_price("BTCUSDT", "48900")  # the venue fires the attached stop-loss
    assert await bybit.get_positions("BTCUSDT") == []


async def test_spot_market_buy_is_sized_in_base_units(bybit, bybit_emu) -> None:
    """Trap 4: with a price, ccxt would send qty = amount x price read as USDT."""
    await bybit.place_order(order(market=MarketType.SPOT, quantity=Decimal("0.01")))
    sent = body(bybit_emu.create_requests()[-1])
    assert sent["category"] == "spot"
    assert sent["marketUnit"] == "baseCoin" and sent["qty"] == "0.01"
    assert "price" not in sent
    balance = await bybit.get_balance()
    assert balance["BTC"].total == Decimal("0.01")
    assert balance["USDT"].total == Decimal("100000") - Decimal("500") * Decimal("1.001")


async def test_spot_sell_limit_and_stop(bybit, bybit_emu) -> None:
    spot = {"market": MarketType.SPOT}
    await bybit.place_order(order(quantity=Decimal("0.02"), **spot))
    await bybit.place_order(order(side=OrderSide.SELL, **spot))
    limit = await bybit.place_order(
        order(
            side=OrderSide.SELL,
            order_type=OrderType.LIMIT,
            price=Decimal("60000"),
            quantity=Decimal("0.005"),
            **spot,
        )
    )
    stop = await bybit.place_order(
        order(
            side=OrderSide.SELL,
            order_type=OrderType.STOP,
            stop_price=Decimal("40000"),
            quantity=Decimal("0.005"),
            **spot,
        )
    )
    sent = [body(r) for r in bybit_emu.create_requests()]
    assert sent[1]["marketUnit"] == "baseCoin"
    assert sent[3]["orderFilter"] == "StopOrder" and "triggerDirection" not in sent[3]
    assert (await bybit.get_balance())["BTC"].total == Decimal("0.01")
    opened = {o.order_id for o in await bybit.get_open_orders(market=MarketType.SPOT)}
    assert opened == {limit.order_id, stop.order_id}
    with pytest.raises(InvalidOrder, match="linear perpetuals"):
        await bybit.place_order(order(stop_loss=Decimal("40000"), **spot))
    cancelled = await bybit.cancel_order(stop.order_id, "BTCUSDT", **spot)
    assert cancelled.status is OrderStatus.CANCELLED
    filters = [
        body(r).get("orderFilter") for r in bybit_emu.requests if r["path"] == "/v5/order/cancel"
    ]
    assert filters == ["Order", "StopOrder"]  # the second try names the conditional book


# ---- rounding and minimums ----
async def test_rounding_to_lot_and_tick_before_sending(bybit, bybit_emu) -> None:
    await bybit.place_order(
        order(order_type=OrderType.LIMIT, quantity=Decimal("0.0129"), price=Decimal("45000.177"))
    )
    await bybit.place_order(
        order(
            side=OrderSide.SELL,
            order_type=OrderType.LIMIT,
            quantity=Decimal("0.0129"),
            price=Decimal("55000.111"),
        )
    )
    sent = [body(r) for r in bybit_emu.create_requests()]
    assert sent[0]["qty"] == "0.012" and sent[0]["price"] == "45000.17"  # buy: floor
    assert sent[1]["price"] == "55000.12"  # sell limit rounds up (never more aggressive)


async def test_below_minimum_is_rejected_before_sending(bybit, bybit_emu) -> None:
    with pytest.raises(InvalidOrder, match="below the minimum"):
        await bybit.place_order(order(quantity=Decimal("0.0004")))
    with pytest.raises(InvalidOrder, match="order value"):  # 0.0003 ETH x 3000 = 0.9 < 1 USDT
        await bybit.place_order(
            order(symbol="ETHUSDT", quantity=Decimal("0.0003"), market=MarketType.SPOT)
        )
    assert bybit_emu.create_requests() == []


# ---- reads, leverage, cancels ----
async def test_cancel_cancel_all_and_not_found(bybit, bybit_emu) -> None:
    a = await bybit.place_order(order(order_type=OrderType.LIMIT, price=Decimal("40000")))
    await bybit.place_order(order(order_type=OrderType.LIMIT, price=Decimal("41000")))
    cancelled = await bybit.cancel_order(a.order_id, "BTCUSDT")
    assert cancelled.status is OrderStatus.CANCELLED
    ids = await bybit.cancel_all_orders("BTCUSDT")
    assert len(ids) == 1 and ids[0] != a.order_id
    assert await bybit.get_open_orders("BTCUSDT") == []
    with pytest.raises(OrderNotFound) as info:
        await bybit.cancel_order(a.order_id, "BTCUSDT")
    assert info.value.code == 110001


async def test_fetch_order_needs_acknowledged_on_unified_accounts(bybit, bybit_emu) -> None:
    """Trap 3: ccxt refuses fetch_order on a unified account without acknowledged=True."""
    placed = await bybit.place_order(order())
    raw = build_ccxt_client(None, testnet=True, base_url=bybit_emu.base_url, timeout=1)
    raw.apiKey, raw.secret = bybit_emu.api_key, bybit_emu.api_secret
    try:
        await raw.load_markets()
        with pytest.raises(ccxt.ArgumentsRequired):
            await raw.fetch_order(placed.order_id, "BTC/USDT:USDT")
    finally:
        await raw.close()
    assert (await bybit.get_order(placed.order_id, "BTCUSDT")).status is OrderStatus.FILLED


async def test_set_leverage_twice_is_idempotent(bybit, bybit_emu) -> None:
    await bybit.set_leverage("BTCUSDT", 5)
    await bybit.set_leverage("BTCUSDT", 5)  # venue answers 110043 "not modified"
    assert bybit_emu.leverage["BTCUSDT"] == Decimal(5)
    with pytest.raises(InvalidOrder, match="linear perpetuals"):
        await bybit.set_leverage("BTCUSDT", 5, market=MarketType.SPOT)


async def test_ohlcv_is_oldest_first_and_ticker(bybit, bybit_emu) -> None:
    frame = await bybit.get_ohlcv("BTCUSDT", "1h", limit=24)
    kline = [r for r in bybit_emu.requests if r["path"] == "/v5/market/kline"][-1]
    assert "interval=60" in kline["query"]
    assert frame.index.is_monotonic_increasing and len(frame) >= 23
    ticker = await bybit.get_ticker("BTCUSDT")
    assert ticker.last == Decimal("50000") and ticker.bid < ticker.last < ticker.ask


async def test_close_position_flattens_with_reduce_only(bybit, bybit_emu) -> None:
    assert await bybit.close_position("BTCUSDT") == []
    await bybit.place_order(order(side=OrderSide.SELL, quantity=Decimal("0.02")))
    await bybit.close_position("BTCUSDT")
    last = body(bybit_emu.create_requests()[-1])
    assert last["side"] == "Buy" and last["qty"] == "0.02" and last["reduceOnly"] is True
    assert await bybit.get_positions() == []


# ---- errors ----
async def test_insufficient_funds_maps_110007(bybit) -> None:
    with pytest.raises(InsufficientFunds) as info:
        await bybit.place_order(order(quantity=Decimal("50")))
    assert info.value.code == 110007 and info.value.venue == "bybit"


async def test_bad_key_and_bad_secret_are_authentication_errors(bybit_emu) -> None:
    for key, secret, code in (
        ("wrong-key-123", bybit_emu.api_secret, 10003),
        (bybit_emu.api_key, "wrong-secret-456", 10004),
    ):
        exchange = client_for(
            "bybit", bybit_emu, api_key=key, api_secret=secret, retry_policy=FAST_RETRY
        )
        async with exchange:
            with pytest.raises(AuthenticationError) as info:
                await exchange.get_balance()
        assert info.value.code == code
        assert secret not in str(info.value) and key not in str(info.value)


async def test_recv_window_violation_maps_10002(bybit, bybit_emu, monkeypatch) -> None:
    monkeypatch.setattr(bybit.client, "milliseconds", lambda: 1_000)  # a clock far behind
    with pytest.raises(ExchangeError, match="recv window") as info:
        await bybit.get_balance()
    assert info.value.code == 10002 and "recv window" in str(info.value)


async def test_html_502_is_unavailable_and_reads_retry(bybit, bybit_emu) -> None:
    """Trap: a non-JSON gateway page still maps cleanly (HTTP status as the code)."""
    bybit_emu.faults.fail_next(2, 502, path="/v5/account/wallet-balance")
    assert "USDT" in await bybit.get_balance()  # third try succeeds
    bybit_emu.faults.fail_next(3, 502, path="/v5/account/wallet-balance")
    with pytest.raises(ExchangeUnavailable) as info:
        await bybit.get_balance()
    assert info.value.code == 502 and "<" not in str(info.value)


async def test_rate_limit_reply_10006_is_retried_on_reads(bybit, bybit_emu) -> None:
    bybit_emu.faults.rate_limit_next(2, path="/v5/position/list")
    assert await bybit.get_positions() == []
    bybit_emu.faults.rate_limit_next(3, path="/v5/position/list")
    with pytest.raises(RateLimitExceeded) as info:
        await bybit.get_positions()
    assert info.value.code == 10006


# ---- idempotent placement ----
@pytest.mark.parametrize(
    "fault", ["disconnect", "timeout", "gateway_after", "gateway_before", "rate_limited"]
)
async def test_uncertain_submit_ends_with_exactly_one_order(bybit, bybit_emu, audit, fault) -> None:
    faults = bybit_emu.faults
    path = "/v5/order/create"
    if fault == "disconnect":
        faults.drop_response_next(1, path=path)
    elif fault == "timeout":
        faults.drop_response_next(1, hang=1.5, path=path)  # client timeout is 1 s
    elif fault == "gateway_after":
        faults.status_after_execute_next(1, 504, path=path)
    elif fault == "gateway_before":
        faults.fail_next(1, 502, path=path)
    else:
        faults.rate_limit_next(1, path=path)
    request = order()
    result = await bybit.place_order(request)
    assert result.client_order_id == request.client_order_id
    assert len(bybit_emu.orders_with_link_id(request.client_order_id)) == 1
    actions = [e.action for e in audit.events]
    assert "order.lookup" in actions and actions[-1] == "order.reply"
    executed_first = fault in ("disconnect", "timeout", "gateway_after")
    assert len(bybit_emu.create_requests()) == (1 if executed_first else 2)


# Replies to /v5/order/create that the venue sends *after* executing the order but our
# client cannot read (issue 12: each raised KeyError('orderId') and killed the loop).
UNREADABLE_CREATE_REPLIES = {
    "truncated": '{"retCode":0,"retMsg":"OK","result":{"orderId":"emu-',
    "empty": "",
    "null": "null",
    "empty_result": '{"retCode":0,"retMsg":"OK","result":{},"retExtInfo":{},"time":1700000000000}',
}


@pytest.mark.parametrize("reply", sorted(UNREADABLE_CREATE_REPLIES))
async def test_unreadable_create_reply_is_an_uncertain_outcome(
    bybit, bybit_emu, audit, reply
) -> None:
    bybit_emu.faults.malformed_reply_next(
        1, UNREADABLE_CREATE_REPLIES[reply], path="/v5/order/create"
    )
    request = order()
    result = await bybit.place_order(request)
    assert result.client_order_id == request.client_order_id
    assert result.order_id == bybit_emu.orders_with_link_id(request.client_order_id)[0]["orderId"]
    assert len(bybit_emu.orders_with_link_id(request.client_order_id)) == 1
    assert len(bybit_emu.create_requests()) == 1  # found by orderLinkId, never resent
    errors = [e for e in audit.events if e.action == "order.error"]
    assert [e.detail["error"] for e in errors] == ["UnreadableReply"]
    assert [e.action for e in audit.events][-2:] == ["order.lookup", "order.reply"]


async def test_unreadable_cancel_and_read_replies_are_exchange_errors(bybit, bybit_emu) -> None:
    """A cancel is confirmed by reading the order back, so an unreadable cancel reply still
    ends cancelled; cancel-all, whose reply is the list, fails as ExchangeUnavailable (never
    a KeyError); a read is retried past an unreadable reply."""
    limit = order(order_type=OrderType.LIMIT, price=Decimal("40000"))
    placed = await bybit.place_order(limit)
    bybit_emu.faults.malformed_reply_next(1, "null", path="/v5/order/cancel")
    assert (await bybit.cancel_order(placed.order_id, "BTCUSDT")).status is OrderStatus.CANCELLED
    await bybit.place_order(order(order_type=OrderType.LIMIT, price=Decimal("40000")))
    bybit_emu.faults.malformed_reply_next(1, "null", path="/v5/order/cancel-all")
    with pytest.raises(ExchangeUnavailable, match="unreadable reply"):
        await bybit.cancel_all_orders("BTCUSDT")
    bybit_emu.faults.malformed_reply_next(2, '{"retCode":0,"result":{}}', path="/v5/position")
    assert await bybit.get_positions() == []


async def test_duplicate_client_id_returns_the_existing_order(bybit, bybit_emu) -> None:
    request = order(order_type=OrderType.LIMIT, price=Decimal("40000"))
    first = await bybit.place_order(request)
    again = await bybit.place_order(request)  # venue answers 110072
    assert again.order_id == first.order_id
    assert len(bybit_emu.orders_with_link_id(request.client_order_id)) == 1
    spot = order(market=MarketType.SPOT, order_type=OrderType.LIMIT, price=Decimal("40000"))
    assert (await bybit.place_order(spot)).order_id == (await bybit.place_order(spot)).order_id


# ---- rate limits ----
def limit_burst(n: int, *, alternate_spot: bool = False) -> list[OrderRequest]:
    """``n`` small BTCUSDT limit buys below the market (every other one on spot with
    ``alternate_spot``, the rest on the default linear market)."""
    return [
        order(
            order_type=OrderType.LIMIT,
            price=Decimal("40000"),
            quantity=Decimal("0.001"),
            market=MarketType.SPOT if alternate_spot and i % 2 else None,
        )
        for i in range(n)
    ]


async def test_burst_of_200_orders_never_hits_the_venue_limit() -> None:
    """Bybit's 10 linear orders per rolling second, scaled 10x (10 per 100 ms) on both sides."""
    async with BybitEmulator(rate_limit_scale=10) as emu:
        async with client_for("bybit", emu, rate_limit_scale=10) as exchange:
            await place_all(exchange, limit_burst(200))
        assert emu.rate_limited == 0
        assert len(emu.create_requests()) == 200


async def test_ccxt_alone_trips_the_emulated_limit() -> None:
    """Negative control for the test above: without our limiter the same burst is refused."""
    async with BybitEmulator(rate_limit_scale=10) as emu:
        raw = build_ccxt_client(None, testnet=True, base_url=emu.base_url, timeout=5)
        raw.apiKey, raw.secret = emu.api_key, emu.api_secret
        try:
            await raw.load_markets()
            results = await asyncio.gather(
                *(
                    raw.create_order(
                        "BTC/USDT:USDT", "limit", "buy", 0.001, 40000, {"clientOrderId": f"raw-{i}"}
                    )
                    for i in range(40)
                ),
                return_exceptions=True,
            )
        finally:
            await raw.close()
        assert emu.rate_limited > 0
        assert any(isinstance(r, ccxt.RateLimitExceeded) for r in results)


@pytest.mark.slow
async def test_burst_at_real_speed_never_hits_the_venue_limit() -> None:
    async with BybitEmulator() as emu:
        async with client_for("bybit", emu) as exchange:
            await place_all(exchange, limit_burst(200, alternate_spot=True))
        assert emu.rate_limited == 0


# ---- wire details ----
def test_signature_vectors_from_exchanges_md() -> None:
    ts, key, secret = "1658384314791", "testkey", "testsecret"
    get_payload = "category=option&symbol=BTC-29JUL22-25000-C"
    post_payload = (
        '{"symbol":"BTCUSDT","side":"Buy","orderType":"Market","category":"linear","qty":"0.01"}'
    )
    get_sig = "234e645dce3a16c7c538ec725b089f9959ddc0648c4a09e14ad706ea8b4baf48"
    post_sig = "a4c9cd376056a654c5a95ac742d77008d3ab78b05d0d4ce28aea461e7ada8172"
    assert sign(secret, ts, key, "5000", get_payload) == get_sig
    assert sign(secret, ts, key, "5000", post_payload) == post_sig
    client = ccxt_async.bybit({"apiKey": key, "secret": secret})
    client.nonce = lambda: int(ts)
    signed = client.sign(
        "v5/order/create",
        ["private"],
        "POST",
        {
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Market",
            "category": "linear",
            "qty": "0.01",
        },
    )
    assert signed["body"] == post_payload
    assert signed["headers"]["X-BAPI-SIGN"] == post_sig
    signed_get = client.sign(
        "v5/order/realtime",
        ["private"],
        "GET",
        {"category": "option", "symbol": "BTC-29JUL22-25000-C"},
    )
    assert signed_get["url"].endswith("?" + get_payload)
    assert signed_get["headers"]["X-BAPI-SIGN"] == get_sig


async def test_sandbox_switch_happens_before_the_url_override(bybit_emu) -> None:
    """Trap 1: overriding urls before set_sandbox_mode(True) would lose the override."""
    exchange = BybitExchange(TradingMode.TESTNET, None, base_url=bybit_emu.base_url)
    assert set(exchange.client.urls["api"].values()) == {bybit_emu.base_url}
    await exchange.close()
    testnet = BybitExchange(TradingMode.TESTNET, None)
    live = BybitExchange(TradingMode.LIVE, None)
    assert testnet.client.urls["api"]["private"].startswith("https://api-testnet.")
    assert "api-testnet" not in live.client.urls["api"]["private"]
    await testnet.close()
    await live.close()
    with pytest.raises(Exception, match="no paper mode"):
        BybitExchange(TradingMode.PAPER, None)


async def test_startup_makes_three_market_requests_and_no_account_detection(bybit, bybit_emu):
    """Trap 2: only spot + linear markets, no coin-info or unified-account probes."""
    await bybit.place_order(order())
    paths = [r["path"] for r in bybit_emu.requests]
    assert paths.count("/v5/market/instruments-info") == 3
    assert "/v5/asset/coin/query-info" not in paths
    assert "/v5/user/query-api" not in paths and "/v5/account/info" not in paths


def test_hedge_mode_position_is_refused_not_read_as_net() -> None:
    # A hedge-mode leg read as a net position would be "closed" by a one-way order the
    # account refuses: the kill switch must fail loudly instead.
    leg = {"symbol": "BTCUSDT", "positionIdx": 2, "side": "Sell", "size": "0.02"}
    with pytest.raises(ExchangeError, match="hedge mode"):
        position_from_v5(leg)
    assert position_from_v5({**leg, "positionIdx": 0}).quantity == Decimal("-0.02")
