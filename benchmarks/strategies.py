"""Speed of the rolling kernels and of the 12 strategies' ``compute``.

Kernels: each rolling kernel runs on ``--n`` bars (default 1M) with a 256-bar window and is
compared with the naive approach (the reference library called on each window), timed on
``--sample`` windows and scaled to all windows. Prints windows/s and the speed-up.
Strategies: ``compute`` of every registered strategy on ``--n`` hourly bars (best and median
wall time, best CPU time, load average), with the total.

Run: ``.venv/bin/python benchmarks/strategies.py [--n 1000000] [--kernels-only]``.
Other kernels join by appending a :class:`Case` to ``CASES``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import antropy
import numpy as np
import statsmodels.api as sm
from arch.unitroot import VarianceRatio
from scipy import signal
from statsmodels.tsa.stattools import acf

from crypto_strategy_lab import stats

WINDOW = 256
#: Issue 16's absolute targets on 1M hourly bars (seconds): all 12 strategies, and the GARCH one.
TOTAL_TARGET = 5.0
VC_TARGET = 1.0


@dataclass(frozen=True)
class Case:
    """One rolling kernel against its naive per-window reference."""

    name: str
    rolling: Callable[[np.ndarray], object]  # whole series -> rolling result
    reference: Callable[[np.ndarray], object]  # one window -> one value
    reference_label: str


def _fisher_reference(w: np.ndarray) -> float:
    _, p = signal.periodogram(w)
    inner = p[1 : (w.size - 1) // 2 + 1]
    return stats.fisher_g_pvalue(inner.max() / inner.sum(), inner.size)


def _hac_reference(w: np.ndarray) -> float:
    ols = sm.OLS(w, np.ones_like(w)).fit(cov_type="HAC", cov_kwds={"maxlags": 5})
    return float(ols.tvalues[0])


CASES: list[Case] = [
    Case(
        "autocorrelations (10 lags)",
        lambda x: stats.rolling_autocorrelations(x, WINDOW, 10),
        lambda w: acf(w, nlags=10),
        "statsmodels acf",
    ),
    Case(
        "ljung_box (10 lags)",
        lambda x: stats.rolling_ljung_box(x, WINDOW, 10),
        lambda w: sm.stats.acorr_ljungbox(w, lags=[10]),
        "statsmodels acorr_ljungbox",
    ),
    Case(
        "variance_ratio (q=8, robust)",
        lambda x: stats.rolling_variance_ratio(x, WINDOW, 8),
        lambda w: VarianceRatio(np.r_[0.0, np.cumsum(w)], lags=8, robust=True).stat,
        "arch VarianceRatio",
    ),
    Case(
        "hurst R/S (Anis-Lloyd)",
        lambda x: stats.rolling_hurst_rs(x, WINDOW),
        stats.hurst_rs,
        "numpy one-shot (no library)",
    ),
    Case(
        "hurst DFA-1",
        lambda x: stats.rolling_hurst_dfa(x, WINDOW),
        stats.hurst_dfa,
        "numpy one-shot (no library)",
    ),
    Case(
        "drift HAC z (5 lags)",
        lambda x: stats.rolling_drift_test(x, WINDOW, hac_lags=5),
        _hac_reference,
        "statsmodels OLS HAC",
    ),
    Case(
        "fisher g peak test",
        lambda x: stats.rolling_fisher_g(x, WINDOW),
        _fisher_reference,
        "scipy periodogram + g",
    ),
    Case(
        "spectral entropy",
        lambda x: stats.rolling_spectral_entropy(x, WINDOW),
        lambda w: antropy.spectral_entropy(w, 1.0, method="fft", normalize=True),
        "antropy spectral_entropy",
    ),
]


# --- permutation entropy, GARCH, VPIN, wavelet energy, PACF, true range (issue 4, part B) ---


def _ohlc(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    close = 100.0 * np.exp(np.cumsum(x))
    return close * (1 + np.abs(x)), close * (1 - np.abs(x)), close


def _garch_reference(w: np.ndarray) -> float:
    from arch import arch_model

    res = arch_model(w * 100, mean="Constant", vol="GARCH", p=1, q=1, rescale=False).fit(disp="off")
    return float(res.conditional_volatility[-1])


def _vpin_rolling(x: np.ndarray) -> object:
    from crypto_strategy_lab.stats.vpin import bar_vpin

    return bar_vpin(100.0 * np.exp(np.cumsum(x)), 1.0 + np.abs(x) * 100, 2.0, 50, 100)


def _vpin_reference(w: np.ndarray) -> float:
    from crypto_strategy_lab.stats.vpin import bar_vpin

    return float(
        bar_vpin(100.0 * np.exp(np.cumsum(w)), 1.0 + np.abs(w) * 100, 2.0, 50, 100).vpin[-1]
    )


def _swt_reference(w: np.ndarray) -> np.ndarray:
    import pywt

    coefs = pywt.swt(w, "sym4", level=4, trim_approx=True, norm=True)
    return np.array([np.mean(c**2) for c in coefs])


def _atr_reference(w: np.ndarray) -> float:
    import pandas as pd

    h, lo, c = (pd.Series(a) for a in _ohlc(w))
    prev = c.shift(1)
    tr = pd.concat([h - lo, (h - prev).abs(), (lo - prev).abs()], axis=1).max(axis=1)
    return float(tr.ewm(alpha=1 / 14, adjust=False).mean().iloc[-1])


def _b_cases() -> list[Case]:
    import ordpy
    from statsmodels.tsa.stattools import pacf as sm_pacf

    from crypto_strategy_lab.stats.garch import rolling_garch11
    from crypto_strategy_lab.stats.pacf import rolling_pacf
    from crypto_strategy_lab.stats.permutation_entropy import rolling_permutation_entropy
    from crypto_strategy_lab.stats.true_range import average_true_range
    from crypto_strategy_lab.stats.wavelets import rolling_wavelet_variance

    return [
        Case(
            "permutation entropy (d=3)",
            lambda x: rolling_permutation_entropy(x, WINDOW, 3),
            lambda w: ordpy.permutation_entropy(w, dx=3),
            "ordpy permutation_entropy",
        ),
        Case(
            "GARCH(1,1) (refit every 2000)",
            lambda x: rolling_garch11(x, WINDOW, 2000),
            _garch_reference,
            "arch fit on every window",
        ),
        Case("VPIN (BVC, 50 buckets)", _vpin_rolling, _vpin_reference, "one-shot per window"),
        Case(
            "wavelet variance (sym4, J=4)",
            lambda x: rolling_wavelet_variance(x, WINDOW, "sym4", 4),
            _swt_reference,
            "pywt.swt per window",
        ),
        Case(
            "PACF (10 lags, Durbin-Levinson)",
            lambda x: rolling_pacf(x, WINDOW, 10),
            lambda w: sm_pacf(w, 10, method="ldb"),
            "statsmodels pacf ldb",
        ),
        Case(
            "ATR (Wilder, 14)",
            lambda x: average_true_range(*_ohlc(x), 14),
            _atr_reference,
            "pandas TR + ewm per window",
        ),
    ]


CASES.extend(_b_cases())


def bench_kernels(n: int, sample: int) -> None:
    x = np.random.default_rng(0).standard_normal(n) * 0.01
    windows = stats.sliding_windows(x, WINDOW)
    picks = np.random.default_rng(1).choice(windows.shape[0], sample, replace=False)
    n_win = windows.shape[0]
    print(f"rolling kernels: n={n:,} window={WINDOW} ({n_win:,} windows)")
    print(f"{'kernel':32s} {'fast s':>8s} {'win/s':>12s} {'naive s':>9s} {'speed-up':>9s}  naive")
    for case in CASES:
        case.rolling(x[: 10 * WINDOW])  # compile / warm caches outside the timing
        t0 = time.perf_counter()
        case.rolling(x)
        fast = time.perf_counter() - t0
        case.reference(np.array(windows[0]))  # the reference's lazy imports: warm it too
        t0 = time.perf_counter()
        for i in picks:
            case.reference(np.array(windows[i]))
        naive = (time.perf_counter() - t0) / sample * n_win
        print(
            f"{case.name:32s} {fast:8.2f} {n_win / fast:12,.0f} {naive:9.0f} "
            f"{naive / fast:8.0f}x  {case.reference_label}"
        )


def bench_strategies(n: int, repeat: int = 3) -> None:
    """``compute`` of each strategy ``repeat`` times: best and median wall time and the best
    CPU time of this process (``time.process_time``, which a loaded machine inflates less),
    with the load average. The target is absolute (all 12 < 5 s, volatility_clustering < 1 s),
    so the CPU column is the one to read on a shared machine."""
    import os
    import statistics

    from crypto_strategy_lab.data.synthetic import gbm_bars
    from crypto_strategy_lab.strategies import get_strategy, list_strategies

    bars = gbm_bars(n, seed=3, freq="1h")
    print(f"\nstrategies: compute() on {n:,} hourly bars (default parameters), {repeat} runs")
    print(f"{'strategy':24s} {'best s':>8s} {'median s':>9s} {'cpu s':>8s}")
    totals = [0.0, 0.0, 0.0]
    rows = {}
    for name in list_strategies():
        strat = get_strategy(name)
        strat.compute(bars.iloc[: strat.warmup + 50])  # compile / null-moment caches
        walls, cpus = [], []
        for _ in range(repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            strat.compute(bars)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
        row = (min(walls), statistics.median(walls), min(cpus))
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        rows[name] = row
        print(f"{name:24s} {row[0]:8.2f} {row[1]:9.2f} {row[2]:8.2f}")
    print(f"{'total':24s} {totals[0]:8.2f} {totals[1]:9.2f} {totals[2]:8.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} (2 cores)")
    if n != 1_000_000:
        print("(the targets are for --n 1000000)")
        return
    for label, (best, median, cpu), target in (
        ("all strategies", totals, TOTAL_TARGET),
        ("volatility_clustering", rows.get("volatility_clustering", (0.0, 0.0, 0.0)), VC_TARGET),
    ):
        print(
            f"target {label} < {target:g} s: best wall {best / target:.2f}x, median wall"
            f" {median / target:.2f}x, cpu {cpu / target:.2f}x of the target"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=300, help="windows timed for the naive ref")
    parser.add_argument("--repeat", type=int, default=3, help="runs per strategy")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--kernels-only", action="store_true")
    group.add_argument("--strategies-only", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if not args.strategies_only:
        bench_kernels(args.n, args.sample)
    if not args.kernels_only:
        bench_strategies(args.n, args.repeat)


if __name__ == "__main__":
    main()
