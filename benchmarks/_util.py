"""Shared timing helper for the benchmarks: best-of-``repeat`` wall time and a result row."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measurement:
    """One timed operation: name, best wall time, rows processed and the baseline's time."""

    name: str
    seconds: float
    rows: int
    baseline_seconds: float | None = None
    baseline_name: str | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    @property
    def speedup(self) -> float | None:
        """Baseline time / our time (> 1 means faster than the baseline)."""
        return None if self.baseline_seconds is None else self.baseline_seconds / self.seconds

    def line(self) -> str:
        base = ""
        if self.speedup is not None:
            base = (
                f"  vs {self.baseline_name}: {self.baseline_seconds:.3f} s "
                f"-> speedup x{self.speedup:.2f}"
            )
        return (
            f"{self.name:<44} {self.seconds:8.3f} s  {self.rows_per_second / 1e6:8.2f} M rows/s"
            f"{base}"
        )


def best_time(func: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls (perf_counter) and the last call's result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result
