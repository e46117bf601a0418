"""The drift report: a paper/live run against the backtest of the same period.

For a journaled run the report rebuilds what the research side would have predicted — the
same strategies and parameters, the same bars (the run's recorded data source and period),
the same costs, sizing and stop levels — with
:func:`~crypto_strategy_lab.backtest.run_backtest`, and compares, per strategy:

* **signals** — the run's journaled target weights against the backtest's signal on the same
  bars (number of changes, largest absolute difference);
* **fills** — number of executions in the run against the backtest's round trips;
* **slippage** — the run's realised slippage of its signal orders, ``sgn(side) (p_fill /
  open - 1)`` in basis points of the fill bar's open, against the cost model's assumption;
* **P&L** — the run's total return against the backtest's, the largest gap between the two
  equity curves, and the correlation of their per-bar returns.

A replay run should show (near) zero drift (the parity test bounds it); a live run's drift is
the price of reality: latency, real spreads, partial fills, funding timing and outages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.strategies import get_strategy


class DriftError(CSLError):
    """A run the drift report cannot rebuild (unknown run, no recorded data source)."""


@dataclass(frozen=True)
class DriftReport:
    run_id: str
    table: pd.DataFrame  # one row per strategy plus "portfolio"
    equity: pd.DataFrame  # run vs backtest equity on the run's bars

    def to_text(self) -> str:
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            return f"drift report for run {self.run_id}\n{self.table.to_string()}"


def _bars_for(config: dict) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp, str]:
    data = config.get("data") or {}
    source = data.get("source")
    if not source:
        raise DriftError("the run's config records no data source; cannot rebuild its backtest")
    from crypto_strategy_lab.engine.paper import FULL_HISTORY, load_replay_data

    full = load_replay_data(
        1, source=source, warmup_bars=FULL_HISTORY, read=data.get("read")
    ).bars
    start, end = pd.Timestamp(data["start"]), pd.Timestamp(data["end"])
    return full[full.index <= end], start, end, data.get("timeframe", "15min")


def drift_report(journal: Journal, run_id: str) -> DriftReport:
    """Compare run ``run_id`` with the backtest of its period (see module docstring)."""
    run = journal.get_run(run_id)
    if run is None:
        raise DriftError(f"no run {run_id!r} in the journal")
    config = run.config
    bars, start, _end, timeframe = _bars_for(config)
    window = bars[bars.index >= start]
    costs = CostModel(**config.get("costs", {}))
    limits = config.get("limits", {})
    n = len(run.strategies)
    capital = float(run.capital)
    allocation = config.get("allocation", {})
    market = config.get("market", "linear")
    step = pd.Timedelta(timeframe)

    signals = pd.DataFrame(
        [(s.strategy, s.ts, s.strength) for s in _signals(journal, run_id)],
        columns=["strategy", "ts", "strength"],
    )
    fills = journal.fills(run_id)
    rows = []
    bt_equity = pd.Series(0.0, index=window.index)
    for name in run.strategies:
        strategy = get_strategy(name, config.get("strategies", {}).get(name))
        fraction = (
            float(allocation.get(name, 0.0)) if isinstance(allocation, dict) else float(allocation)
        )
        signal = strategy.compute(bars)["signal"].reindex(window.index)
        bt = run_backtest(
            signal,
            window,
            costs=costs,
            sizing=max(fraction * n, 1e-12),
            market=market,
            stop_loss=limits.get("stop_loss_pct", 0.02),
            take_profit=limits.get("take_profit_pct", 0.04),
            initial_capital=capital / n,
        )
        bt_equity = bt_equity + bt.equity
        ours = signals[signals.strategy == name]
        labels = pd.DatetimeIndex(ours.ts) - step
        expected = bt.signal.reindex(labels).to_numpy()
        sig_gap = (
            float(np.nanmax(np.abs(ours.strength.to_numpy() - expected))) if len(ours) else 0.0
        )
        mine = [f for f in fills if f.strategy == name]
        slips = [
            (1 if f.side == "BUY" else -1)
            * (float(f.price) / window.open.asof(pd.Timestamp(f.ts)) - 1)
            * 1e4
            for f in mine
            if f.client_order_id and f.client_order_id.startswith("csl-")
        ]
        rows.append(
            {
                "strategy": name,
                "signal_changes_run": len(ours),
                "signal_changes_backtest": int((bt.signal.diff().fillna(bt.signal) != 0).sum()),
                "max_signal_gap": sig_gap,
                "fills_run": len(mine),
                "round_trips_backtest": len(bt.trades),
                "slippage_bps_run": float(np.mean(slips)) if slips else float("nan"),
                "slippage_bps_model": costs.slippage_bps,
                "return_backtest": float(bt.equity.iloc[-1] / (capital / n) - 1),
            }
        )
    equity = journal.equity_frame(run_id)["equity"]
    run_eq = equity[~equity.index.duplicated(keep="last")]
    run_on_bars = run_eq.reindex(window.index + step).to_numpy()
    frame = pd.DataFrame({"run": run_on_bars, "backtest": bt_equity.to_numpy()}, index=window.index)
    both = frame.dropna()
    table = pd.DataFrame(rows).set_index("strategy")
    run_ret = float(run_eq.iloc[-1] / capital - 1) if len(run_eq) else float("nan")
    table.loc["portfolio", "return_backtest"] = float(bt_equity.iloc[-1] / capital - 1)
    table["return_run"] = np.nan
    table.loc["portfolio", "return_run"] = run_ret
    table.loc["portfolio", "max_equity_gap"] = float((both.run - both.backtest).abs().max())
    returns = both.pct_change().dropna()
    table.loc["portfolio", "return_correlation"] = (
        float(returns.run.corr(returns.backtest)) if len(returns) > 2 else float("nan")
    )
    return DriftReport(run_id, table, frame)


def _signals(journal: Journal, run_id: str) -> list:
    from sqlalchemy import select

    from crypto_strategy_lab.journal.models import SignalRecord

    with journal.session() as session:
        return list(
            session.scalars(
                select(SignalRecord).where(SignalRecord.run_id == run_id).order_by(SignalRecord.id)
            )
        )


__all__ = ["DriftError", "DriftReport", "drift_report"]
