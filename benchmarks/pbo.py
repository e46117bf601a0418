"""PBO (CSCV) with BLAS limited to one thread around its tiny products, against BLAS's default.

``pbo_logits`` multiplies the ``(12,870 x 16)`` split selector by ``(16 x N)`` block sums: far too
small to share across threads, yet OpenBLAS wakes all its workers for it. The shipped code runs
the products under ``threadpoolctl`` with one BLAS thread; the baseline is the same call with
the limit removed (BLAS's default thread count), timed interleaved in the same run.

Run: ``python -m benchmarks pbo``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from threadpoolctl import threadpool_info

from benchmarks._util import Measurement, compare
from crypto_strategy_lab.validation import pbo


class _NoLimit:
    """Stands in for the BLAS controller: BLAS keeps its default threads (the old behaviour)."""

    def limit(self, **_: object) -> contextlib.nullcontext:
        return contextlib.nullcontext()


@contextlib.contextmanager
def _unlimited() -> Iterator[None]:
    shipped = pbo._blas
    pbo._blas = lambda: _NoLimit()
    try:
        yield
    finally:
        pbo._blas = shipped


def run() -> list[Measurement]:
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    print(f"BLAS: {blas}")
    out = []
    rng = np.random.default_rng(0)
    for t, n in ((8_760, 10), (8_760, 40), (2_000, 200)):
        x = rng.normal(0.0, 0.01, (t, n))

        def unlimited(x: np.ndarray = x) -> None:
            with _unlimited():
                pbo.pbo_logits(x)

        out.append(
            compare(
                f"pbo_logits T={t:,} N={n} (S=16)",
                lambda x=x: pbo.pbo_logits(x),
                unlimited,
                "default BLAS threads",
                t * n,
                repeat=15,
            )
        )
    return out
