"""The equity buffer refuses a point it could not store, at the call, and holds nothing of it."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto_strategy_lab.journal.equity import EQUITY_COLUMNS, EquityBuffer, encode_points
from crypto_strategy_lab.journal.types import JournalError, decimal_text

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _stored(buffer: EquityBuffer) -> dict[str, dict[str, list]]:  # type: ignore[type-arg]
    return {run: json.loads(zlib.decompress(row.points)) for row, _kind, run in buffer.drain()}


@pytest.mark.parametrize(
    "values",
    [
        (Decimal(1),) * (len(EQUITY_COLUMNS) - 1),
        (Decimal(1),) * (len(EQUITY_COLUMNS) + 1),
        (Decimal(1),) * (len(EQUITY_COLUMNS) - 1) + (Decimal("NaN"),),
    ],
)
def test_a_point_that_cannot_be_stored_fails_its_caller_and_is_not_held(values) -> None:  # type: ignore[no-untyped-def]
    buffer = EquityBuffer()
    good = tuple(Decimal(i) for i in range(len(EQUITY_COLUMNS)))
    buffer.add("run", T0, good)
    with pytest.raises(JournalError):
        buffer.add("run", T0 + timedelta(minutes=1), values)
    # the next point is compared with the last one held, not with the refused one
    buffer.add("run", T0 + timedelta(minutes=2), good)
    [points] = _stored(buffer).values()
    assert points["ts"] == [1767225600000000, 1767225720000000]
    for i, name in enumerate(EQUITY_COLUMNS):
        assert points[name] == [str(i), str(i)]
    assert not buffer


def test_the_stored_columns_are_each_points_texts_in_order() -> None:
    buffer = EquityBuffer()
    rows = [
        (Decimal("10.50"), Decimal(3), Decimal("-0"), Decimal("1E+2"), Decimal("0.1"), Decimal(k))
        for k in range(3)
    ]
    for k, row in enumerate(rows):
        buffer.add("a" if k < 2 else "b", T0 + timedelta(seconds=k), row)
    stored = _stored(buffer)
    assert stored["a"]["equity"] == ["10.5", "10.5"] and stored["b"]["equity"] == ["10.5"]
    assert stored["a"]["gross_exposure"] == ["0", "0"]
    assert stored["a"]["net_exposure"] == ["100", "100"]
    assert stored["a"]["unrealized_pnl"] == ["0", "1"] and stored["b"]["unrealized_pnl"] == ["2"]
    assert stored["a"]["ts"] == [1767225600000000, 1767225601000000]


_amounts = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d) < Decimal(10) ** 19
) | st.decimals(
    allow_nan=False, allow_infinity=False, places=24, min_value=-(10**6), max_value=10**6
)


@given(
    st.lists(
        st.tuples(st.integers(0, 10**9), st.tuples(*[_amounts] * len(EQUITY_COLUMNS))),
        min_size=1,
        max_size=30,
    )
)
def test_a_stored_block_is_the_canonical_json_of_its_columns(points) -> None:  # type: ignore[no-untyped-def]
    # the block's JSON is written by joining the columns' texts: it must be json.dumps' text
    buffer = EquityBuffer()
    for seconds, values in points:
        buffer.add("run", T0 + timedelta(seconds=seconds), values)
    [(row, _kind, _run)] = list(buffer.drain())
    content = json.loads(zlib.decompress(row.points))
    expected = json.dumps(content, sort_keys=True, separators=(",", ":"))
    assert zlib.decompress(row.points).decode("ascii") == expected
    assert content["equity"] == [decimal_text(values[0]) for _s, values in points]
    assert encode_points({name: [] for name in content}) == zlib.compress(
        json.dumps({name: [] for name in content}, sort_keys=True, separators=(",", ":")).encode(),
        1,
    )
