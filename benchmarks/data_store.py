"""Store write + read of N 1-minute bars and a DuckDB resample to 1h, against plain pandas.

Baselines (same data, same run): ``DataFrame.to_parquet`` for the write, ``pandas.read_parquet``
for the read, and ``pandas.read_parquet`` + ``DataFrame.resample("1h").agg(...)`` for the
resample. ``CSL_BENCH_ROWS`` sets N (default 10,000,000).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._util import Measurement, best_time
from crypto_strategy_lab.data.store import DataStore
from crypto_strategy_lab.data.synthetic import bars_from_returns, gbm_returns

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def run() -> list[Measurement]:
    n = int(os.environ.get("CSL_BENCH_ROWS", "10000000"))
    bars = bars_from_returns(gbm_returns(n, sigma=5e-4, seed=1), freq="1min", seed=2)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.parquet"
        t_base_w, _ = best_time(lambda: bars.to_parquet(plain, compression="zstd"), repeat=1)

        def write() -> None:
            store = DataStore(Path(tmp) / "store")
            store.path_for("bench", "BTC/USDT", "1m").unlink(missing_ok=True)
            store.write(bars, "bench", "BTC/USDT", "1m")

        t_w, _ = best_time(write, repeat=1)
        out.append(Measurement("store.write (validate + atomic parquet)", t_w, n, t_base_w,
                               "DataFrame.to_parquet"))  # fmt: skip
        store = DataStore(Path(tmp) / "store")
        t_base_r, _ = best_time(lambda: pd.read_parquet(plain), repeat=2)
        t_r, got = best_time(lambda: store.read("bench", "BTC/USDT", "1m"), repeat=2)
        assert len(got) == n
        out.append(Measurement("store.read (DuckDB)", t_r, n, t_base_r, "pandas.read_parquet"))
        t_base_rs, ref = best_time(
            lambda: pd.read_parquet(plain).resample("1h").agg(AGG).dropna(), repeat=2
        )
        t_rs, ours = best_time(lambda: store.resample("bench", "BTC/USDT", "1m", "1h"), repeat=2)
        assert len(ours) == len(ref) and np.allclose(ours["close"], ref["close"])
        out.append(Measurement("store.resample 1m->1h (DuckDB)", t_rs, n, t_base_rs,
                               "read_parquet + resample"))  # fmt: skip
    return out
