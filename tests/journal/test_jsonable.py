"""``jsonable`` copies plain JSON values as ``json.loads(canonical_json(value))`` gives them.

The reference is the round trip itself; the comparison is by ``json.dumps`` without sorting
(so key order, ``1`` vs ``1.0`` vs ``true`` and ``-0.0`` all count) and by equality.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto_strategy_lab.core.enums import OrderSide
from crypto_strategy_lab.journal.types import JournalError, canonical_json
from crypto_strategy_lab.journal.writer import jsonable

_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=8)
_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.just(-0.0)
    | _texts
    | st.decimals(allow_nan=False, allow_infinity=False, places=6)
    | st.datetimes(timezones=st.just(UTC))
    | st.sampled_from(list(OrderSide))
)
_values = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_texts, inner, max_size=4)
        | st.dictionaries(st.integers(-20, 20), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(_values)
def test_jsonable_is_the_canonical_round_trip(value: object) -> None:
    expected = json.loads(canonical_json(value))
    got = jsonable(value)
    assert json.dumps(got) == json.dumps(expected)
    assert got == expected


def test_a_statistics_dict_keeps_its_floats_with_sorted_keys() -> None:
    got = jsonable({"slow": 2.5, "fast": -0.0, "n": 3, "at": datetime(2024, 1, 1, tzinfo=UTC)})
    assert (
        json.dumps(got)
        == '{"at": "2024-01-01T00:00:00.000000+00:00", "fast": 0.0, "n": 3, "slow": 2.5}'
    )
    assert jsonable([{"q": Decimal("1.50")}]) == [{"q": "1.5"}]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {"x": [float("-inf")]}])
def test_a_non_finite_float_cannot_be_journaled(bad: object) -> None:
    with pytest.raises(JournalError, match="non-finite"):
        jsonable(bad)
