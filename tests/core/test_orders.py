"""OrderRequest validation, the order lifecycle and the Signal -> order path."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from crypto_strategy_lab.core import (
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    Signal,
    SignalAction,
)
from crypto_strategy_lab.core.orders import (
    ALLOWED_TRANSITIONS,
    CLIENT_ORDER_ID_PATTERN,
    new_client_order_id,
)
from crypto_strategy_lab.core.signal import size_from_capital


def _order(**kw):
    base = dict(
        symbol="BTCUSDT", side=OrderSide.BUY, order_type=OrderType.MARKET, quantity=Decimal("0.01")
    )
    base.update(kw)
    return OrderRequest(**base)


def test_brief_example_constructs_with_generated_client_id():
    order = _order()
    assert order.quantity == Decimal("0.01")
    assert CLIENT_ORDER_ID_PATTERN.match(order.client_order_id)
    assert len(order.client_order_id) <= 36
    assert _order().client_order_id != order.client_order_id


@pytest.mark.parametrize("qty", [Decimal(0), Decimal("-1"), Decimal("NaN"), Decimal("Infinity")])
def test_quantity_must_be_positive_finite(qty):
    with pytest.raises(ValidationError, match="quantity"):
        _order(quantity=qty)


def test_limit_needs_price_and_market_refuses_one():
    with pytest.raises(ValidationError, match="limit price"):
        _order(order_type=OrderType.LIMIT)
    with pytest.raises(ValidationError, match="no limit price"):
        _order(price=Decimal(100))
    assert _order(order_type=OrderType.LIMIT, price=Decimal("45000")).price == Decimal("45000")


def test_stop_orders_need_trigger():
    with pytest.raises(ValidationError, match="stop_price"):
        _order(order_type=OrderType.STOP)
    with pytest.raises(ValidationError, match="stop_price"):
        _order(order_type=OrderType.STOP_LIMIT, price=Decimal(1))


def test_attached_stop_loss_side_is_checked():
    with pytest.raises(ValidationError, match="stop_loss"):
        _order(order_type=OrderType.LIMIT, price=Decimal(100), stop_loss=Decimal(101))
    with pytest.raises(ValidationError, match="take_profit"):
        _order(
            side=OrderSide.SELL,
            order_type=OrderType.LIMIT,
            price=Decimal(100),
            take_profit=Decimal(101),
        )
    ok = _order(
        order_type=OrderType.LIMIT,
        price=Decimal(100),
        stop_loss=Decimal(98),
        take_profit=Decimal(104),
    )
    assert (ok.stop_loss, ok.take_profit) == (Decimal(98), Decimal(104))


def test_bad_client_order_id_rejected():
    with pytest.raises(ValidationError, match="client_order_id"):
        _order(client_order_id="has space")
    with pytest.raises(ValidationError, match="client_order_id"):
        _order(client_order_id="x" * 37)
    assert len(new_client_order_id("a-very-long-prefix-for-testing")) <= 36


def test_post_only_only_for_limit():
    with pytest.raises(ValidationError, match="post_only"):
        _order(post_only=True)


def test_order_is_immutable_and_copy_revalidates():
    order = _order()
    with pytest.raises(ValidationError):
        order.quantity = Decimal(1)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        order.with_quantities(quantity=Decimal(0))
    assert order.with_quantities(quantity=Decimal("0.02")).client_order_id == order.client_order_id


def _signal(strength, quantity=None):
    action = (
        SignalAction.BUY
        if strength > 0
        else SignalAction.SELL
        if strength < 0
        else (SignalAction.HOLD)
    )
    return Signal(
        strategy="lag_autocorr",
        symbol="BTCUSDT",
        timestamp=datetime.now(UTC),
        action=action,
        strength=strength,
        price=50_000.0,
        quantity=quantity,
    )


def test_signal_to_order_request():
    order = _signal(-0.5, Decimal("0.01")).to_order_request()
    assert order.side is OrderSide.SELL and order.quantity == Decimal("0.01")
    assert order.strategy == "lag_autocorr"
    with pytest.raises(ValueError, match="HOLD"):
        _signal(0.0).to_order_request()
    with pytest.raises(ValueError, match="no order quantity"):
        _signal(0.3).to_order_request()


@pytest.mark.parametrize("strength", [1.5, -1.01, float("nan")])
def test_signal_strength_bounded(strength):
    with pytest.raises(ValidationError):
        _signal(strength)


def test_size_from_capital_closed_form():
    # 0.5 * 0.1 * 10_000 = 500 USDT of notional at 50_000 -> 0.01 BTC
    assert size_from_capital(0.5, 50_000.0, 10_000.0, 0.1) == Decimal("0.01")
    # rounds down to 1e-8, never up
    assert size_from_capital(1.0, 3.0, 1.0, 0.1) == Decimal("0.03333333")
    assert size_from_capital(0.0, 1.0, 1.0, 0.1) is None
    assert size_from_capital(0.5, float("nan"), 1.0, 0.1) is None


def test_order_lifecycle_edges() -> None:
    # every edge spelled out (status names as the venues and the journal write them)
    edges = {
        "new": "submitted partially_filled filled cancelled rejected expired",
        "submitted": "partially_filled filled cancelled rejected expired",
        "partially_filled": "partially_filled filled cancelled expired",
        "filled": "",
        "cancelled": "",
        "rejected": "",
        "expired": "",
    }
    expected = {OrderStatus(a): {OrderStatus(b) for b in bs.split()} for a, bs in edges.items()}
    assert expected == ALLOWED_TRANSITIONS


def test_the_journal_checks_the_order_domains_lifecycle() -> None:
    # one state machine: the journal uses the order domain's table, it keeps no copy
    from crypto_strategy_lab.journal import orders, repository

    assert orders.ALLOWED_TRANSITIONS is ALLOWED_TRANSITIONS
    assert "ALLOWED_TRANSITIONS" not in repository.__all__


def test_a_status_is_terminal_exactly_when_the_state_machine_leaves_it_nowhere() -> None:
    from crypto_strategy_lab.core.enums import OrderStatus
    from crypto_strategy_lab.core.orders import ALLOWED_TRANSITIONS

    for status in OrderStatus:
        assert status.is_terminal == (not ALLOWED_TRANSITIONS.get(status)), status
