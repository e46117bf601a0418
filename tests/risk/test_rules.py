"""Each rule at its boundary: just inside passes, just outside resizes or rejects.

Defaults: equity 10 000, price 100, so the 10 % strategy cap is 10 units and the 50 % heat
is 50 units of notional-100 positions.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from crypto_strategy_lab.core.enums import MarketType, OrderSide
from crypto_strategy_lab.risk import OrderIntent, RiskAction, RiskEngine, RiskLimits
from crypto_strategy_lab.risk.engine import RiskError
from crypto_strategy_lab.risk.sizing import drawdown_scale, kelly_fraction
from tests.risk.helpers import NOW, book, intent, market, pos

D = Decimal
LIMITS = RiskLimits(max_position_fraction=0.1)


def decide(order, portfolio=None, mkt=None, limits=LIMITS, engine=None):  # type: ignore[no-untyped-def]
    engine = engine or RiskEngine(limits)
    return engine.evaluate(order, portfolio or book(), mkt or market(), now=NOW)


def test_defaults_follow_the_brief() -> None:
    limits = RiskLimits()
    assert limits.max_position_fraction == 0.1  # MAX_POSITION_SIZE default
    assert limits.max_gross_exposure == 0.5
    assert (limits.stop_loss_pct, limits.take_profit_pct) == (0.02, 0.04)
    assert limits.daily_loss_limit == 0.05
    assert limits.drawdown_derisk_start == 0.10


@pytest.mark.parametrize("name", ["stop_loss_pct", "take_profit_pct"])
@pytest.mark.parametrize("value", [0.0, 1.0, 1.5, -0.02])
def test_bracket_fractions_are_bounded_to_the_open_unit_interval(name: str, value: float) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=f"{name} must be a fraction strictly between 0"):
        RiskLimits(**{name: value})
    assert getattr(RiskLimits(**{name: 0.999}), name) == 0.999


def test_deployment_risk_overrides_are_checked_when_the_config_loads() -> None:
    from pydantic import ValidationError

    from crypto_strategy_lab.engine.deployment import DeploymentConfig

    with pytest.raises(
        ValidationError, match=r"risk\.take_profit_pct: take_profit_pct .*between 0"
    ):
        DeploymentConfig(
            name="demo",
            capital=1000,
            strategies=[{"name": "vpin", "venue": "simulated", "symbol": "BTCUSDT"}],
            risk={"take_profit_pct": 1.5},
        )


def test_position_cap_default_reads_max_position_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from crypto_strategy_lab.config.settings import get_settings

    monkeypatch.setenv("MAX_POSITION_SIZE", "0.05")
    get_settings.cache_clear()
    try:
        assert RiskLimits().max_position_fraction == 0.05
    finally:
        get_settings.cache_clear()


def test_position_cap_boundary() -> None:
    assert decide(intent("10")).action is RiskAction.APPROVE
    over = decide(intent("10.00000001"))
    assert over.action is RiskAction.RESIZE
    assert over.approved_quantity == D("10")
    assert over.rule == "position_cap"


def test_position_cap_counts_the_strategys_other_positions() -> None:
    other = pos("4", symbol="ETHUSDT", price="100")  # 400 of the 1000 cap used
    decision = decide(intent("7"), book(positions=(other,)))
    assert decision.approved_quantity == D("6")
    # another strategy's positions do not count against s1's cap
    foreign = pos("4", symbol="ETHUSDT", strategy="s2")
    assert decide(intent("10"), book(positions=(foreign,))).action is RiskAction.APPROVE


def test_a_strategys_positions_are_matched_by_name_not_by_object() -> None:
    # names reach the risk engine from configs, the journal and the venue as distinct string
    # objects: an equal name built at run time is the same strategy
    s1 = "".join(["s", "1"])
    other = pos("4", symbol="ETHUSDT", strategy=s1)
    assert decide(intent("7"), book(positions=(other,))).approved_quantity == D("6")
    # at 15 % drawdown the de-risked cap (5 % of 8500 = 425) counts the same 400 as well
    derisked = decide(intent("7"), book("8500", peak="10000", positions=(other,)))
    assert derisked.rule == "drawdown_derisk"
    assert derisked.approved_quantity == D("0.25")


def test_portfolio_heat_boundary() -> None:
    others = tuple(pos("9", symbol=f"X{i}", strategy=f"o{i}") for i in range(5))  # 4500
    assert decide(intent("5"), book(positions=others)).action is RiskAction.APPROVE
    over = decide(intent("5.00000001"), book(positions=others))
    assert over.approved_quantity == D("5") and over.rule == "portfolio_heat"


def test_brackets_attached_to_entries_from_the_reference_price() -> None:
    long = decide(intent("1"), mkt=market("200"))
    assert long.order.stop_loss == D("196") and long.order.take_profit == D("208")
    short = decide(intent("1", OrderSide.SELL), mkt=market("200"))
    assert short.order.stop_loss == D("204") and short.order.take_profit == D("192")
    limit = decide(intent("1", price="101"), mkt=market("100"))
    assert limit.order.stop_loss == D("98.98") and limit.order.take_profit == D("105.04")


def test_reducing_orders_get_no_brackets() -> None:
    decision = decide(intent("3", OrderSide.SELL), book(positions=(pos("5"),)))
    assert decision.action is RiskAction.APPROVE
    assert decision.order.stop_loss is None and decision.order.take_profit is None


def test_daily_loss_boundary_and_reducing_still_allowed() -> None:
    just_below = book("9500.01", day_start="10000", peak="10000")
    assert decide(intent("1"), just_below).action is RiskAction.APPROVE
    at_limit = book("9500", day_start="10000", peak="10000", positions=(pos("5"),))
    halted = decide(intent("1"), at_limit)
    assert halted.action is RiskAction.HALT and halted.rule == "daily_loss_limit"
    reduce = decide(intent("2", OrderSide.SELL), at_limit)
    assert reduce.action is RiskAction.APPROVE


def test_daily_loss_halt_sticks_for_the_day_only() -> None:
    engine = RiskEngine(LIMITS)
    decide(intent("1"), book("9400", day_start="10000"), engine=engine)
    recovered = book("9900", day_start="10000")
    assert decide(intent("1"), recovered, engine=engine).action is RiskAction.HALT
    from datetime import timedelta

    tomorrow = NOW + timedelta(days=1)
    mkt = market().model_copy(update={"timestamp": tomorrow})
    next_day = engine.evaluate(intent("1"), book("9900"), mkt, now=tomorrow)
    assert next_day.action is RiskAction.APPROVE


def test_drawdown_schedule() -> None:
    start, full = D("0.10"), D("0.20")
    assert drawdown_scale(D("9000"), D("10000"), start, full) == 1
    assert drawdown_scale(D("8500"), D("10000"), start, full) == D("0.5")
    assert drawdown_scale(D("8000"), D("10000"), start, full) == 0
    # at 15 % drawdown the strategy cap is 5 % of equity 8500 = 425 -> 4.25 units
    decision = decide(intent("10"), book("8500", peak="10000", day_start="8500"))
    assert decision.rule == "drawdown_derisk"
    assert decision.approved_quantity == D("4.25")
    just_inside = decide(intent("8.99"), book("9000", peak="10000", day_start="9000"))
    assert just_inside.action is RiskAction.APPROVE  # 10 % drawdown: full size (cap 9 units)
    beyond = decide(intent("1"), book("7999", peak="10000", day_start="7999"))
    assert beyond.action is RiskAction.REJECT


def test_drawdown_derisk_names_the_drawdown_and_stays_silent_at_the_peak() -> None:
    # 12.5 % below the peak: k = (0.20 - 0.125) / 0.10 = 0.75, cap 0.75 x 10 % x 8750 / 100
    shallow = decide(intent("10"), book("8750", peak="10000", day_start="8750"))
    assert shallow.rule == "drawdown_derisk"
    assert shallow.approved_quantity == D("6.5625")
    assert shallow.reason == "drawdown 12.50%: exposure limits scaled by 0.750"
    # at the peak (k = 1) the rule adds nothing: an oversized order is the position cap's alone
    at_peak = decide(intent("12"), book("10000"))
    assert at_peak.approved_quantity == D("10")
    assert [v.rule for v in at_peak.verdicts] == ["position_cap"]


def test_asset_class_and_venue_limits() -> None:
    limits = RiskLimits(
        max_position_fraction=0.1,
        max_asset_class_exposure={"equity": 0.2},
        max_venue_exposure={"bybit": 0.3},
    )
    stocks = tuple(
        pos("9", symbol=f"S{i}", strategy=f"o{i}", venue="alpaca", asset_class="equity")
        for i in range(2)
    )  # 1800 equity
    order = intent("2", symbol="AAPL", venue="alpaca", market=MarketType.STOCK)
    ok = decide(order, book(positions=stocks), market(symbol="AAPL"), limits)
    assert ok.action is RiskAction.APPROVE
    order = intent("2.01", symbol="AAPL", venue="alpaca", market=MarketType.STOCK)
    capped = decide(order, book(positions=stocks), market(symbol="AAPL"), limits)
    assert capped.rule == "asset_class_exposure" and capped.approved_quantity == D("2")
    crypto = tuple(pos("9", symbol=f"C{i}", strategy=f"o{i}") for i in range(3))  # 2700 bybit
    assert decide(intent("3"), book(positions=crypto), limits=limits).action is RiskAction.APPROVE
    venue = decide(intent("3.5"), book(positions=crypto), limits=limits)
    assert venue.rule == "venue_exposure" and venue.approved_quantity == D("3")


def test_fat_finger_notional_boundary() -> None:
    limits = RiskLimits(max_position_fraction=1, max_gross_exposure=10, max_order_notional=500)
    assert decide(intent("5"), limits=limits).action is RiskAction.APPROVE
    over = decide(intent("5.01"), limits=limits)
    assert over.action is RiskAction.REJECT and over.rule == "max_order_notional"


def test_price_band_boundary() -> None:
    assert decide(intent("1", price="105")).action is RiskAction.APPROVE
    assert decide(intent("1", OrderSide.SELL, price="95")).action is RiskAction.APPROVE
    over = decide(intent("1", price="105.01"))
    assert over.action is RiskAction.REJECT and over.rule == "price_band"
    # a fat finger is refused even when it would reduce a position
    reducing = decide(intent("1", OrderSide.SELL, price="94.99"), book(positions=(pos("5"),)))
    assert reducing.action is RiskAction.REJECT


def test_kelly_sizing() -> None:
    assert kelly_fraction(0.001, 0.0004) == pytest.approx(2.5)
    # half Kelly of f* = 0.001 / 0.02 = 0.05 -> 2.5 % of 10 000 = 250 -> 2.5 units
    decision = decide(intent("5", returns=(0.001, 0.02)))
    assert decision.rule == "kelly_sizing" and decision.approved_quantity == D("2.5")
    assert decide(intent("2.5", returns=(0.001, 0.02))).action is RiskAction.APPROVE
    # a huge edge is still capped by the strategy cap
    assert decide(intent("50", returns=(0.01, 0.0001))).approved_quantity == D("10")
    no_edge = decide(intent("1", returns=(-0.001, 0.02)))
    assert no_edge.action is RiskAction.REJECT and no_edge.rule == "kelly_sizing"
    assert no_edge.reason == "Kelly fraction -0.0500 <= 0: no edge, no new position"


def test_stale_data_boundary() -> None:
    assert decide(intent("1"), mkt=market(age_s=300)).action is RiskAction.APPROVE
    stale = decide(intent("1"), mkt=market(age_s=300.5))
    assert stale.action is RiskAction.REJECT and stale.rule == "stale_data"
    exit_ok = decide(intent("1", OrderSide.SELL), book(positions=(pos("1"),)), market(age_s=999))
    assert exit_ok.action is RiskAction.APPROVE


def test_volatility_spike_boundary() -> None:
    assert decide(intent("1"), mkt=market(vol=0.03, base_vol=0.01)).approved
    spike = decide(intent("1"), mkt=market(vol=0.0301, base_vol=0.01))
    assert spike.action is RiskAction.REJECT and spike.rule == "volatility_spike"


def test_wide_spread_boundary() -> None:
    # spread / mid: 0.5 / 100 = 0.5 % (the limit)
    assert decide(intent("1"), mkt=market(bid="99.75", ask="100.25")).approved
    wide = decide(intent("1"), mkt=market(bid="99.7", ask="100.3"))
    assert wide.action is RiskAction.REJECT and wide.rule == "wide_spread"


def test_crossed_book_is_refused_and_a_locked_book_is_not() -> None:
    # a crossed quote (ask below bid) has a negative spread, which the width check alone passes
    crossed = decide(intent("1"), mkt=market(bid="100.01", ask="100"))
    assert crossed.action is RiskAction.REJECT and crossed.rule == "wide_spread"
    assert crossed.reason == "crossed or empty book: bid 100.01, ask 100"
    # a locked quote (ask equal to bid) is a zero spread, not a broken book
    assert decide(intent("1"), mkt=market(bid="100", ask="100")).approved
    for bid in ("0", "-0.5"):
        empty = decide(intent("1"), mkt=market(bid=bid, ask="100"))
        assert empty.action is RiskAction.REJECT and "empty book" in empty.reason
    # a one-sided quote (no ask yet) is not judged by the spread rule
    assert decide(intent("1"), mkt=market(bid="100")).approved
    assert decide(intent("1"), mkt=market(ask="100")).approved
    # a quote below one unit of currency is a real book (the bid is only refused at <= 0)
    assert decide(intent("1"), mkt=market("0.1", bid="0.0999", ask="0.1")).approved


def test_kill_switch_halts_new_risk_but_allows_flattening() -> None:
    engine = RiskEngine(LIMITS)
    engine.kill("test")
    assert decide(intent("1"), engine=engine).action is RiskAction.HALT
    flip = decide(intent("8", OrderSide.SELL), book(positions=(pos("5"),)), engine=engine)
    assert flip.action is RiskAction.RESIZE and flip.approved_quantity == D("5")
    engine.rearm("ok", actor="dana")
    assert decide(intent("1"), engine=engine).action is RiskAction.APPROVE


def test_flip_is_capped_on_the_new_side() -> None:
    # long 5, sell 20: close 5, then at most 10 short (cap) -> 15
    decision = decide(intent("20", OrderSide.SELL), book(positions=(pos("5"),)))
    assert decision.approved_quantity == D("15")
    assert decision.order.stop_loss == D("102")  # the new short gets its brackets


def test_limits_validate() -> None:
    with pytest.raises(ValueError, match="drawdown_derisk_full"):
        RiskLimits(drawdown_derisk_start=0.2, drawdown_derisk_full=0.1)


@pytest.mark.parametrize("held", ["-5", "5"])
def test_position_cap_boundary_grows_a_short_like_a_long(held: str) -> None:
    # a 5-unit position of either sign may grow to the 10-unit cap and not beyond: the room
    # is the cap minus |position| (a mutant using the signed position lets -5 grow to -15)
    side = OrderSide.SELL if held.startswith("-") else OrderSide.BUY
    book_ = book(positions=(pos(held),))
    assert decide(intent("5", side), book_).action is RiskAction.APPROVE
    over = decide(intent("5.00000001", side), book_)
    assert over.action is RiskAction.RESIZE and over.approved_quantity == D("5")
    assert over.rule == "position_cap"
    assert decide(intent("10", side), book_).approved_quantity == D("5")


def test_portfolio_heat_boundary_for_a_short() -> None:
    limits = RiskLimits(max_position_fraction=1.0, max_gross_exposure=0.5)
    short = book(positions=(pos("-45"),))  # 4 500 of the 5 000 heat
    assert decide(intent("5", OrderSide.SELL), short, limits=limits).action is RiskAction.APPROVE
    over = decide(intent("6", OrderSide.SELL), short, limits=limits)
    assert over.approved_quantity == D("5") and over.rule == "portfolio_heat"


def test_new_risk_halt_is_one_state_in_the_risk_engine() -> None:
    engine = RiskEngine(LIMITS)
    engine.halt_new_risk("reconciliation mismatch")
    halted = decide(intent("1"), engine=engine)
    assert halted.action is RiskAction.HALT and halted.rule == "engine_halt"
    reduce = decide(intent("8", OrderSide.SELL), book(positions=(pos("5"),)), engine=engine)
    assert reduce.action is RiskAction.RESIZE and reduce.approved_quantity == D("5")
    engine.clear_new_risk_halt()
    assert decide(intent("1"), engine=engine).action is RiskAction.APPROVE


def test_reduce_only_orders_are_approved_through_every_halt() -> None:
    engine = RiskEngine(LIMITS)
    engine.kill("test")
    engine.halt_new_risk("venue query failed")
    exit_ = intent("3", OrderSide.SELL).request.with_quantities(quantity=D("3"))
    exit_ = exit_.model_copy(update={"reduce_only": True})
    decision = engine.approve_reduce_only(OrderIntent(request=exit_, venue="bybit"), D("100"))
    assert decision.action is RiskAction.APPROVE and decision.rule == "reduce_only"
    assert decision.approved_quantity == D("3")
    with pytest.raises(RiskError, match="not reduce-only"):
        engine.approve_reduce_only(intent("1"), D("100"))
