"""The journal as DataFrames, for readers that never write (the dashboard, alert snapshots).

:class:`JournalReader` runs only ``SELECT`` statements on the journal's own models, on an
engine the caller opened (the dashboard opens it with ``make_engine(url, read_only=True)``,
SQLite ``mode=ro``). Decimal amounts become floats here (display only). Every frame is
oldest first unless its method says otherwise.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Text, func, inspect, select, type_coerce

from crypto_strategy_lab.journal.equity import equity_points
from crypto_strategy_lab.journal.models import (
    Alert,
    AlertAck,
    FillRecord,
    HaltEvent,
    Order,
    OrderEvent,
    PositionSnapshot,
    RiskEventRecord,
    Run,
    SignalRecord,
)
from crypto_strategy_lab.journal.status import first_line
from crypto_strategy_lab.journal.trials import TrialRecord


def _config_mapping(value: Any) -> tuple[dict[str, Any], str | None]:
    """A run's stored config as a mapping, or ``({}, why not)``."""
    if isinstance(value, dict):  # drivers that parse JSON columns themselves (psycopg)
        return value, None
    try:
        parsed = json.loads(value) if isinstance(value, str | bytes) else value
    except ValueError as exc:
        return {}, f"not JSON ({first_line(exc)})"
    if not isinstance(parsed, dict):
        return {}, f"not a JSON object ({type(parsed).__name__})"
    return parsed, None


