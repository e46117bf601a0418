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
    cpu_seconds: float | None = None
    baseline_cpu_seconds: float | None = None

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
        if self.cpu_seconds is not None and self.baseline_cpu_seconds is not None:
            # CPU time is what a busy machine's waiting for a core leaves out
            base += (
                f" (best CPU {self.cpu_seconds:.3f} s vs {self.baseline_cpu_seconds:.3f} s"
                f" -> x{self.baseline_cpu_seconds / self.cpu_seconds:.2f})"
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
    and report best and median of each, with the 1-minute load average at the end, and the best
    process CPU time of each (all threads: on a shared machine the wall time also holds the
    waits for a free core). One untimed call of each goes first (numba compilation, first-call
    caches)."""
    peer()
    ours()
    ours_t: list[float] = []
    peer_t: list[float] = []
    ours_cpu: list[float] = []
    peer_cpu: list[float] = []
    for _ in range(repeat):
        for func, sink, cpu in ((peer, peer_t, peer_cpu), (ours, ours_t, ours_cpu)):
            start, start_cpu = time.perf_counter(), time.process_time()
            func()
            sink.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return Measurement(
        name,
        min(ours_t),
        rows,
        min(peer_t),
        peer_name,
        median_seconds=statistics.median(ours_t),
        baseline_median_seconds=statistics.median(peer_t),
        load=os.getloadavg(),
        cpu_seconds=min(ours_cpu),
        baseline_cpu_seconds=min(peer_cpu),
    )
