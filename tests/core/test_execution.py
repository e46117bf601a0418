"""The execution arithmetic against closed forms (every expected number written out)."""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.core import execution as ex


def test_target_quantity_prices_the_side_it_trades() -> None:
    # w L E / (P (1 + f)) = 0.5 * 1 * 1000 / (100 * 1.001) = 4.995004995...
    k = 0.5 * 1000 / (100 * 1.001)
    assert ex.target_quantity(0.5, 1.0, 1000.0, 100.0, 0.01, 0.001, 0.0) == pytest.approx(
        k / 1.01, rel=1e-15
    )
    # from above the band the book sells, sized at P (1 - s)
    assert ex.target_quantity(0.5, 1.0, 1000.0, 100.0, 0.01, 0.001, 6.0) == pytest.approx(
        k / 0.99, rel=1e-15
    )
    # inside [k / (1 + s), k / (1 - s)] neither side is consistent: no trade
    assert ex.target_quantity(0.5, 1.0, 1000.0, 100.0, 0.01, 0.001, k) == k
    # a short target: selling from flat at P (1 - s)
    assert ex.target_quantity(-0.5, 1.0, 1000.0, 100.0, 0.01, 0.001, 0.0) == pytest.approx(
        -k / 0.99, rel=1e-15
    )
    assert ex.target_quantity(0.0, 1.0, 1000.0, 100.0, 0.01, 0.001, 3.0) == 0.0
    assert ex.target_quantity(1.0, 1.0, -5.0, 100.0, 0.01, 0.001, 3.0) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_target_quantity_side_always_matches_its_slippage(seed: int) -> None:
    gen = np.random.default_rng(seed)
    for _ in range(2000):
        w, held = gen.uniform(-1, 1), gen.uniform(-12, 12)
        s = gen.uniform(0, 0.01)
        q = ex.target_quantity(w, 1.0, 1000.0, 100.0, s, 0.00055, held)
        d = np.sign(q - held)
        if d != 0:  # the quantity is what the side's fill price buys: q (P (1 + d s)(1 + f)) = wLE
            assert q * 100.0 * (1 + d * s) * 1.00055 == pytest.approx(w * 1000.0, rel=1e-12)


def test_average_cost_ledger_after_partial_exit_and_reentry() -> None:
    # buy 10 @ 100, sell 5 @ 110 (average unchanged), buy 5 @ 120: (5 * 100 + 5 * 120) / 10
    a = ex.average_entry(0.0, 0.0, 10.0, 100.0)
    assert a == 100.0
    assert ex.realised_pnl(10.0, a, -5.0, 110.0) == pytest.approx(50.0)
    a = ex.average_entry(10.0, a, -5.0, 110.0)
    assert a == 100.0
    a = ex.average_entry(5.0, a, 5.0, 120.0)
    assert a == pytest.approx(110.0, rel=1e-15)
    # a flip starts the new side at the fill price; flat has no average
    assert ex.average_entry(10.0, 110.0, -15.0, 90.0) == 90.0
    assert ex.realised_pnl(10.0, 110.0, -15.0, 90.0) == pytest.approx(-200.0)
    assert ex.average_entry(10.0, 110.0, -10.0, 90.0) == 0.0


@pytest.mark.parametrize(
    ("o", "h", "lo", "how", "price"),
    [
        (99.0, 99.5, 97.5, ex.EXIT_STOP, 98.0 * 0.999),  # touch: the level, slipped
        (97.0, 97.5, 96.0, ex.EXIT_STOP, 97.0 * 0.999),  # gap: the open, slipped
        (101.0, 104.5, 101.0, ex.EXIT_TAKE_PROFIT_TOUCH, 104.0),  # limit touched: its level
        (105.0, 106.0, 104.5, ex.EXIT_TAKE_PROFIT_GAP, 105.0 * 0.999),  # crossed at the open
        (100.0, 104.5, 97.9, ex.EXIT_STOP, 98.0 * 0.999),  # both: the stop first
        (100.0, 103.0, 98.5, ex.EXIT_NONE, 0.0),
    ],
)
def test_protective_exit_on_a_bar_path(o, h, lo, how, price) -> None:  # type: ignore[no-untyped-def]
    sl, tp = ex.stop_levels(1, 100.0, 0.02, 0.04)
    assert (sl, tp) == pytest.approx((98.0, 104.0))
    got_how, got_price = ex.protective_exit(1, sl, tp, o, h, lo, 0.001)
    assert got_how == how
    assert got_price == pytest.approx(price, rel=1e-14)