def _floats(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for c in columns:
        if c in frame.columns:
            frame[c] = pd.to_numeric(frame[c].map(lambda v: None if v is None else float(v)))
    return frame


class JournalReader:
    """Typed ``SELECT`` queries over the journal, returning DataFrames (newest last).

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        An engine on the journal, opened by the caller (read-only is enough).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _frame(self, stmt: Any, decimals: list[str] | None = None) -> pd.DataFrame:
        with self.engine.connect() as conn:
            result = conn.execute(stmt)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        return _floats(frame, decimals or [])

    def runs(self) -> pd.DataFrame:
        """Every run, oldest first.

        ``config`` is the run's config mapping (``{}`` when the stored text is not a JSON
        object, with the reason in ``config_error``), so one damaged row cannot take the
        dashboard down.

        Returns
        -------
        pandas.DataFrame
            One row per run: ``run_id``, ``name``, ``mode``, ``capital`` (float),
            ``strategies``, ``config``, ``started_at``, ``status``, ``ended_at`` and
            ``config_error`` (``None`` for a readable config).
        """
        cols = [getattr(Run, c) for c in ("run_id", "name", "mode", "capital", "strategies")]
        cols += [type_coerce(Run.config, Text).label("config")]  # raw text: parsed per row
        cols += [Run.started_at, Run.status, Run.ended_at]
        frame = self._frame(select(*cols).order_by(Run.started_at), ["capital"])
        parsed = [_config_mapping(v) for v in frame.get("config", [])]
        frame["config"] = [config for config, _ in parsed]
        frame["config_error"] = [error for _, error in parsed]
        return frame

    def equity(self, run_id: str) -> pd.DataFrame:
        """The equity curve indexed by ``ts`` (one row per timestamp, the latest wins).

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        pandas.DataFrame
            Columns ``equity``, ``cash``, ``gross_exposure``, ``net_exposure``,
            ``realized_pnl``, ``unrealized_pnl`` as floats (quote currency), indexed by the
            snapshot time, oldest first; a bar journaled twice keeps its last row. With no
            equity point: an empty frame whose ``ts`` is a column, not the index.
        """
        with self.engine.connect() as conn:
            frame = equity_points(conn, run_id)
        if len(frame) == 0:
            return frame
        frame = frame.set_index("ts")
        # the engine may journal a bar twice (e.g. a final mark at shutdown): keep the latest
        return frame[~frame.index.duplicated(keep="last")]

    def positions(
        self, run_id: str, source: str = "journal", *, flat: bool = False
    ) -> pd.DataFrame:
        """Latest snapshot per ``(venue, symbol, strategy)``, flat books dropped unless asked.

        Parameters
        ----------
        run_id : str
            The run.
        source : str, default "journal"
            Which snapshots: ``"journal"`` (implied by the run's fills) or ``"venue"``
            (read from the venue at reconciliation).
        flat : bool, default False
            Keep the books whose latest snapshot is flat (quantity 0): a flat latest
            snapshot says "known flat", where a book without snapshots says nothing.

        Returns
        -------
        pandas.DataFrame
            ``ts``, ``strategy``, ``venue``, ``symbol``, ``market``, ``quantity``
            (signed), ``average_price``, ``mark_price``, ``unrealized_pnl`` (floats), one
            row per book (per non-zero one unless ``flat``), in no particular order.
        """
        latest = (
            select(func.max(PositionSnapshot.id).label("id"))
            .where(PositionSnapshot.run_id == run_id, PositionSnapshot.source == source)
            .group_by(PositionSnapshot.venue, PositionSnapshot.symbol, PositionSnapshot.strategy)
            .subquery()
        )
        stmt = select(
            PositionSnapshot.ts,
            PositionSnapshot.strategy,
            PositionSnapshot.venue,
            PositionSnapshot.symbol,
            PositionSnapshot.market,
            PositionSnapshot.quantity,
            PositionSnapshot.average_price,
            PositionSnapshot.mark_price,
            PositionSnapshot.unrealized_pnl,
        ).join(latest, latest.c.id == PositionSnapshot.id)
        frame = self._frame(stmt, ["quantity", "average_price", "mark_price", "unrealized_pnl"])
        if flat or not len(frame):
            return frame
        return frame[frame["quantity"] != 0].reset_index(drop=True)

    def position_history(self, run_id: str) -> pd.DataFrame:
        """Every position snapshot the run's fills implied (``source='journal'``), by time.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        pandas.DataFrame
            ``ts``, ``strategy``, ``venue``, ``symbol``, ``market``, ``quantity``
            (signed), ``mark_price``, ``unrealized_pnl`` (floats), flat ones included,
            oldest first.
        """
        stmt = (
            select(
                PositionSnapshot.ts,
                PositionSnapshot.strategy,
                PositionSnapshot.venue,
                PositionSnapshot.symbol,
                PositionSnapshot.market,
                PositionSnapshot.quantity,
                PositionSnapshot.mark_price,
                PositionSnapshot.unrealized_pnl,
            )
            .where(PositionSnapshot.run_id == run_id, PositionSnapshot.source == "journal")
            .order_by(PositionSnapshot.ts, PositionSnapshot.id)
        )
        return self._frame(stmt, ["quantity", "mark_price", "unrealized_pnl"])

    def orders(self, run_id: str, limit: int = 500) -> pd.DataFrame:
        """Orders with their current state (latest ``order_events`` row), newest first.

        Parameters
        ----------
        run_id : str
            The run.
        limit : int, default 500
            At most this many orders, the most recently created.

        Returns
        -------
        pandas.DataFrame
            The order's fields (``created_at``, ``client_order_id``, ``strategy``,
            ``venue``, ``symbol``, ``market``, ``side``, ``order_type``, ``quantity``,
            ``price``, ``stop_price``, ``stop_loss``, ``take_profit``, ``reduce_only``) and
            its latest event's ``status``, ``updated_at``, ``filled_quantity``,
            ``average_price`` and ``reason``; amounts as floats (``NaN`` where unset).
        """
        latest = (
            select(OrderEvent.client_order_id, func.max(OrderEvent.seq).label("seq"))
            .where(OrderEvent.run_id == run_id)
            .group_by(OrderEvent.client_order_id)
            .subquery()
        )
        stmt = (
            select(
                Order.created_at,
                Order.client_order_id,
                Order.strategy,
                Order.venue,
                Order.symbol,
                Order.market,
                Order.side,
                Order.order_type,
                Order.quantity,
                Order.price,
                Order.stop_price,
                Order.stop_loss,
                Order.take_profit,
                Order.reduce_only,
                OrderEvent.status,
                OrderEvent.ts.label("updated_at"),
                OrderEvent.filled_quantity,
                OrderEvent.average_price,
                OrderEvent.reason,
            )
            .join(OrderEvent, OrderEvent.client_order_id == Order.client_order_id)
            .join(
                latest,
                (latest.c.client_order_id == OrderEvent.client_order_id)
                & (latest.c.seq == OrderEvent.seq),
            )
            .where(Order.run_id == run_id)
            .order_by(Order.created_at.desc())
            .limit(limit)
        )
        return self._frame(
            stmt,
            [
                "quantity",
                "price",
                "stop_price",
                "stop_loss",
                "take_profit",
                "filled_quantity",
                "average_price",
            ],
        )

    def fills(self, run_id: str) -> pd.DataFrame:
        """The run's fills, by time.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        pandas.DataFrame
            ``ts``, ``strategy``, ``venue``, ``symbol``, ``side``, ``quantity``, ``price``,
            ``fee`` (floats), ``client_order_id``, ``trade_id``; oldest first.
        """
        stmt = (
            select(
                FillRecord.ts,
                FillRecord.strategy,
                FillRecord.venue,
                FillRecord.symbol,
                FillRecord.side,
                FillRecord.quantity,
                FillRecord.price,
                FillRecord.fee,
                FillRecord.client_order_id,
                FillRecord.trade_id,
            )
            .where(FillRecord.run_id == run_id)
            .order_by(FillRecord.ts, FillRecord.id)
        )
        return self._frame(stmt, ["quantity", "price", "fee"])

    def signals_prices(self, run_id: str) -> pd.DataFrame:
        """Bar prices seen by the strategies (``ts, symbol, price``), one row per bar.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        pandas.DataFrame
            ``ts``, ``symbol`` and ``price``: the highest price the run's signals of that bar
            and symbol recorded; signals without a price are left out. Oldest first.
        """
        stmt = (
            select(
                SignalRecord.ts, SignalRecord.symbol, func.max(SignalRecord.price).label("price")
            )
            .where(SignalRecord.run_id == run_id, SignalRecord.price.is_not(None))
            .group_by(SignalRecord.ts, SignalRecord.symbol)
            .order_by(SignalRecord.ts)
        )
        return self._frame(stmt)

    def risk_events(self, run_id: str, limit: int = 500) -> pd.DataFrame:
        """The run's latest ``limit`` risk decisions, newest first.

        Parameters
        ----------
        run_id : str
            The run.
        limit : int, default 500
            At most this many decisions, the most recent.

        Returns
        -------
        pandas.DataFrame
            ``ts``, ``decision``, ``rule``, ``reason``, ``strategy``, ``venue``, ``symbol``,
            ``side``, ``requested_quantity``, ``approved_quantity``, ``reference_price``
            (floats), ``client_order_id``; newest (highest id) first.
        """
        stmt = (
            select(
                RiskEventRecord.ts,
                RiskEventRecord.decision,
                RiskEventRecord.rule,
                RiskEventRecord.reason,
                RiskEventRecord.strategy,
                RiskEventRecord.venue,
                RiskEventRecord.symbol,
                RiskEventRecord.side,
                RiskEventRecord.requested_quantity,
                RiskEventRecord.approved_quantity,
                RiskEventRecord.reference_price,
                RiskEventRecord.client_order_id,
            )
            .where(RiskEventRecord.run_id == run_id)
            .order_by(RiskEventRecord.id.desc())
            .limit(limit)
        )
        return self._frame(stmt, ["requested_quantity", "approved_quantity", "reference_price"])

    def risk_decision_counts(self, run_id: str) -> dict[str, int]:
        """How many risk decisions of each kind (approve/resize/reject/halt) the run made.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        dict of str to int
            Count per decision; a kind the run never decided is absent.
        """
        stmt = (
            select(RiskEventRecord.decision, func.count())
            .where(RiskEventRecord.run_id == run_id)
            .group_by(RiskEventRecord.decision)
        )
        with self.engine.connect() as conn:
            return {decision: int(n) for decision, n in conn.execute(stmt)}

    def alerts(self, run_id: str | None = None, limit: int = 1000) -> pd.DataFrame:
        """Alerts with their acknowledgement, newest first.

        Parameters
        ----------
        run_id : str or None, optional
            The run's alerts and those raised outside any run; ``None`` (default): all.
        limit : int, default 1000
            At most this many alerts, the most recent.

        Returns
        -------
        pandas.DataFrame
            ``id``, ``ts``, ``severity``, ``source``, ``message``, ``run_id``, ``details``,
            ``acknowledged_at``, ``acknowledged_by``, ``note`` and (when there are rows)
            the boolean ``acknowledged``; ordered by time, then id, newest first.
        """
        stmt = (
            select(
                Alert.id,
                Alert.ts,
                Alert.severity,
                Alert.source,
                Alert.message,
                Alert.run_id,
                Alert.details,
                AlertAck.ts.label("acknowledged_at"),
                AlertAck.acknowledged_by,
                AlertAck.note,
            )
            .outerjoin(AlertAck, AlertAck.alert_id == Alert.id)
            .order_by(Alert.ts.desc(), Alert.id.desc())
            .limit(limit)
        )
        if run_id is not None:
            stmt = stmt.where((Alert.run_id == run_id) | Alert.run_id.is_(None))
        frame = self._frame(stmt)
        if len(frame):
            frame["acknowledged"] = frame["acknowledged_at"].notna()
        return frame

    def halt_states(self) -> pd.DataFrame:
        """The latest ``halt_events`` row per scope (``global`` is the kill switch).

        Returns
        -------
        pandas.DataFrame
            ``scope``, ``action``, ``ts``, ``reason``, ``actor``: one row per scope that was
            ever halted or rearmed; the scope is halted when its ``action`` is ``"halt"``.
        """
        latest = select(func.max(HaltEvent.id).label("id")).group_by(HaltEvent.scope).subquery()
        stmt = select(
            HaltEvent.scope,
            HaltEvent.action,
            HaltEvent.ts,
            HaltEvent.reason,
            HaltEvent.actor,
        ).join(latest, latest.c.id == HaltEvent.id)
        return self._frame(stmt)

    def trial_sharpe_ratios(self) -> pd.DataFrame | None:
        """Every logged trial's ``strategy``, ``study`` and per-period Sharpe ratio ``sr``.

        Returns
        -------
        pandas.DataFrame or None
            Columns ``strategy``, ``study``, ``sr`` in insertion order; ``None`` when the
            journal has no trial log table (a journal older than migration 0002).
        """
        with self.engine.connect() as conn:
            if "trials" not in inspect(conn).get_table_names():
                return None
            stmt = select(TrialRecord.strategy, TrialRecord.study, TrialRecord.sr)
            rows = conn.execute(stmt.order_by(TrialRecord.id)).fetchall()
        return pd.DataFrame(rows, columns=["strategy", "study", "sr"])
