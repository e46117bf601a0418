"""Property test: for random books, prices, limits and order streams, no approved order
breaks a limit.

After each approved order is filled (at the last price) the test recomputes, independently
of the engine, every exposure group the order belongs to. The invariant: each group is
within its (drawdown-scaled) limit, *or* the order did not increase its own position (a
book that starts over a limit may always be reduced). Orders that add exposure must also
carry the 2 %/4 % brackets and must not pass while halted or while the market is abnormal.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto_strategy_lab.core.enums import MarketType, OrderSide, OrderType
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.risk import (
    OrderIntent,
    PortfolioState,
    PositionExposure,
    ReturnDistribution,
    RiskAction,
    RiskEngine,
    RiskLimits,
)
from crypto_strategy_lab.risk.sizing import drawdown_scale
from tests.risk.helpers import NOW, market

SYMBOLS = ("AAA", "BBB", "CCC")
STRATEGIES = ("s1", "s2", "s3")
VENUES = {"bybit": "crypto", "alpaca": "equity"}

decimals = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000"), places=2)


@st.composite
def scenario(draw):  # type: ignore[no-untyped-def]
    limits = RiskLimits(
        max_position_fraction=draw(st.floats(0.01, 0.5)),
        max_gross_exposure=draw(st.floats(0.05, 1.5)),
        max_asset_class_exposure=draw(
            st.dictionaries(st.sampled_from(["crypto", "equity"]), st.floats(0.0, 1.0))
        ),
        max_venue_exposure=draw(st.dictionaries(st.sampled_from(list(VENUES)), st.floats(0, 1))),
        max_order_notional=draw(st.floats(100, 1e6)),
        kelly_fraction=draw(st.floats(0.1, 1.0)),
    )
    equity = draw(st.decimals(min_value=Decimal(1000), max_value=Decimal(10**6), places=2))
    peak = equity * (1 + draw(st.decimals(min_value=0, max_value=Decimal("0.3"), places=3)))
    day_start = equity * (1 + draw(st.decimals(Decimal("-0.1"), Decimal("0.1"), places=3)))
    prices = {s: draw(decimals) for s in SYMBOLS}
    positions = {}
    for _ in range(draw(st.integers(0, 6))):
        key = (
            draw(st.sampled_from(STRATEGIES)),
            draw(st.sampled_from(list(VENUES))),
            draw(st.sampled_from(SYMBOLS)),
        )
        notional = draw(st.decimals(Decimal(-300000), Decimal(300000), places=0))
        positions[key] = (notional / prices[key[2]]).quantize(Decimal("0.001"))
    orders = []
    for _ in range(draw(st.integers(1, 12))):
        symbol = draw(st.sampled_from(SYMBOLS))
        notional = draw(st.decimals(Decimal(1), Decimal(200000), places=0))
        qty = max(Decimal("0.001"), (notional / prices[symbol]).quantize(Decimal("0.001")))
        offset = draw(
            st.one_of(st.none(), st.decimals(Decimal("-0.08"), Decimal("0.08"), places=3))
        )
        returns = draw(
            st.one_of(st.none(), st.tuples(st.floats(-0.01, 0.01), st.floats(1e-5, 0.01)))
        )
        orders.append(
            dict(
                strategy=draw(st.sampled_from(STRATEGIES)),
                venue=draw(st.sampled_from(list(VENUES))),
                symbol=symbol,
                side=draw(st.sampled_from(list(OrderSide))),
                qty=qty,
                offset=offset,
                returns=returns,
                kill=draw(st.booleans()) and draw(st.booleans()),
                age=draw(st.sampled_from([0, 10, 1000])),
                vol=draw(st.sampled_from([None, 1.0, 5.0])),
            )
        )
    return limits, equity, peak, day_start, prices, positions, orders


def _gross(positions, prices, member) -> Decimal:  # type: ignore[no-untyped-def]
    return sum((abs(q) * prices[k[2]] for k, q in positions.items() if member(k)), Decimal(0))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_no_approved_order_breaks_a_limit(case) -> None:  # type: ignore[no-untyped-def]
    limits, equity, peak, day_start, prices, positions, orders = case
    engine = RiskEngine(limits)
    k = drawdown_scale(equity, peak, Decimal("0.1"), Decimal("0.2"))
    frac = limits.dec
    daily_breached = (day_start - equity) / day_start >= frac("daily_loss_limit")
    for spec in orders:
        if spec["kill"] and not engine.kill_switch_engaged:
            engine.kill("property test")
        symbol, venue, strategy = spec["symbol"], spec["venue"], spec["strategy"]
        last = prices[symbol]
        price = None
        if spec["offset"] is not None:
            price = (last * (1 + spec["offset"])).quantize(Decimal("0.01"))
            price = max(price, Decimal("0.01"))
        request = OrderRequest(
            symbol=symbol,
            side=spec["side"],
            order_type=OrderType.LIMIT if price else OrderType.MARKET,
            quantity=spec["qty"],
            price=price,
            market=MarketType.STOCK if venue == "alpaca" else MarketType.LINEAR,
            strategy=strategy,
        )
        returns = spec["returns"]
        intent = OrderIntent(
            request=request,
            venue=venue,
            returns=ReturnDistribution(mean=returns[0], variance=returns[1]) if returns else None,
        )
        book = PortfolioState(
            equity=equity,
            peak_equity=peak,
            day_start_equity=day_start,
            positions=tuple(
                PositionExposure(
                    strategy=s,
                    venue=v,
                    symbol=y,
                    asset_class=VENUES[v],
                    quantity=q,
                    price=prices[y],
                )
                for (s, v, y), q in positions.items()
                if q != 0
            ),
        )
        mkt = market(str(last), symbol=symbol, age_s=spec["age"], vol=spec["vol"], base_vol=1.0)
        decision = engine.evaluate(intent, book, mkt, now=NOW)
        if not decision.approved:
            assert decision.order is None and decision.approved_quantity == 0
            continue
        q = decision.approved_quantity
        assert 0 < q <= spec["qty"]
        assert decision.action is (RiskAction.APPROVE if q == spec["qty"] else RiskAction.RESIZE)
        # fat-finger guards hold for every order, reducing or not
        ref = max(last, price) if price is not None else last
        assert spec["qty"] * ref <= frac("max_order_notional")
        if price is not None:
            assert abs(price - last) / last <= frac("price_band_pct")

        key = (strategy, venue, symbol)
        before = positions.get(key, Decimal(0))
        after = before + spec["side"].sign * q
        increased = abs(after) > abs(before) or (after * before < 0)
        positions[key] = after
        if not increased:
            assert decision.order.stop_loss is None  # a pure reduction gets no brackets
            continue
        # an order that adds risk passed: nothing may be halted or abnormal
        assert not engine.kill_switch_engaged
        assert not daily_breached
        assert spec["age"] <= limits.max_data_age_seconds
        assert spec["vol"] is None or spec["vol"] <= limits.max_volatility_ratio
        assert k > 0
        # brackets: exactly 2 % / 4 % from the reference price
        reference = price if price is not None else last
        sl, tp = decision.order.stop_loss, decision.order.take_profit
        if spec["side"] is OrderSide.BUY:
            assert (sl, tp) == (reference * Decimal("0.98"), reference * Decimal("1.04"))
        else:
            assert (sl, tp) == (reference * Decimal("1.02"), reference * Decimal("0.96"))
        # exposure groups, recomputed independently
        own = abs(after) * last
        checks = [
            (k * frac("max_position_fraction"), lambda kk, s=strategy: kk[0] == s),
            (k * frac("max_gross_exposure"), lambda kk: True),
        ]
        if VENUES[venue] in limits.max_asset_class_exposure:
            limit = Decimal(str(limits.max_asset_class_exposure[VENUES[venue]]))
            checks.append((limit, lambda kk, v=venue: VENUES[kk[1]] == VENUES[v]))
        if venue in limits.max_venue_exposure:
            checks.append(
                (Decimal(str(limits.max_venue_exposure[venue])), lambda kk, v=venue: kk[1] == v)
            )
        for limit_fraction, member in checks:
            assert _gross(positions, prices, member) <= limit_fraction * equity
        if returns is not None:
            assert returns[0] > 0
            kelly = Decimal(str(limits.kelly_fraction * returns[0] / returns[1]))
            assert own <= kelly * equity
