"""The checks every user-given value passes, in one place.

Each check takes the value and the name the user knows it by (a CLI option such as
``--capital``, an environment variable such as ``DEFAULT_CAPITAL`` or a config field path such
as ``strategies.0.weight``) and raises :class:`~crypto_strategy_lab.core.errors.ConfigError`
naming it, so that every entry point reports bad input as one line that says which value is
wrong and why. The CLI applies them to options by flag (``cli.errors.OPTION_RULES``), settings
and config models call them from their validators.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from crypto_strategy_lab.core.errors import ConfigError

if TYPE_CHECKING:  # pandas loads in the commands that parse dates, not at CLI start-up
    import pandas as pd

PositiveFinite = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A pydantic float that must be finite and > 0 (capital, weights, durations)."""


def finite_number(
    value: Any,
    name: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> float:
    """``value`` as a finite float, optionally bounded below and above.

    Parameters
    ----------
    value : Any
        The value read (a number or its text; booleans are refused).
    name : str
        Its name in error messages.
    gt, ge, le : float, optional
        Bounds: ``> gt`` (or ``>= ge``) and ``<= le``.

    Returns
    -------
    float
        The number.

    Raises
    ------
    ConfigError
        When ``value`` is not a number, is NaN or infinite, or breaks the bound; the message
        names ``name``.
    """
    bound = f" > {gt:g}" if gt is not None else f" >= {ge:g}" if ge is not None else ""
    if le is not None:
        bound += f" and <= {le:g}" if bound else f" <= {le:g}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if (
        isinstance(value, bool)
        or not math.isfinite(number)
        or (gt is not None and not number > gt)
        or (ge is not None and not number >= ge)
        or (le is not None and not number <= le)
    ):
        raise ConfigError(f"{name} must be a finite number{bound}, got {value!r}")
    return number


def reject_non_finite(data: Any, where: str = "") -> None:
    """Refuse NaN and infinity anywhere in a parsed config tree (``capital: .inf``).

    No setting of this project means "unbounded" by infinity, so a non-finite float in a
    config file is always a typo or an attack on a limit.

    Parameters
    ----------
    data : Any
        The parsed tree (mappings, lists, scalars).
    where : str, default ""
        Dotted path of `data` in the tree, for the message.

    Raises
    ------
    ConfigError
        At the first NaN or infinity, naming its path (``risk.capital``).
    """
    if isinstance(data, float) and not math.isfinite(data):
        raise ConfigError(f"{where or '<root>'}: must be a finite number, got {data!r}")
    if isinstance(data, dict):
        for key, value in data.items():
            reject_non_finite(value, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            reject_non_finite(value, f"{where}.{i}" if where else str(i))


def parse_time_zone(text: str, name: str) -> ZoneInfo:
    """The IANA time zone ``text`` (``UTC``, ``America/New_York``).

    Parameters
    ----------
    text : str
        The zone name.
    name : str
        The option or field it came from, for the message.

    Returns
    -------
    zoneinfo.ZoneInfo
        The zone.

    Raises
    ------
    ConfigError
        If the zone is unknown.
    """
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(
            f"{name}: unknown time zone {text!r}; use an IANA name such as UTC or America/New_York"
        ) from None


def parse_timestamp(text: str, name: str) -> pd.Timestamp:
    """``text`` as a UTC timestamp (naive input is read as UTC).

    E.g. ``2024-01-01``, ``2024-01-01T12:00``, ``2024-01-01 12:00+02:00``.

    Parameters
    ----------
    text : str
        The date or time.
    name : str
        The option or field it came from, for the message.

    Returns
    -------
    pandas.Timestamp
        Timezone-aware, UTC.

    Raises
    ------
    ConfigError
        If `text` is not a date or time.
    """
    import pandas as pd

    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        ts = pd.NaT
    if pd.isna(ts):
        raise ConfigError(f"{name}: not a date or time: {text!r} (use e.g. 2024-01-01)")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def parse_database_url(text: str, name: str) -> str:
    """``text`` after checking it is a SQLAlchemy URL of a known dialect.

    E.g. ``sqlite:////abs/path.sqlite`` or ``postgresql+psycopg://user:pw@host/db``.

    Parameters
    ----------
    text : str
        The URL.
    name : str
        The variable or option it came from, for the message.

    Returns
    -------
    str
        `text` unchanged.

    Raises
    ------
    ConfigError
        If it is not a URL of a dialect SQLAlchemy knows; the message shows the URL with
        its password masked.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from crypto_strategy_lab.security.redaction import mask_credentials

    shown = mask_credentials(str(text))
    try:
        make_url(text).get_dialect()
    except ArgumentError:  # also NoSuchModuleError: an unknown dialect or driver
        raise ConfigError(
            f"{name}: not a database URL of a known dialect: {shown!r} (use e.g. "
            "sqlite:////abs/path/journal.sqlite or postgresql+psycopg://user@host/db)"
        ) from None
    except ImportError as exc:
        raise ConfigError(f"{name}: the database driver for {shown!r} is missing: {exc}") from None
    return text
