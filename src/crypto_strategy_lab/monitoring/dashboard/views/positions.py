"""Positions and orders: open positions with their stop-loss / take-profit levels, recent
orders with their current state, fills, and rejects (venue rejects and risk-engine rejects).

A position's SL/TP are those of the latest opening (not reduce-only) order of the same
strategy, venue and symbol that carried them: the levels the risk engine attached.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crypto_strategy_lab.monitoring.dashboard.app import DashboardContext
from crypto_strategy_lab.monitoring.dashboard.views.common import run_id, table

BOOK = ["strategy", "venue", "symbol"]


def positions_with_levels(positions: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
    """``positions`` plus ``stop_loss``, ``take_profit`` and the mark's distance to each (%)."""
    if len(positions) == 0:
        return positions
    out = positions.copy()
    out["stop_loss"] = float("nan")
    out["take_profit"] = float("nan")
    if len(orders):
        opening = orders[~orders["reduce_only"].astype(bool)]
        opening = opening[opening["stop_loss"].notna() | opening["take_profit"].notna()]
        latest = opening.sort_values("created_at").groupby(BOOK, dropna=False).last()
        for i, row in out.iterrows():
            key = tuple(row[k] for k in BOOK)
            if key in latest.index:
                out.loc[i, ["stop_loss", "take_profit"]] = latest.loc[
                    key, ["stop_loss", "take_profit"]
                ].to_numpy(float)
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
        "ts",
    ]
    return out[columns]


def render(ctx: DashboardContext) -> None:
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
