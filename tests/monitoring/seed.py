"""A paper-run journal written through the journal's own repository API (``Journal``).

Two strategies on Bybit over 72 hourly bars: lag_autocorr trades BTCUSDT (long, then short),
vpin trades ETHUSDT (long). Every bar records signals, position snapshots and an equity point;
trades go risk event -> order -> events -> fill. Plus a venue reject, a risk reject, a resize,
an open limit order, alerts (one acknowledged), a daily-loss halt and the kill switch, and a
second "replay" run over the same bars as a drift reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.enums import MarketType, OrderSide, OrderType, SignalAction
from crypto_strategy_lab.core.orders import Fill, OrderRequest, Position
from crypto_strategy_lab.core.signal import Signal
from crypto_strategy_lab.journal import Journal

START = datetime(2024, 3, 1, tzinfo=UTC)
N_BARS = 72
CAPITAL = 10_000.0
FEE_RATE = 0.00055
BOOKS = {"lag_autocorr": "BTCUSDT", "vpin": "ETHUSDT"}
# bar -> (strategy, side, quantity)
TRADES = {
    5: ("lag_autocorr", OrderSide.BUY, "0.01"),
    10: ("vpin", OrderSide.BUY, "0.2"),
    30: ("lag_autocorr", OrderSide.SELL, "0.01"),
    40: ("lag_autocorr", OrderSide.SELL, "0.01"),
    50: ("vpin", OrderSide.SELL, "0.2"),
    60: ("lag_autocorr", OrderSide.BUY, "0.005"),
}


@dataclass
class Seeded:
    url: str
    run_id: str
    reference_run_id: str
    final_equity: float
    realized: dict[str, float]
    trial_srs: dict[str, list[float]]
    short_stop: float = 0.0
    short_target: float = 0.0


def prices(seed: int = 11) -> dict[str, np.ndarray]:
    gen = np.random.default_rng(seed)
    btc = 60_000 * np.exp(np.cumsum(gen.normal(0, 0.006, N_BARS)))
    eth = 3_000 * np.exp(np.cumsum(gen.normal(0, 0.008, N_BARS)))
    return {"BTCUSDT": np.round(btc, 2), "ETHUSDT": np.round(eth, 2)}


def seed_journal(url: str) -> Seeded:  # noqa: C901 - one scripted scenario, read top to bottom
    journal = Journal.open(url)
    px = prices()
    run = journal.start_run(
        name="paper-demo",
        mode="simulated",
        capital=CAPITAL,
        strategies=list(BOOKS),
        config={"risk": {"daily_loss_limit": 0.04, "max_venue_exposure": {"bybit": 0.3}}},
        started_at=START,
    )
    rid = run.run_id
    cash = CAPITAL
    qty = {s: 0.0 for s in BOOKS}
    avg = {s: 0.0 for s in BOOKS}
    realized = {s: 0.0 for s in BOOKS}
    equity_path = []
    for bar in range(N_BARS):
        ts = START + timedelta(hours=bar)
        for strategy, symbol in BOOKS.items():
            trade = TRADES.get(bar)
            action = SignalAction.HOLD
            if trade and trade[0] == strategy:
                action = SignalAction(trade[1].value)
            journal.record_signal(
                rid,
                Signal(
                    strategy=strategy,
                    symbol=symbol,
                    timestamp=ts,
                    action=action,
                    strength=0.5 if action != SignalAction.HOLD else 0.0,
                    price=float(px[symbol][bar]),
                    statistics={"stat": round(0.01 * bar, 4)},
                ),
            )
        if bar in TRADES:
            strategy, side, q = TRADES[bar]
            symbol = BOOKS[strategy]
            price = Decimal(str(px[symbol][bar]))
            sl = price * (Decimal("0.98") if side is OrderSide.BUY else Decimal("1.02"))
            tp = price * (Decimal("1.04") if side is OrderSide.BUY else Decimal("0.96"))
            opening = qty[strategy] == 0 or np.sign(qty[strategy]) == side.sign
            risk = journal.record_risk_event(
                run_id=rid,
                ts=ts,
                decision="approve",
                strategy=strategy,
                venue="bybit",
                symbol=symbol,
                side=side.value,
                reason="within all limits",
                requested_quantity=Decimal(q),
                approved_quantity=Decimal(q),
                reference_price=price,
                rules=[{"rule": "position_cap", "action": "approve", "reason": "6% <= 10%"}],
            )
            request = OrderRequest(
                symbol=symbol,
                side=side,
                order_type=OrderType.MARKET,
                quantity=Decimal(q),
                market=MarketType.LINEAR,
                strategy=strategy,
                stop_loss=sl if opening else None,
                take_profit=tp if opening else None,
                reduce_only=not opening and abs(qty[strategy]) >= float(q),
            )
            order = journal.record_order(rid, request, venue="bybit", risk_event_id=risk.id, ts=ts)
            coid = order.client_order_id
            journal.record_order_event(coid, "submitted", venue_order_id=f"v{bar}", ts=ts)
            fee = Decimal(q) * price * Decimal(str(FEE_RATE))
            journal.record_order_event(
                coid, "filled", filled_quantity=Decimal(q), average_price=price, ts=ts
            )
            journal.record_fill(
                rid,
                Fill(
                    order_id=f"v{bar}",
                    client_order_id=coid,
                    symbol=symbol,
                    side=side,
                    quantity=Decimal(q),
                    price=price,
                    fee=fee,
                    fee_currency="USDT",
                    timestamp=ts,
                    trade_id=f"t{bar}",
                ),
                venue="bybit",
                strategy=strategy,
            )
            # average-cost book keeping, same convention as monitoring.attribution
            d, p = side.sign * float(q), float(price)
            cur = qty[strategy]
            if cur == 0 or np.sign(cur) == np.sign(d):
                avg[strategy] = (cur * avg[strategy] + d * p) / (cur + d)
            else:
                closed = min(abs(d), abs(cur))
                realized[strategy] += closed * (p - avg[strategy]) * np.sign(cur)
                if abs(cur + d) < 1e-12:
                    avg[strategy] = 0.0
                elif np.sign(cur + d) != np.sign(cur):
                    avg[strategy] = p
            qty[strategy] = cur + d
            cash -= d * p + float(fee)
        if bar == 20:  # a venue reject
            request = OrderRequest(
                symbol="BTCUSDT",
                side=OrderSide.BUY,
                order_type=OrderType.MARKET,
                quantity=Decimal("0.5"),
                strategy="lag_autocorr",
            )
            order = journal.record_order(rid, request, venue="bybit", ts=ts)
            journal.record_order_event(
                order.client_order_id,
                "rejected",
                reason="insufficient margin (retCode 110007)",
                ts=ts,
            )
        if bar == 25:  # a risk reject and a resize
            for decision, approved, rule, reason in (
                ("reject", "0", "portfolio_heat", "heat would be 62% > 50% limit"),
                ("resize", "0.005", "position_cap", "resized to the 10% position cap"),
            ):
                journal.record_risk_event(
                    run_id=rid,
                    ts=ts,
                    decision=decision,
                    strategy="vpin",
                    venue="bybit",
                    symbol="ETHUSDT",
                    side="BUY",
                    reason=reason,
                    rule=rule,
                    requested_quantity=Decimal("2"),
                    approved_quantity=Decimal(approved),
                    reference_price=Decimal(str(px["ETHUSDT"][bar])),
                    rules=[{"rule": rule, "action": decision, "reason": reason}],
                )
        if bar == 70:  # an open limit order resting at the venue
            request = OrderRequest(
                symbol="ETHUSDT",
                side=OrderSide.BUY,
                order_type=OrderType.LIMIT,
                quantity=Decimal("0.1"),
                price=Decimal("2500"),
                strategy="vpin",
                stop_loss=Decimal("2450"),
                take_profit=Decimal("2600"),
            )
            order = journal.record_order(rid, request, venue="bybit", ts=ts)
            journal.record_order_event(
                order.client_order_id, "submitted", venue_order_id="v70", ts=ts
            )
        gross = net = unreal = 0.0
        for strategy, symbol in BOOKS.items():
            mark = float(px[symbol][bar])
            q = qty[strategy]
            u = q * (mark - avg[strategy])
            if q != 0 or bar in TRADES:
                journal.record_position(
                    rid,
                    Position(
                        symbol=symbol,
                        quantity=Decimal(str(round(q, 10))),
                        venue="bybit",
                        average_price=Decimal(str(round(avg[strategy], 8))),
                        market=MarketType.LINEAR,
                        mark_price=Decimal(str(mark)),
                        unrealized_pnl=Decimal(str(round(u, 8))),
                    ),
                    ts=ts,
                    strategy=strategy,
                )
            gross += abs(q * mark)
            net += q * mark
            unreal += u
        equity = cash + net
        equity_path.append(equity)
        journal.record_equity(
            rid,
            ts=ts,
            equity=Decimal(str(round(equity, 8))),
            cash=Decimal(str(round(cash, 8))),
            gross_exposure=Decimal(str(round(gross, 8))),
            net_exposure=Decimal(str(round(net, 8))),
            realized_pnl=Decimal(str(round(sum(realized.values()), 8))),
            unrealized_pnl=Decimal(str(round(unreal, 8))),
        )
    # protective brackets as the engine places them: reduce-only STOP (stop-loss) and LIMIT
    # (take-profit) orders; the short's first pair is cancelled when the position is resized
    short_entry = Decimal(str(px["BTCUSDT"][40]))
    brackets = ((40, "0.01", "cancelled", "1.03", "0.95"), (60, "0.005", None, "1.02", "0.96"))
    for bar, qty_text, status, sl_mult, tp_mult in brackets:
        stop = (short_entry * Decimal(sl_mult)).quantize(Decimal("0.01"))
        target = (short_entry * Decimal(tp_mult)).quantize(Decimal("0.01"))
        for order_type, level in (
            (OrderType.STOP, {"stop_price": stop}),
            (OrderType.LIMIT, {"price": target}),
        ):
            bracket = journal.record_order(
                rid,
                OrderRequest(
                    symbol="BTCUSDT",
                    side=OrderSide.BUY,
                    order_type=order_type,
                    quantity=Decimal(qty_text),
                    reduce_only=True,
                    strategy="lag_autocorr",
                    market=MarketType.LINEAR,
                    **level,
                ),
                venue="bybit",
                ts=START + timedelta(hours=bar),
            )
            journal.record_order_event(
                bracket.client_order_id,
                "submitted",
                venue_order_id=f"b{bar}{order_type}",
                ts=START + timedelta(hours=bar),
            )
            if status:
                journal.record_order_event(
                    bracket.client_order_id, status, ts=START + timedelta(hours=60)
                )
    # the engine may journal the last bar twice (a final mark at shutdown)
    last = START + timedelta(hours=N_BARS - 1)
    journal.record_equity(
        rid,
        ts=last,
        equity=Decimal(str(round(equity_path[-1], 8))),
        cash=Decimal(str(round(cash, 8))),
        gross_exposure=Decimal(str(round(gross, 8))),
        net_exposure=Decimal(str(round(net, 8))),
    )
    first = journal.raise_alert(
        "warning",
        "drawdown",
        "Drawdown 5.1% from peak",
        run_id=rid,
        details={"drawdown": 0.051, "key": "drawdown:0.05"},
        ts=START + timedelta(hours=35),
    )
    journal.acknowledge_alert(
        first.id, by="alice", note="expected after the short", ts=START + timedelta(hours=36)
    )
    journal.raise_alert(
        "critical",
        "venue_errors",
        "5 errors from bybit in the last 5 min",
        run_id=rid,
        details={"venue": "bybit", "count": 5},
        ts=START + timedelta(hours=71, minutes=30),
    )
    journal.halt("daily loss limit hit", scope="daily_loss", run_id=rid)
    journal.halt("operator ran csl kill", actor="alice", run_id=rid)

    reference = journal.start_run(
        name="replay-backtest",
        mode="simulated",
        capital=CAPITAL,
        strategies=list(BOOKS),
        started_at=START - timedelta(minutes=1),
    )
    for bar, equity in enumerate(equity_path):
        ref = CAPITAL + (equity - CAPITAL) * 1.1
        journal.record_equity(
            reference.run_id,
            ts=START + timedelta(hours=bar),
            equity=Decimal(str(round(ref, 8))),
            cash=Decimal(str(round(ref, 8))),
        )
    journal.finish_run(reference.run_id, "completed", ended_at=START + timedelta(hours=N_BARS))
    trial_srs = seed_trials(journal.engine)
    journal.engine.dispose()
    return Seeded(
        url=url,
        run_id=rid,
        reference_run_id=reference.run_id,
        final_equity=equity_path[-1],
        realized=realized,
        trial_srs=trial_srs,
        short_stop=float(
            (Decimal(str(prices()["BTCUSDT"][40])) * Decimal("1.02")).quantize(Decimal("0.01"))
        ),
        short_target=float(
            (Decimal(str(prices()["BTCUSDT"][40])) * Decimal("0.96")).quantize(Decimal("0.01"))
        ),
    )


def seed_trials(engine) -> dict[str, list[float]]:
    """Trials through the validation part's own trial log; returns their per-period SRs."""
    from crypto_strategy_lab.validation.trial_log import TrialLog

    log = TrialLog(engine)
    gen = np.random.default_rng(5)
    index = pd.date_range("2023-01-01", periods=500, freq="h", tz="UTC")
    srs: dict[str, list[float]] = {}
    for strategy, lags in (("lag_autocorr", (1, 2, 3)), ("vpin", (10, 20))):
        for lag in lags:
            trial = log.record(
                study="demo",
                strategy=strategy,
                params={"lag": lag},
                returns=pd.Series(gen.normal(0.0002, 0.01, len(index)), index=index),
            )
            srs.setdefault(strategy, []).append(trial.sr)
    return srs
