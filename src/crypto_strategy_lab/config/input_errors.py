"""The one line a user sees for an input that cannot be read, for the CLI and the dashboard.

A :class:`~crypto_strategy_lab.core.errors.CSLError` is our own words; a known family of input
errors raised by a library while reading what the user gave (a corrupt Parquet file, a file
that is not UTF-8, a database URL SQLAlchemy cannot parse, an unreadable SQLite file, ...) gets
a short label. Anything else is a bug, not bad input, and has no line here (the CLI reports it
as a bug).

It sits in ``config`` (the user-input layer, above ``security``) because every line goes
through the one redaction, below both the CLI and the dashboard, which word errors alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.security.redaction import redact


def _input_error_families() -> list[tuple[type[BaseException], str]]:
    """``(exception class, label)`` for library errors that mean "this input is unreadable".

    Built on first use so that importing the CLI does not import pyarrow or SQLAlchemy.
    """
    import json
    from decimal import InvalidOperation
    from zoneinfo import ZoneInfoNotFoundError

    import pandas.errors
    import pyarrow
    import sqlalchemy.exc
    import yaml
    from pydantic import ValidationError

    return [
        (UnicodeError, "not UTF-8 text"),
        (OSError, "file problem"),
        (ValidationError, "invalid value"),
        (yaml.YAMLError, "not valid YAML"),
        (pyarrow.ArrowException, "unreadable Arrow/Parquet data"),
        (pandas.errors.ParserError, "unreadable table"),
        (pandas.errors.EmptyDataError, "empty table"),
        (pandas.errors.OutOfBoundsDatetime, "date out of range"),
        (ZoneInfoNotFoundError, "unknown time zone"),
        (sqlalchemy.exc.ArgumentError, "bad database URL"),
        (sqlalchemy.exc.DatabaseError, "unreadable journal database"),
        (json.JSONDecodeError, "not valid JSON"),
        (InvalidOperation, "not a number"),
    ]


def describe_error(exc: BaseException, secrets: Iterable[str] = ()) -> str | None:
    """The one line a user sees for ``exc``, or ``None`` when it is not a known input error.

    Parameters
    ----------
    exc
        The exception raised while handling the user's input.
    secrets
        Secret values (the configured keys) that must not appear in the line.

    Returns
    -------
    str or None
        ``"<Class>: <message>"`` for a ``CSLError``, ``"<label>: <Class>: <message>"`` for a
        known library input error, on one line, with every secret and every URL credential
        masked; ``None`` for anything else.
    """
    if isinstance(exc, CSLError):
        text = f"{type(exc).__name__}: {exc}"
    else:
        label = next((lab for cls, lab in _input_error_families() if isinstance(exc, cls)), None)
        if label is None:
            return None
        detail = getattr(exc, "orig", None) or exc  # SQLAlchemy: the driver's own message
        text = f"{label}: {type(exc).__name__}: {detail}"
    text = " ".join(str(text).split())  # one line, whatever the library put in
    return redact(text, secrets)
