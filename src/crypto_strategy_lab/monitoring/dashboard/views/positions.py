"""Positions and orders: open positions with their levels, orders, fills and rejects.

Open positions show their stop-loss / take-profit levels (see :func:`positions_with_levels`),
open and recent orders their current state; rejects are venue rejects and risk-engine
rejects.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext
from crypto_strategy_lab.monitoring.dashboard.views.common import run_id, table

BOOK = ["strategy", "venue", "symbol"]


OPEN_STATES = ("new", "submitted", "partially_filled")


def _latest_per_book(frame: pd.DataFrame, column: str) -> dict[tuple, float]:
    latest = frame.sort_values("created_at").groupby(BOOK, dropna=False)[column].last()
    return {k: float(v) for k, v in latest.items() if pd.notna(v)}


def positions_with_levels(positions: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """``positions`` plus their stop-loss and take-profit levels.

    The added columns are ``stop_loss``, ``take_profit``, where they come from, and the mark's
    distance to each (%).

    Levels are the resting protective orders of the book (open reduce-only ``STOP`` /
    ``STOP_LIMIT`` → stop-loss at its ``stop_price``; open reduce-only ``LIMIT`` → take-profit
    at its ``price``), which is how the engine protects a position; failing those, the
    ``stop_loss``/``take_profit`` fields of the book's latest opening order (venues that take
    attached brackets). A position with neither has no stop: the page warns about it.

    Parameters
    ----------
    positions : pandas.DataFrame
        The open positions (``strategy``, ``venue``, ``symbol``, ``quantity``,
        ``average_price``, ``mark_price``, ``unrealized_pnl``, ``ts``).
    orders : pandas.DataFrame
        The run's orders, with ``status``, ``reduce_only``, ``order_type``, ``price``,
        ``stop_price``, ``stop_loss``, ``take_profit`` and ``created_at``.

    Returns
    -------
    pandas.DataFrame
        The positions with the columns listed in the code's order; levels NaN and
        ``levels_from = "none"`` without one, distances ``100 (level / mark - 1)`` % with
        the average price standing in for a missing mark, and ``notional`` signed
        (``quantity x mark``). ``positions`` itself when it is empty.
    """
    if len(positions) == 0:
        return positions
    out = positions.copy()
    out["stop_loss"] = float("nan")
    out["take_profit"] = float("nan")
    out["levels_from"] = "none"
    if len(orders):
        resting = orders[orders["status"].isin(OPEN_STATES) & orders["reduce_only"].astype(bool)]
        stops = _latest_per_book(
            resting[resting["order_type"].isin(["STOP", "STOP_LIMIT"])], "stop_price"
        )
        targets = _latest_per_book(resting[resting["order_type"] == "LIMIT"], "price")
        opening = orders[~orders["reduce_only"].astype(bool)]
        attached_sl = _latest_per_book(opening[opening["stop_loss"].notna()], "stop_loss")
        attached_tp = _latest_per_book(opening[opening["take_profit"].notna()], "take_profit")
        for i, row in out.iterrows():
            key = tuple(row[k] for k in BOOK)
            if key in stops or key in targets:
                out.loc[i, "stop_loss"] = stops.get(key, float("nan"))
                out.loc[i, "take_profit"] = targets.get(key, float("nan"))
                out.loc[i, "levels_from"] = "resting orders"
            elif key in attached_sl or key in attached_tp:
                out.loc[i, "stop_loss"] = attached_sl.get(key, float("nan"))
                out.loc[i, "take_profit"] = attached_tp.get(key, float("nan"))
                out.loc[i, "levels_from"] = "order brackets"
    mark = out["mark_price"].fillna(out["average_price"])
    out["to_stop_%"] = 100 * (out["stop_loss"] / mark - 1)
    out["to_target_%"] = 100 * (out["take_profit"] / mark - 1)
    out["notional"] = out["quantity"] * mark
    columns = [
        "strategy",
        "venue",
        "symbol",
        "quantity",
        "average_price",
        "mark_price",
        "notional",
        "unrealized_pnl",
        "stop_loss",
        "to_stop_%",
        "take_profit",
        "to_target_%",
        "levels_from",
        "ts",
    ]
    return out[columns]


def render(ctx: DashboardContext) -> None:
    """Draw the positions and orders page of the chosen run.

    Parameters
    ----------
    ctx : DashboardContext
        The page's context; :func:`~crypto_strategy_lab.monitoring.dashboard.app.run_page`
        calls it only with a readable journal and a chosen run.
    """
    assert ctx.reader is not None
    rid = run_id(ctx)
    orders = ctx.reader.orders(rid)
    fills = ctx.reader.fills(rid)
    positions = positions_with_levels(ctx.reader.positions(rid), orders)

    c1, c2, c3, c4 = st.columns(4)
    open_orders = (
        orders[orders["status"].isin(["new", "submitted", "partially_filled"])]
        if len(orders)
        else orders
    )
    rejected = orders[orders["status"] == "rejected"] if len(orders) else orders
    c1.metric("Open positions", len(positions))
    c2.metric("Open orders", len(open_orders))
    c3.metric("Fills", len(fills))
    c4.metric("Rejected orders", len(rejected))

    st.subheader("Open positions")
    if len(positions) and positions["stop_loss"].isna().any():
        naked = positions.loc[positions["stop_loss"].isna(), "strategy"].fillna("(none)")
        st.warning(f"No stop-loss on the open position(s) of: {', '.join(map(str, naked))}.")
    table(positions, "No open position.", key="pos_positions")
    st.subheader("Open orders")
    table(open_orders, "No open order.", key="pos_open_orders")
    st.subheader("Recent orders")
    table(orders.head(200), "No order yet.", key="pos_orders")
    st.subheader("Recent fills")
    table(
        fills.sort_values("ts", ascending=False).head(200) if len(fills) else fills,
        "No fill yet.",
        key="pos_fills",
    )
    st.subheader("Rejects")
    risk = ctx.reader.risk_events(rid)
    risk_rejects = risk[risk["decision"] == "reject"] if len(risk) else risk
    left, right = st.columns(2)
    with left:
        st.caption("Rejected by the venue")
        table(
            rejected[["created_at", "strategy", "venue", "symbol", "side", "quantity", "reason"]]
            if len(rejected)
            else rejected,
            "No venue reject.",
            key="pos_venue_rejects",
        )
    with right:
        st.caption("Rejected by the risk engine")
        table(
            risk_rejects[
                ["ts", "rule", "reason", "strategy", "symbol", "side", "requested_quantity"]
            ]
            if len(risk_rejects)
            else risk_rejects,
            "No risk reject.",
            key="pos_risk_rejects",
        )
