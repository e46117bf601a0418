"""Column types that keep journal values exact, and the canonical encoding the audit chain hashes.

* :class:`UTCDateTime` stores timezone-aware UTC timestamps. SQLite has no timezone type, so
  values are converted to UTC, stored naive and given ``tzinfo=UTC`` again on read; on
  PostgreSQL the column is ``TIMESTAMP WITH TIME ZONE``. Naive datetimes are refused (a
  journal must never guess a timezone).
* :class:`ExactDecimal` stores :class:`~decimal.Decimal` amounts exactly: ``NUMERIC(38, 18)``
  on PostgreSQL, the decimal's plain string on SQLite (SQLite's NUMERIC affinity would turn
  ``0.1`` into a binary float). Values are rounded half-even to 18 decimal places *before*
  they are stored and before they are hashed, so both backends and the audit hash agree.
* :func:`canonical_json` is the one byte encoding of a record that the audit chain hashes:
  sorted keys, no whitespace, decimals as normalised plain strings, datetimes as ISO 8601 UTC
  with microseconds.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal
from enum import Enum
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

from crypto_strategy_lab.core.errors import CSLError

DECIMAL_PLACES = 18
_QUANTUM = Decimal(1).scaleb(-DECIMAL_PLACES)
_WORKING = Context(prec=80)
_EXACT: dict[Decimal, Decimal] = {}
_EXACT_SIZE = 4096
_INTEGER_DIGITS = 20  # NUMERIC(38, 18): 38 digits, 18 of them after the point


class JournalError(CSLError):
    """A journal write or read broke a journal rule (append-only, state machine, types)."""


def exact_decimal(value: Decimal | int | str) -> Decimal:
    """``value`` as a finite :class:`Decimal` rounded to 18 decimal places, normalised.

    Parameters
    ----------
    value : Decimal or int or str
        The amount. An ``int`` or ``str`` is read through ``Decimal(str(value))``, so
        ``'0.1'`` is exactly one tenth (pass text, not a float, for exact amounts).

    Returns
    -------
    Decimal
        The same number with at most ``DECIMAL_PLACES`` (18) fractional digits, trailing
        zeros removed and never in exponent form (``Decimal('1E+2')`` becomes ``100``); zero
        is ``Decimal(0)`` whatever its sign or exponent.

    Raises
    ------
    JournalError
        If ``value`` is not finite (NaN, sNaN or an infinity).

    Notes
    -----
    More than 18 fractional digits are rounded half to even (banker's rounding) in an
    80-digit context, wide enough for the 38 digits of ``NUMERIC(38, 18)``. Results are
    memoised by numeric value, so equal inputs return the same object.
    """
    dec = value if isinstance(value, Decimal) else Decimal(str(value))
    if not dec.is_finite():
        raise JournalError(f"journal amounts must be finite decimals, got {value!r}")
    # The result depends on the numeric value only, and a journaled amount passes here
    # several times (the record, its column, its audit payload), so results are memoised
    # by value; the memo is emptied when it fills, which bounds its memory.
    known = _EXACT.get(dec)
    if known is not None:
        return known
    if len(_EXACT) >= _EXACT_SIZE:
        _EXACT.clear()
    _EXACT[dec] = result = _exact(dec)
    return result


def _exact(dec: Decimal) -> Decimal:
    # The default context keeps 28 digits; NUMERIC(38, 18) holds 38, so work wider (an
    # explicit context: a ``localcontext`` block costs more than the arithmetic).
    if dec.as_tuple().exponent < -DECIMAL_PLACES:  # type: ignore[operator]
        dec = dec.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN, context=_WORKING)
    if dec == 0:
        return Decimal(0)
    normal = dec.normalize(_WORKING)
    # normalize() may produce an exponent form (1E+2); rescale to a plain integer then.
    if normal.as_tuple().exponent > 0:  # type: ignore[operator]
        normal = normal.quantize(Decimal(1), context=_WORKING)
    return normal


def decimal_text(value: Decimal) -> str:
    """The plain (never scientific) string of an exact decimal, e.g. ``'0.1'``, ``'100'``.

    Parameters
    ----------
    value : Decimal
        The amount; it goes through :func:`exact_decimal` first.

    Returns
    -------
    str
        ``format(exact_decimal(value), "f")``: no exponent, no trailing fractional zeros.

    Raises
    ------
    JournalError
        If ``value`` is not finite.
    """
    if type(value) is Decimal and value.is_finite():
        # The engine encodes several amounts per bar (an equity point: four that change every
        # bar, most with more than 18 places: quantity x price): work on the text str()
        # prints, which is plain unless it has an "E", has no leading zeros and at most one
        # "-". Rounding is done only when there are more than 18 places; the text then is what
        # exact_decimal's rounding and normalising would print (held equal by a property
        # test), else the general path below decides (exponent forms, > 20 integer digits).
        text = str(value)
        if "E" not in text:
            point = text.find(".")
            if point < 0:
                point = len(text)
            elif len(text) - point > DECIMAL_PLACES + 1:
                text = str(value.quantize(_QUANTUM, ROUND_HALF_EVEN, _WORKING)).rstrip("0")
            else:
                text = text.rstrip("0")
            if text[-1] == ".":
                text = text[:-1]
            # integer digits before rounding; a carry may add one (9.99..95 -> 10): below the
            # bound by one, the rounded text is within it
            if point - (text[0] == "-") < _INTEGER_DIGITS:
                return "0" if text == "-0" else text
    return format(exact_decimal(value), "f")


# A stored decimal text that is already canonical: no leading zeros, no trailing fractional
# zeros, at most 18 decimal places and 38 digits (so exact_decimal would return it unchanged).
_CANONICAL_TEXT = re.compile(r"-?(?:0|[1-9][0-9]{0,19})(?:\.[0-9]{0,17}[1-9])?")


def stored_decimal_text(stored: Any) -> str:
    """:func:`decimal_text` of a decimal as SQLite stores it (its text).

    The text itself when it is already canonical, which every value the journal wrote is (the
    verifier reads hundreds of thousands of them).

    Parameters
    ----------
    stored : Any
        The column value as read back from SQLite: normally its text, but anything that
        ``Decimal(str(stored))`` accepts (an int, a float, a Decimal).

    Returns
    -------
    str
        The canonical text, equal to ``decimal_text(Decimal(str(stored)))``.

    Raises
    ------
    JournalError
        If the stored value is not a finite decimal.
    """
    if isinstance(stored, str) and stored != "-0" and _CANONICAL_TEXT.fullmatch(stored):
        return stored
    return decimal_text(Decimal(str(stored)))


# How SQLAlchemy stores a (naive UTC) timestamp in SQLite: always with microseconds.
_STORED_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}")


def stored_time_json(stored: Any) -> str:
    """:func:`canonical_json` of a :class:`UTCDateTime` as SQLite stores it (naive UTC text).

    Rewritten as text when it has the stored form (``'2024-03-01 12:00:00.000000'`` ->
    ``'"2024-03-01T12:00:00.000000+00:00"'``), parsed otherwise.

    Parameters
    ----------
    stored : str or datetime
        The column value as read back: ISO text or a :class:`~datetime.datetime`; a naive
        value is taken to be UTC.

    Returns
    -------
    str
        The JSON string literal (quotes included) that :func:`canonical_json` gives for the
        aware UTC time.
    """
    if isinstance(stored, str) and _STORED_TIME.fullmatch(stored):
        return '"' + stored[:10] + "T" + stored[11:] + '+00:00"'
    value = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return canonical_json(value if value.tzinfo else value.replace(tzinfo=UTC))


def utc(value: datetime) -> datetime:
    """``value`` converted to UTC; naive datetimes are refused.

    Parameters
    ----------
    value : datetime
        A timezone-aware time in any zone.

    Returns
    -------
    datetime
        The same instant with ``tzinfo=UTC``.

    Raises
    ------
    JournalError
        If ``value`` is naive (no ``tzinfo`` or a ``tzinfo`` without an offset).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise JournalError(f"journal timestamps must be timezone-aware, got naive {value}")
    return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC.

    Returns
    -------
    datetime
        ``datetime.now(UTC)`` (wall clock, microsecond resolution).
    """
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (see module docstring)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """``value`` in UTC, naive on SQLite; a naive ``value`` is refused.

        Parameters
        ----------
        value : datetime or None
            The aware time to store; None stores SQL NULL.
        dialect : Dialect
            The SQLAlchemy dialect of the connection.

        Returns
        -------
        datetime or None
            ``value`` in UTC, with ``tzinfo`` removed on SQLite (which has no zone); None
            for None.

        Raises
        ------
        JournalError
            If ``value`` is naive.
        """
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The stored time as aware UTC (a naive stored time is UTC).

        Parameters
        ----------
        value : datetime or None
            The value the driver returned; None for SQL NULL.
        dialect : Dialect
            The SQLAlchemy dialect of the connection (unused: every backend is handled
            by whether ``value`` carries a zone).

        Returns
        -------
        datetime or None
            The aware UTC time, or None.
        """
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal amount: ``NUMERIC(38, 18)`` on PostgreSQL, text on SQLite."""

    impl = Numeric(38, DECIMAL_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Text on SQLite (exact), ``NUMERIC(38, DECIMAL_PLACES)`` elsewhere.

        Parameters
        ----------
        dialect : Dialect
            The SQLAlchemy dialect of the connection.

        Returns
        -------
        TypeEngine
            ``String(64)`` on SQLite (whose NUMERIC is a float), else
            ``Numeric(38, 18, asdecimal=True)``.
        """
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(38, DECIMAL_PLACES, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """``value`` as an exact decimal; its plain text on SQLite.

        Parameters
        ----------
        value : Decimal or int or str or None
            The amount to store; None stores SQL NULL.
        dialect : Dialect
            The SQLAlchemy dialect of the connection.

        Returns
        -------
        Decimal or str or None
            :func:`exact_decimal` of ``value``; on SQLite its plain ``"f"`` text.

        Raises
        ------
        JournalError
            If ``value`` is not finite.
        """
        if value is None:
            return None
        dec = exact_decimal(value)
        return format(dec, "f") if dialect.name == "sqlite" else dec

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """The stored value as an exact decimal.

        Parameters
        ----------
        value : Any
            The value the driver returned (text on SQLite, Decimal elsewhere); None for
            SQL NULL.
        dialect : Dialect
            The SQLAlchemy dialect of the connection (unused).

        Returns
        -------
        Decimal or None
            :func:`exact_decimal` of ``Decimal(str(value))``, or None.
        """
        if value is None:
            return None
        return exact_decimal(Decimal(str(value)))


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return utc(value).isoformat(timespec="microseconds")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, float):
        # repr round-trips exactly; non-finite floats have no JSON form
        if value != value or value in (float("inf"), float("-inf")):
            raise JournalError(f"non-finite float {value!r} cannot be journaled")
        # ``+ 0.0`` maps -0.0 to 0.0 (IEEE 754: -0 + +0 = +0): SQLite returns a stored -0.0
        # as 0.0, so the audit content of a record must not depend on the sign of zero
        return float(value) + 0.0
    return value


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value`` (sorted keys, compact, exact decimals, UTC times).

    Parameters
    ----------
    value : Any
        Decimals (as exact plain text, :func:`decimal_text`), aware datetimes (UTC ISO 8601
        with microseconds), enums (their value), finite floats, and str/int/bool/None, in
        dicts (string keys) and lists/tuples.

    Returns
    -------
    str
        ``json.dumps`` of the encoded value with sorted keys, ``(",", ":")`` separators and
        ASCII escapes: the text the audit chain hashes.

    Raises
    ------
    JournalError
        For a non-finite decimal or float, or a naive datetime.

    Notes
    -----
    A flat dict of string keys -- every journal record's payload -- is written out directly,
    one value at a time with :func:`json.dumps`' own string escaping, instead of building an
    encoded copy for ``json.dumps`` (the journal encodes one such payload per record, one per
    bar for the equity curve). ``tests/journal/test_canonical_json.py`` holds the two paths
    equal on generated values.
    """
    if type(value) is dict and all(type(key) is str for key in value):
        return (
            "{"
            + ",".join(
                f"{encode_basestring_ascii(key)}:{canonical_json_value(item)}"
                for key, item in sorted(value.items())
            )
            + "}"
        )
    return _generic_json(value)


def _generic_json(value: Any) -> str:
    return json.dumps(_encode(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def canonical_json_value(value: Any) -> str:
    """The canonical JSON text of one value, as :func:`canonical_json` writes it inside a record.

    Parameters
    ----------
    value : Any
        A decimal, str, None, int, bool, aware datetime, finite float, string-keyed dict or
        list/tuple of these (anything else goes through :func:`canonical_json`'s generic
        encoder).

    Returns
    -------
    str
        The value's JSON text: decimals as quoted :func:`decimal_text`, datetimes as quoted
        UTC ISO 8601 with microseconds, ``-0.0`` as ``0.0``.

    Raises
    ------
    JournalError
        For a non-finite decimal or float, or a naive datetime.
    """
    kind = type(value)
    if kind is Decimal:
        return f'"{decimal_text(value)}"'
    if kind is str:
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is datetime:
        return f'"{utc(value).isoformat(timespec="microseconds")}"'
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise JournalError(f"non-finite float {value!r} cannot be journaled")
        return float.__repr__(value + 0.0)  # as _encode: json's repr, -0.0 as 0.0
    if kind is dict:  # nested (an exchange audit event's request): the same fast path
        return canonical_json(value)
    if kind is list or kind is tuple:
        return "[" + ",".join([canonical_json_value(item) for item in value]) + "]"
    return _generic_json(value)
