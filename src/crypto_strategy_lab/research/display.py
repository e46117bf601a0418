"""How research numbers are shown in tables and reports."""

from __future__ import annotations

import math
from typing import Any


def format_number(x: Any, spec: str = ".3f") -> str:
    """``format(x, spec)``; ``"n/a"`` for None or NaN, ``"∞"`` / ``"−∞"`` for infinities."""
    if x is None:
        return "n/a"
    x = float(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return format(x, spec)
