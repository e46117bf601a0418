"""Exchange._read: the first try awaited inline, then retry_read's backoff, same outcomes."""

from __future__ import annotations

import pytest

from crypto_strategy_lab.core.errors import ExchangeUnavailable, InvalidOrder, RateLimitExceeded
from crypto_strategy_lab.exchanges.base import UnreadableReply
from crypto_strategy_lab.exchanges.retry import RetryPolicy
from crypto_strategy_lab.exchanges.simulated.client import SimulatedExchange


def _scripted(outcomes: list[object]):  # type: ignore[no-untyped-def]
    """A read that raises or returns the next outcome on each call, counting calls."""
    calls = []

    async def call() -> object:
        outcome = outcomes[len(calls)]
        calls.append(outcome)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return call, calls


@pytest.fixture
def venue() -> SimulatedExchange:
    return SimulatedExchange(retry_policy=RetryPolicy(attempts=3, base=0.0, cap=0.0))


@pytest.mark.parametrize(
    "first",
    [KeyError("orderId"), ExchangeUnavailable("502", venue="x"), RateLimitExceeded("10006")],
)
async def test_a_failed_first_try_is_retried(venue, first) -> None:
    call, calls = _scripted([first, "ok"])
    assert await venue._read("get_balance", call) == "ok"
    assert len(calls) == 2


async def test_transient_errors_are_retried_up_to_the_policy_then_the_last_is_raised(venue) -> None:
    errors = [ExchangeUnavailable(f"down {i}", venue="x") for i in range(3)]
    call, calls = _scripted([*errors, "never"])
    with pytest.raises(ExchangeUnavailable, match="down 2"):
        await venue._read("get_balance", call)
    assert len(calls) == 3


async def test_an_unreadable_reply_every_time_ends_as_unreadable_reply_with_its_cause(
    venue,
) -> None:
    call, calls = _scripted([KeyError("a"), ValueError("b"), TypeError("c"), "never"])
    with pytest.raises(UnreadableReply, match="get_positions: unreadable reply") as info:
        await venue._read("get_positions", call)
    assert isinstance(info.value.__cause__, TypeError) and len(calls) == 3


async def test_a_non_transient_error_is_raised_at_once(venue) -> None:
    call, calls = _scripted([InvalidOrder("no", venue="x"), "never"])
    with pytest.raises(InvalidOrder):
        await venue._read("get_order", call)
    assert len(calls) == 1
    single = SimulatedExchange(retry_policy=RetryPolicy(attempts=1))
    call, calls = _scripted([KeyError("a"), "never"])
    with pytest.raises(UnreadableReply) as info:
        await single._read("get_order", call)
    assert isinstance(info.value.__cause__, KeyError) and len(calls) == 1


async def test_the_read_is_called_with_its_arguments_on_every_try(venue) -> None:
    seen = []

    async def call(symbol: str, market: str) -> str:
        seen.append((symbol, market))
        if len(seen) < 3:
            raise ExchangeUnavailable("502", venue="x")
        return f"{symbol}/{market}"

    assert await venue._read("get_positions", call, "BTCUSDT", "linear") == "BTCUSDT/linear"
    assert seen == [("BTCUSDT", "linear")] * 3
