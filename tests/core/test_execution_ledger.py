"""The average-cost ledger, the exits and the liquidation price against independent references.

The ledger (:func:`average_entry`, :func:`realised_pnl`) is checked against cash-flow
accounting: whatever the method of averaging, the P&L realised so far plus the open
position's P&L at any mark equals the cash the fills moved plus the position's value at that
mark. Longs, shorts, reversals and fractional quantities all go through it.
"""

from __future__ import annotations

import numpy as np
import pytest

from crypto_strategy_lab.core import execution as ex


@pytest.mark.parametrize("seed", range(4))
def test_the_ledger_agrees_with_cash_flow_accounting(seed: int) -> None:
    gen = np.random.default_rng(seed)
    held, average, realised, cash = 0.0, 0.0, 0.0, 0.0
    sides = {"long": 0, "short": 0, "reversal": 0, "fraction": 0}
    for _ in range(400):
        # whole and fractional quantities, some closing exactly what is held
        delta = -held if gen.random() < 0.05 else gen.choice([1.0, 0.3]) * gen.uniform(-3, 3)
        price = gen.uniform(50.0, 150.0)
        realised += ex.realised_pnl(held, average, delta, price)
        average = ex.average_entry(held, average, delta, price)
        cash -= delta * price
        sides["reversal"] += (held + delta) * held < 0
        sides["fraction"] += abs(delta) < 1.0 and held * delta > 0
        held += delta
        sides["long" if held > 0 else "short"] += 1
        mark = gen.uniform(50.0, 150.0)
        assert realised + held * (mark - average) == pytest.approx(
            cash + held * mark, rel=1e-9, abs=1e-9
        )
    assert min(sides.values()) > 10  # every kind of fill was exercised


def test_closing_a_short_realises_entry_minus_exit() -> None:
    # short 2 at 100, buy back 0.5 at 90: 0.5 * (100 - 90) gained; the rest keeps its price
    assert ex.realised_pnl(-2.0, 100.0, 0.5, 90.0) == pytest.approx(5.0, rel=1e-15)
    assert ex.average_entry(-2.0, 100.0, 0.5, 90.0) == 100.0
    # adding 0.5 at 90 to the short re-averages: (2 * 100 + 0.5 * 90) / 2.5 = 98
    assert ex.average_entry(-2.0, 100.0, -0.5, 90.0) == pytest.approx(98.0, rel=1e-15)


def test_every_fill_kind_is_named_by_its_label() -> None:
    # the kernel reports a fill's kind as FILL_KINDS[kind]
    kinds = {
        ex.FILL_SIGNAL: "signal",
        ex.FILL_STOP_LOSS: "stop_loss",
        ex.FILL_TAKE_PROFIT: "take_profit",
        ex.FILL_LIQUIDATION: "liquidation",
    }
    assert len(kinds) == 4
    assert {k: ex.FILL_KINDS[k] for k in kinds} == kinds


@pytest.mark.parametrize("direction", [1, -1])
def test_a_disabled_take_profit_never_fills(direction: int) -> None:
    # no take-profit (level 0) and a stop the bar does not reach: the position stays open,
    # whichever way it faces and however far the bar moves in its favour
    stop = 50.0 if direction > 0 else 200.0
    for o, h, lo in [(100.0, 180.0, 60.0), (100.0, 101.0, 99.0), (120.0, 190.0, 55.0)]:
        assert ex.protective_exit(direction, stop, 0.0, o, h, lo, 0.001) == (ex.EXIT_NONE, 0.0)
        assert ex.protective_exit(direction, 0.0, 0.0, o, h, lo, 0.001) == (ex.EXIT_NONE, 0.0)


@pytest.mark.parametrize("quantity", [1.0, -1.0, 0.25, -3.0])
def test_liquidation_price_of_any_size(quantity: float) -> None:
    # a 4x position of `quantity` units at 100 on equity 25 |q|: cash net = E - q P
    m, equity = 0.005, 25.0 * abs(quantity)
    cash_net = equity - quantity * 100.0
    p = ex.liquidation_price(quantity, cash_net, m)
    assert p > 0.0
    assert cash_net + quantity * p == pytest.approx(m * abs(quantity) * p, rel=1e-12)
