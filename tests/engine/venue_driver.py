"""The engine's venue protocol without the journal: drive a simulated venue bar by bar.

What :class:`~crypto_strategy_lab.engine.loop.TradingEngine` sends to a venue, in the same
order and with the same functions (``engine.sleeve.target_quantity``,
``risk.bracket_prices``): the bar's fills, then — after a fill — the protective exits of the
new position (reduce-only stop + limit at the average entry's levels), then — when the target
weight changes — the exits re-placed to cover a larger target in the same direction and the
market order for the difference. The property test and the leveraged-perp parity use it
where the risk engine's per-strategy cap (at most 100 % of capital) would refuse the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.costs import CostModel
from crypto_strategy_lab.core.enums import MarketType, OrderSide, OrderType
from crypto_strategy_lab.core.orders import OrderRequest
from crypto_strategy_lab.engine.sleeve import target_quantity
from crypto_strategy_lab.exchanges.simulated.client import SimulatedExchange
from crypto_strategy_lab.risk import bracket_prices

SYMBOL = "BTCUSDT"
D0 = Decimal(0)


@dataclass
class Driven:
    fills: pd.DataFrame  # time, side, quantity, price, fee
    equity: pd.Series  # at each bar's close


async def drive(
    bars: pd.DataFrame,
    weights: np.ndarray,
    *,
    allocation: float,
    costs: CostModel,
    stop_loss: float | None,
    take_profit: float | None,
    capital: float = 10_000.0,
    market: MarketType = MarketType.LINEAR,
    account_leverage: float | None = None,
) -> Driven:
    ex = SimulatedExchange(cost_model=costs, cash=Decimal(repr(capital)))
    if account_leverage:
        await ex.set_leverage(SYMBOL, Decimal(repr(account_leverage)))
    step = pd.Series(bars.index).diff().median()
    exits: list[str] = []  # venue order ids of the resting exits
    fills, equity = [], []
    last_w = 0.0
    for i, (ts, row) in enumerate(bars.iterrows()):
        bar = {k: float(row[k]) for k in ("open", "high", "low", "close", "volume")}
        new = ex.on_bar(SYMBOL, ts, bar, close_time=ts + step)
        fills.extend(new)
        positions = await ex.get_positions(SYMBOL)
        held = positions[0].quantity if positions else D0
        if new:  # the engine's Exits.protect: the exits of the new position
            for oid in exits:
                if not (await ex.get_order(oid, SYMBOL)).status.is_terminal:
                    await ex.cancel_order(oid, SYMBOL)
            exits = []
            if held and (stop_loss or take_profit):
                entry = OrderSide.BUY if held > 0 else OrderSide.SELL
                # a disabled level (None) is distance 0, which bracket_prices prices at 0:
                # not placed, as Exits.protect skips it (a stand-in distance would rest an
                # exit the kernel never has)
                sl, tp = bracket_prices(
                    entry,
                    positions[0].average_price,
                    Decimal(repr(stop_loss or 0.0)),
                    Decimal(repr(take_profit or 0.0)),
                )
                for order_type, fields in (
                    (OrderType.STOP, {"stop_price": sl}),
                    (OrderType.LIMIT, {"price": tp}),
                ):
                    if not next(iter(fields.values())):
                        continue
                    placed = await ex.place_order(
                        OrderRequest(
                            symbol=SYMBOL,
                            side=entry.opposite(),
                            order_type=order_type,
                            quantity=abs(held),
                            market=market,
                            reduce_only=True,
                            **fields,
                        )
                    )
                    exits.append(placed.order_id)
        equity.append(float((await ex.get_balance())["USDT"].total))
        w = float(weights[i])
        if w == last_w:
            continue
        last_w = w
        target = target_quantity(w, allocation, Decimal(repr(equity[-1])), bar, held, costs)
        delta = target - held
        if delta == 0:
            continue
        kept = []
        for oid in exits:  # the engine's Exits.cover_rebalance
            state = await ex.get_order(oid, SYMBOL)
            if state.status.is_terminal:
                continue
            grows = (state.side is OrderSide.SELL) == (target > 0) and abs(target) > state.quantity
            if not grows:
                kept.append(oid)
                continue
            await ex.cancel_order(oid, SYMBOL)
            fields = (
                {"stop_price": state.stop_price}
                if state.order_type is OrderType.STOP
                else {"price": state.price}
            )
            placed = await ex.place_order(
                OrderRequest(
                    symbol=SYMBOL,
                    side=state.side,
                    order_type=state.order_type,
                    quantity=abs(target),
                    market=market,
                    reduce_only=True,
                    **fields,
                )
            )
            kept.append(placed.order_id)
        exits = kept
        await ex.place_order(
            OrderRequest(
                symbol=SYMBOL,
                side=OrderSide.BUY if delta > 0 else OrderSide.SELL,
                order_type=OrderType.MARKET,
                quantity=abs(delta),
                market=market,
            )
        )
    frame = pd.DataFrame(
        [
            (
                pd.Timestamp(f.timestamp),
                f.side.sign,
                float(f.quantity),
                float(f.price),
                float(f.fee),
            )
            for f in fills
        ],
        columns=["time", "side", "quantity", "price", "fee"],
    ).astype({"side": "int64", "quantity": float, "price": float, "fee": float})
    return Driven(frame, pd.Series(equity, index=bars.index))
