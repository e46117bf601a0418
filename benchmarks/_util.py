"""Shared timing helpers for the benchmarks: best-of-``repeat`` wall time, interleaved runs
against a peer (best and median of each, with the load average) and a result row."""

from __future__ import annotations

import os
import statistics
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
    median_seconds: float | None = None
    baseline_median_seconds: float | None = None
    load: tuple[float, float, float] | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    @property
    def speedup(self) -> float | None:
        """Baseline time / our time (> 1 means faster than the baseline)."""
        return None if self.baseline_seconds is None else self.baseline_seconds / self.seconds

    @property
    def median_speedup(self) -> float | None:
        """Baseline median / our median."""
        if self.median_seconds is None or self.baseline_median_seconds is None:
            return None
        return self.baseline_median_seconds / self.median_seconds

    def line(self) -> str:
        base = ""
        if self.speedup is not None:
            base = (
                f"  vs {self.baseline_name}: {self.baseline_seconds:.3f} s "
                f"-> speedup x{self.speedup:.2f}"
            )
        if self.median_speedup is not None:
            base += (
                f" (median {self.median_seconds:.3f} s vs {self.baseline_median_seconds:.3f} s"
                f" -> x{self.median_speedup:.2f})"
            )
        if self.load is not None:
            base += f"  [load {self.load[0]:.2f}]"
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


def compare(
    name: str,
    ours: Callable[[], Any],
    peer: Callable[[], Any],
    peer_name: str,
    rows: int,
    repeat: int = 5,
) -> Measurement:
    """Time ``ours`` and ``peer`` alternately ``repeat`` times each (so both see the same load)
    and report best and median of each, with the 1-minute load average at the end. One untimed
    call of each goes first (numba compilation, first-call caches)."""
    peer()
    ours()
    ours_t: list[float] = []
    peer_t: list[float] = []
    for _ in range(repeat):
        for func, sink in ((peer, peer_t), (ours, ours_t)):
            start = time.perf_counter()
            func()
            sink.append(time.perf_counter() - start)
    return Measurement(
        name,
        min(ours_t),
        rows,
        min(peer_t),
        peer_name,
        median_seconds=statistics.median(ours_t),
        baseline_median_seconds=statistics.median(peer_t),
        load=os.getloadavg(),
    )
