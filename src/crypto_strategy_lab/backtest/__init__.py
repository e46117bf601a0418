"""The backtest engine: target weights -> fills with fees, slippage, funding and stops.

What comes out: returns, trades, equity.

Public API::

    from crypto_strategy_lab.backtest import run_backtest, run_backtest_sweep
    result = run_backtest(strategy_or_signal, bars, market="perp", stop_loss=0.02)
    result.returns, result.equity, result.trades, result.positions, result.stats

The fill model, sizing and stop semantics are documented in :mod:`.kernel` and :mod:`.engine`.
"""

from crypto_strategy_lab.backtest.engine import BacktestError, run_backtest
from crypto_strategy_lab.backtest.result import BacktestResult
from crypto_strategy_lab.backtest.sweep import SweepResult, run_backtest_sweep

__all__ = [
    "BacktestError",
    "BacktestResult",
    "SweepResult",
    "run_backtest",
    "run_backtest_sweep",
]