def test_stop_exits_are_taker_and_touched_take_profits_maker() -> None:
    signal_fee, taker, maker = 0.0002, 0.00055, 0.0002
    assert ex.fee_rate(ex.FILL_SIGNAL, signal_fee, taker, maker, 0) == signal_fee
    assert ex.fee_rate(ex.FILL_STOP_LOSS, signal_fee, taker, maker, ex.EXIT_STOP) == taker
    tp = ex.FILL_TAKE_PROFIT
    assert ex.fee_rate(tp, signal_fee, taker, maker, ex.EXIT_TAKE_PROFIT_GAP) == taker
    assert ex.fee_rate(tp, signal_fee, taker, maker, ex.EXIT_TAKE_PROFIT_TOUCH) == maker
    assert ex.fee_rate(ex.FILL_LIQUIDATION, signal_fee, taker, maker, 0) == taker


def test_funding_instants_are_integer_exact() -> None:
    # 00:00, 08:00, 16:00 UTC: the bar (23:00, 00:00] holds one, (00:00, 01:00] none
    day = 86_400
    assert ex.funding_instants(day - 3_600, day) == 1
    assert ex.funding_instants(day, day + 3_600) == 0
    assert ex.funding_instants(day, 2 * day) == 3  # a daily bar: 08:00, 16:00, 24:00
    # far beyond 2262 (the nanosecond limit), exact in integer seconds
    far = 400 * 365 * day
    assert ex.funding_instants(far, far + 1000 * day) == 3000


def test_liquidation_price_is_where_equity_meets_maintenance_margin() -> None:
    # 3x long: 30 units at 100 on equity 1000 -> cash net of the position = 1000 - 3000
    q, cash, m = 30.0, -2000.0, 0.005
    p = ex.liquidation_price(q, cash, m)
    assert cash + q * p == pytest.approx(m * q * p, rel=1e-12)  # equity = maintenance margin
    assert p == pytest.approx(2000 / (30 * 0.995))
    # a 3x short: equity 1000 + proceeds 3000
    p_short = ex.liquidation_price(-30.0, 4000.0, m)
    assert 4000.0 - 30.0 * p_short == pytest.approx(m * 30.0 * p_short, rel=1e-12)
    # an unlevered long cannot be liquidated
    assert ex.liquidation_price(10.0, 0.0, m) == 0.0
    assert p == pytest.approx(67.00167504187604)
    assert ex.liquidation_fill(1, p, 60.0, 61.0, 55.0) == 60.0  # gap: at the open
    assert ex.liquidation_fill(1, p, 90.0, 91.0, 60.0) == pytest.approx(p)  # touch: the level
    assert ex.liquidation_fill(1, p, 90.0, 91.0, 80.0) == -1.0


@pytest.mark.parametrize("unit", [0.0, -1.0, float("nan")])
def test_scaled_levels_need_a_positive_unit(unit: float) -> None:
    # an ATR of 0 (a flat history) is no distance: no level, never the fraction rule
    assert ex.stop_levels(1, 100.0, 0.5, 0.8, unit, True) == (0.0, 0.0)
    assert ex.stop_levels(-1, 100.0, 2.0, 4.0, 1.5, True) == (103.0, 94.0)
    assert ex.stop_levels(1, 100.0, 0.5, 0.8, unit) == pytest.approx((50.0, 180.0))


@pytest.mark.parametrize("scaled", [False, True])
def test_a_zero_distance_disables_its_level_only(scaled: bool) -> None:
    # 0 disables a level (price 0: no bar reaches it), in either unit, and leaves the other
    unit, tp_at = (2.0, 108.0) if scaled else (0.0, 104.0)
    sl_at = 96.0 if scaled else 98.0
    far = (2.0, 4.0) if scaled else (0.02, 0.04)
    assert ex.stop_levels(1, 100.0, 0.0, far[1], unit, scaled) == pytest.approx((0.0, tp_at))
    assert ex.stop_levels(1, 100.0, far[0], 0.0, unit, scaled) == pytest.approx((sl_at, 0.0))
    assert ex.stop_levels(-1, 100.0, 0.0, 0.0, unit, scaled) == (0.0, 0.0)
