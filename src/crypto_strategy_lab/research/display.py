"""How research numbers are shown in tables and reports."""

from __future__ import annotations

import math
from typing import Any


def format_number(x: Any, spec: str = ".3f") -> str:
    """A number as a table cell.

    Parameters
    ----------
    x : Any
        A number, or anything ``float()`` accepts; ``None`` is shown as missing.
    spec : str, default ".3f"
        The format spec of a finite value.

    Returns
    -------
    str
        ``format(float(x), spec)``; ``"n/a"`` for None or NaN, ``"∞"`` / ``"−∞"`` (with
        U+2212 MINUS SIGN) for infinities.

    Raises
    ------
    TypeError, ValueError
        If `x` is neither None nor convertible by ``float()``.
    """
    if x is None:
        return "n/a"
    x = float(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return format(x, spec)
