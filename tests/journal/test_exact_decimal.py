"""``exact_decimal`` against an independent rule: round half-even to 18 places in exact
rational arithmetic, written as the plain decimal without trailing zeros. Its results are
memoised by value, so a second call, and a call with an equal value written differently
(``1.50`` for ``1.5``), must give the same."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from crypto_strategy_lab.journal.types import exact_decimal


def _reference(value: Decimal) -> str:
    scaled = round(Fraction(value) * 10**18)  # Fraction rounds half to even
    whole, frac = divmod(abs(scaled), 10**18)
    digits = f"{frac:018d}".rstrip("0")
    sign = "-" if scaled < 0 else ""
    return sign + str(whole) + ("." + digits if digits else "")


def _padded(value: Decimal) -> Decimal:
    """The same number with three more trailing zeros in its coefficient."""
    sign, digits, exponent = value.as_tuple()
    return Decimal((sign, (*digits, 0, 0, 0), int(exponent) - 3))


@given(
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: abs(d) < Decimal(10) ** 19
    )
)
def test_exact_decimal_rounds_half_even_to_18_places(value: Decimal) -> None:
    expected = _reference(value)
    assert format(exact_decimal(value), "f") == expected
    assert format(exact_decimal(value), "f") == expected  # memoised
    assert format(exact_decimal(_padded(value)), "f") == expected


def test_exact_decimal_of_ties_zeros_and_integers() -> None:
    for text, expected in [
        ("0.0000000000000000005", "0"),  # a tie rounds to the even neighbour
        ("0.0000000000000000015", "0.000000000000000002"),
        ("-0.0000000000000000025", "-0.000000000000000002"),
        ("-0", "0"),
        ("0E-40", "0"),
        ("1E+2", "100"),
        ("1.500", "1.5"),
    ]:
        assert format(exact_decimal(Decimal(text)), "f") == expected == _reference(Decimal(text))
    assert exact_decimal(7) == Decimal(7) and exact_decimal("0.10") == Decimal("0.1")
