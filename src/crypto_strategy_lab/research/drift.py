"""The drift report: a paper/live run against the backtest of the same period.

For a journaled run the report rebuilds what the research side would have predicted — the
same strategies and parameters, the same bars (the run's recorded data source and period),
the same costs, sizing and stop levels — with
:func:`~crypto_strategy_lab.backtest.run_backtest`, and compares, per strategy:

* **signals** — the run's journaled target weights against the backtest's signal on the same
  bars (number of changes, largest absolute difference);
* **fills** — number of executions in the run against the backtest's round trips;
* **costs by fill kind** — for signal orders, stop-loss and take-profit exits, liquidations
  and the kill-switch flatten: fills, mean slippage ``d (p / ref - 1)`` in basis points of
  the price each kind is priced from (the fill bar's open, the stop's trigger, the limit; the
  gapped open), and fees, run against backtest; funding for the whole run;
* **verdict** — ``no drift`` when fills, costs and equity agree within 1e-6 of capital;
* **P&L** — the run's total return against the backtest's, the largest gap between the two
  equity curves, and the correlation of their per-bar returns.

A replay run should show (near) zero drift (the parity test bounds it); a live run's drift is
the price of reality: latency, real spreads, partial fills, funding timing and outages.

It is research, not trading: it reads a finished run from the journal and backtests it, so it
sits beside the backtest and never imports the engine (the run's config records everything it
needs, down to how its data file was read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.backtest import run_backtest
from crypto_strategy_lab.core import execution
from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.data.loader import open_data
from crypto_strategy_lab.data.timeframes import as_timedelta
from crypto_strategy_lab.journal import Journal
from crypto_strategy_lab.strategies import get_strategy


class DriftError(CSLError):
    """A run the drift report cannot rebuild (unknown run, no recorded data source)."""


#: Costs below this fraction of capital count as no drift (the parity suite's tolerance).
NO_DRIFT = 1e-6
KIND_ORDER = ("signal", "stop_loss", "take_profit", "liquidation", "flatten", "funding")


@dataclass(frozen=True)
class DriftReport:
    """A paper/live run against the backtest of the same bars (``csl drift``).

    Attributes
    ----------
    run_id : str
        The run compared.
    table : pandas.DataFrame
        One row per strategy plus ``portfolio``.
    equity : pandas.DataFrame
        Run vs backtest equity on the run's bars.
    costs : pandas.DataFrame or None
        One row per (strategy, fill kind) and funding.
    verdict : str
        ``no drift``, or the largest gaps by name.
    """

    run_id: str
    table: pd.DataFrame  # one row per strategy plus "portfolio"
    equity: pd.DataFrame  # run vs backtest equity on the run's bars
    costs: pd.DataFrame | None = None  # one row per (strategy, fill kind) and funding
    verdict: str = ""

    def to_text(self) -> str:
        """The report as plain text: the table, the costs by fill kind and the verdict.

        Returns
        -------
        str
            A title line with the run id, the table (floats to 4 significant digits), then,
            when present, the costs by fill kind and the verdict, separated by blank lines.
        """
        with pd.option_context(
            "display.width", 160, "display.max_columns", 20, "display.float_format", "{:.4g}".format
        ):
            parts = [f"drift report for run {self.run_id}", self.table.to_string()]
            if self.costs is not None and len(self.costs):
                parts += ["", "costs by fill kind (run vs backtest)", self.costs.to_string()]
            if self.verdict:
                parts += ["", f"verdict: {self.verdict}"]
            return "\n".join(parts)


def fill_kind(order_type: str | None, reduce_only: bool) -> str:
    """The kind of a journaled fill, from its order.

    Parameters
    ----------
    order_type : str or None
        The journaled order's type (``"MARKET"``, ``"STOP"``, ``"LIMIT"``); ``None``: the
        venue created the order itself (no journaled order).
    reduce_only : bool
        Whether the order could only reduce the position.

    Returns
    -------
    str
        ``"signal"`` for an order that is not reduce-only (the target orders), for a
        reduce-only one ``"stop_loss"`` (a stop), ``"take_profit"`` (a limit) or
        ``"flatten"`` (any other type: the kill switch's market orders), and
        ``"liquidation"`` when `order_type` is None.
    """
    if order_type is None:
        return "liquidation"
    if not reduce_only:
        return "signal"
    if order_type == "STOP":
        return "stop_loss"
    if order_type == "LIMIT":
        return "take_profit"
    return "flatten"


def _slippage_bps(side: np.ndarray, price: np.ndarray, reference: np.ndarray) -> float:
    """Mean adverse slippage ``d (p / ref - 1)`` in basis points (positive costs money)."""
    if len(price) == 0:
        return float("nan")
    return float(np.mean(side * (price / reference - 1.0)) * 1e4)


def _run_fill_frame(journal: Journal, fills: list, window: pd.DataFrame) -> pd.DataFrame:
    """The run's fills with their kind and the reference price of their slippage.

    The reference is the fill bar's open for a signal order, the trigger (or the gapped open)
    for a stop, the limit (or the gapped open) for a take-profit, the fill price itself
    otherwise.
    """
    rows = []
    for f in fills:
        order = journal.order(f.client_order_id) if f.client_order_id else None
        kind = fill_kind(
            order.order_type if order is not None else None,
            bool(order.reduce_only) if order is not None else True,
        )
        ts = pd.Timestamp(f.ts)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
        side = 1 if f.side == "BUY" else -1
        price = float(f.price)
        bar = window.loc[ts] if ts in window.index else None
        reference = price
        if bar is not None and kind == "signal":
            reference = float(bar["open"])
        elif bar is not None and kind == "stop_loss" and order.stop_price is not None:
            reference = execution.stop_trigger_reference(
                side, float(order.stop_price), bar["open"], bar["high"], bar["low"]
            )
        elif bar is not None and kind == "take_profit" and order.price is not None:
            limit = float(order.price)
            crossed = side * (limit - float(bar["open"])) >= 0
            reference = float(bar["open"]) if crossed else limit
        rows.append((f.strategy, kind, side, float(f.quantity), price, float(f.fee), reference))
    return pd.DataFrame(
        rows, columns=["strategy", "kind", "side", "quantity", "price", "fee", "reference"]
    )


def _cost_rows(name: str, run: pd.DataFrame, bt: pd.DataFrame) -> list[dict]:
    out = []
    for kind in KIND_ORDER[:-1]:
        r, b = run[run.kind == kind], bt[bt.kind == kind]
        if not len(r) and not len(b):
            continue
        out.append(
            {
                "strategy": name,
                "cost": kind,
                "fills_run": len(r),
                "fills_backtest": len(b),
                "slippage_bps_run": _slippage_bps(
                    r.side.to_numpy(), r.price.to_numpy(), r.reference.to_numpy()
                ),
                "slippage_bps_backtest": _slippage_bps(
                    b.side.to_numpy(), b.price.to_numpy(), b.reference.to_numpy()
                ),
                "fees_run": float(r.fee.sum()),
                "fees_backtest": float(b.fee.sum()),
            }
        )
    return out


def _verdict(costs: pd.DataFrame, capital: float, equity_gap: float) -> str:
    """The drift verdict: ``no drift``, or the largest gaps by name.

    ``no drift`` when every fill count matches and every cost (fees, funding, slippage times
    notional) and the equity curve agree within ``NO_DRIFT`` of capital.
    """
    tol = NO_DRIFT * capital
    problems = []
    for row in costs.itertuples(index=False):
        if row.fills_run != row.fills_backtest:
            problems.append(
                f"{row.strategy} {row.cost}: {row.fills_run} fills vs {row.fills_backtest}"
            )
        if abs(row.fees_run - row.fees_backtest) > tol:
            problems.append(
                f"{row.strategy} {row.cost}: costs {row.fees_run:.6g} vs {row.fees_backtest:.6g}"
            )
    if not np.isfinite(equity_gap) or equity_gap > tol:
        problems.append(f"equity curves up to {equity_gap:.6g} apart")
    if not problems:
        return f"no drift: fills, costs and equity agree within {NO_DRIFT:g} of capital"
    return "drift: " + "; ".join(problems[:6])


def _bars_for(config: dict) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp, str]:
    data = config.get("data") or {}
    source = data.get("source")
    if not source:
        raise DriftError("the run's config records no data source; cannot rebuild its backtest")
    # every bar of the source, read as the run read it (``engine.paper.load_replay_data``)
    full = open_data(source, require_market=False, **dict(data.get("read") or {})).bars
    start, end = pd.Timestamp(data["start"]), pd.Timestamp(data["end"])
    return full[full.index <= end], start, end, data.get("timeframe", "15min")


def _stops_of(config: dict[str, Any], name: str, limits: dict[str, Any]) -> dict[str, Any]:
    """``run_backtest``'s stop arguments for the exits strategy ``name`` traded.

    The run's recorded ``stops`` (their fields are run_backtest's), else, for runs recorded
    before them, the limits' fractions of the entry.
    """
    stops = config.get("stops", {}).get(name)
    if stops is not None:
        return dict(stops)
    return {
        "stop_loss": limits.get("stop_loss_pct", 0.02),
        "take_profit": limits.get("take_profit_pct", 0.04),
    }


def drift_report(journal: Journal, run_id: str) -> DriftReport:
    """Compare run ``run_id`` with the backtest of its period (see module docstring).

    Parameters
    ----------
    journal : Journal
        The journal the run is in.
    run_id : str
        The run's full id.

    Returns
    -------
    DriftReport
        Per strategy and portfolio: signals, fills, costs by fill kind, P&L; and the verdict.

    Raises
    ------
    DriftError
        For an unknown run, or one whose data source was not recorded.
    """
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
    step = as_timedelta(timeframe)

    signals = pd.DataFrame(
        [(s.strategy, s.ts, s.strength) for s in journal.signals(run_id)],
        columns=["strategy", "ts", "strength"],
    )
    fills = journal.fills(run_id)
    run_fills = _run_fill_frame(journal, fills, window)
    cost_rows: list[dict] = []
    bt_funding = 0.0
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
            **_stops_of(config, name, limits),
            initial_capital=capital / n,
        )
        bt_equity = bt_equity + bt.equity
        bt_funding += float(bt.trades["funding"].sum())
        cost_rows += _cost_rows(name, run_fills[run_fills.strategy == name], bt.fills)
        ours = signals[signals.strategy == name]
        labels = pd.DatetimeIndex(ours.ts) - step
        expected = bt.signal.reindex(labels).to_numpy()
        sig_gap = (
            float(np.nanmax(np.abs(ours.strength.to_numpy() - expected))) if len(ours) else 0.0
        )
        mine = [f for f in fills if f.strategy == name]
        rows.append(
            {
                "strategy": name,
                "signal_changes_run": len(ours),
                "signal_changes_backtest": int((bt.signal.diff().fillna(bt.signal) != 0).sum()),
                "max_signal_gap": sig_gap,
                "fills_run": len(mine),
                "round_trips_backtest": len(bt.trades),
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
    costs = pd.DataFrame(cost_rows)
    # funding is not journaled per fill: the run's is what equity holds beyond the fills'
    # cash flows, the mark of the final position and the fees
    final = float(run_eq.iloc[-1]) if len(run_eq) else float("nan")
    held = float((run_fills.side * run_fills.quantity).sum())
    trading = float(-(run_fills.side * run_fills.quantity * run_fills.price).sum())
    trading += held * float(window["close"].iloc[-1]) - float(run_fills.fee.sum())
    funding_row = {
        "strategy": "portfolio",
        "cost": "funding",
        "fills_run": 0,
        "fills_backtest": 0,
        "fees_run": (capital + trading) - final,
        "fees_backtest": bt_funding,
    }
    costs = pd.concat([costs, pd.DataFrame([funding_row])], ignore_index=True)
    costs = costs.rename(columns={"fees_run": "paid_run", "fees_backtest": "paid_backtest"})
    gap = float((both.run - both.backtest).abs().max()) if len(both) else float("nan")
    verdict = _verdict(
        costs.rename(columns={"paid_run": "fees_run", "paid_backtest": "fees_backtest"}),
        capital,
        gap,
    )
    return DriftReport(run_id, table, frame, costs.set_index(["strategy", "cost"]), verdict)


__all__ = ["DriftError", "DriftReport", "drift_report"]
