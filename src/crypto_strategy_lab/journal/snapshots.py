"""Portfolio snapshots: positions and the equity curve, appended per bar.

Positions (``position_snapshots``) as the journal's fills imply them or as the venue reports
them; the equity curve is ``equity_curve``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select

from crypto_strategy_lab.core.orders import Position
from crypto_strategy_lab.journal.models import EquityPoint, PositionSnapshot
from crypto_strategy_lab.journal.types import JournalError, exact_decimal, utc, utcnow
from crypto_strategy_lab.journal.writer import ChainWriter, ColumnRow, optional_decimal

_EQUITY_TABLE = EquityPoint.__table__


class SnapshotStore:
    """The ``position_snapshots`` and ``equity_curve`` tables, written through ``writer``."""

    def __init__(self, writer: ChainWriter) -> None:
        self._writer = writer

    def record_position(
        self,
        run_id: str,
        position: Position,
        *,
        ts: datetime | None = None,
        strategy: str | None = None,
        source: str = "journal",
    ) -> PositionSnapshot:
        """Journal a position snapshot (buffered in a batch).

        Parameters
        ----------
        run_id : str
            The run.
        position : Position
            Venue, symbol, signed quantity, average price and the optional mark and unrealised
            P&L.
        ts : datetime, optional
            Timezone-aware; default now (UTC).
        strategy : str, optional
            The strategy whose position it is (``journal`` positions are kept per strategy).
        source : {"journal", "venue"}, default "journal"
            ``journal``: the position the journal's fills imply; ``venue``: what the venue
            reported at a reconciliation.

        Returns
        -------
        PositionSnapshot
            The record.

        Raises
        ------
        JournalError
            For another ``source``.
        """
        if source not in ("journal", "venue"):
            raise JournalError(f"position source must be 'journal' or 'venue', got {source!r}")
        record = PositionSnapshot(
            run_id=run_id,
            ts=utc(ts) if ts else utcnow(),
            venue=position.venue,
            symbol=position.symbol,
            market=position.market.value if position.market else None,
            strategy=strategy,
            quantity=exact_decimal(position.quantity),
            average_price=exact_decimal(position.average_price),
            mark_price=optional_decimal(position.mark_price),
            unrealized_pnl=optional_decimal(position.unrealized_pnl),
            source=source,
        )
        return self._writer.buffered(record, "position", run_id)

    def record_equity(
        self,
        run_id: str,
        *,
        ts: datetime,
        equity: Decimal,
        cash: Decimal,
        gross_exposure: Decimal = Decimal(0),
        net_exposure: Decimal = Decimal(0),
        realized_pnl: Decimal = Decimal(0),
        unrealized_pnl: Decimal = Decimal(0),
    ) -> None:
        """Journal the run's equity point at ``ts`` (buffered in a batch).

        The engine calls this on every bar, so the row is buffered as a
        :class:`~crypto_strategy_lab.journal.writer.ColumnRow` (no ORM instance); it is the
        ``equity_curve`` row an :class:`EquityPoint` would insert, with the same audit event.

        Parameters
        ----------
        run_id : str
            The run.
        ts : datetime
            Timezone-aware time of the point.
        equity : Decimal
            Account equity (quote currency): cash plus unrealised P&L.
        cash : Decimal
            Cash.
        gross_exposure, net_exposure : Decimal, default 0
            Sum of ``|notional|`` and of signed notional.
        realized_pnl, unrealized_pnl : Decimal, default 0
            P&L so far, realised and open.
        """
        row = ColumnRow(
            _EQUITY_TABLE,
            {
                "run_id": run_id,
                "ts": utc(ts),
                "equity": exact_decimal(equity),
                "cash": exact_decimal(cash),
                "gross_exposure": exact_decimal(gross_exposure),
                "net_exposure": exact_decimal(net_exposure),
                "realized_pnl": exact_decimal(realized_pnl),
                "unrealized_pnl": exact_decimal(unrealized_pnl),
            },
        )
        self._writer.buffered(row, "equity", run_id)

    def latest_positions(self, run_id: str, *, source: str = "journal") -> list[PositionSnapshot]:
        """The latest snapshot of each (venue, symbol, strategy) for a run.

        Parameters
        ----------
        run_id : str
            The run.
        source : {"journal", "venue"}, default "journal"
            ``journal``: the positions the journal's fills imply; ``venue``: what the venue
            reported at a reconciliation.

        Returns
        -------
        list of PositionSnapshot
            One row per (venue, symbol, strategy): the one with the latest ``ts`` (ties
            broken by the later id), in the order of those keys' first snapshots; empty
            when the run has none from ``source``.
        """
        with self._writer.session() as session:
            rows = session.scalars(
                select(PositionSnapshot)
                .where(PositionSnapshot.run_id == run_id, PositionSnapshot.source == source)
                .order_by(PositionSnapshot.ts, PositionSnapshot.id)
            )
            latest: dict[tuple[str, str, str | None], PositionSnapshot] = {}
            for row in rows:
                latest[(row.venue, row.symbol, row.strategy)] = row
            return list(latest.values())

    def equity_frame(self, run_id: str) -> pd.DataFrame:
        """The equity curve as a float DataFrame indexed by UTC ``ts``.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        pandas.DataFrame
            Columns ``equity``, ``cash``, ``gross_exposure``, ``net_exposure``,
            ``realized_pnl``, ``unrealized_pnl`` as float64 (account currency; the exact
            decimals converted), one row per equity point by ascending ``ts`` then id;
            empty (no rows) for a run without equity points.
        """
        with self._writer.session() as session:
            rows = session.scalars(
                select(EquityPoint)
                .where(EquityPoint.run_id == run_id)
                .order_by(EquityPoint.ts, EquityPoint.id)
            ).all()
        columns = [
            "equity",
            "cash",
            "gross_exposure",
            "net_exposure",
            "realized_pnl",
            "unrealized_pnl",
        ]
        frame = pd.DataFrame(
            {c: [float(getattr(r, c)) for r in rows] for c in columns},
            index=pd.DatetimeIndex([r.ts for r in rows], name="ts"),
        )
        return frame

    def last_equity_time(self, run_id: str) -> datetime | None:
        """The time of the run's latest equity point (``None``: none journaled).

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        datetime or None
            The greatest ``ts`` (aware UTC), or None.
        """
        with self._writer.session() as session:
            return session.scalar(
                select(func.max(EquityPoint.ts)).where(EquityPoint.run_id == run_id)
            )

    def peak_equity(self, run_id: str) -> Decimal | None:
        """The run's highest equity (``None``: no equity point).

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        Decimal or None
            The maximum ``equity`` (account currency, exact), or None.
        """
        # compared as decimals here, not by SQL's max: SQLite stores exact decimals as text,
        # whose max is lexicographic ('9990' > '10050')
        with self._writer.session() as session:
            values = session.scalars(select(EquityPoint.equity).where(EquityPoint.run_id == run_id))
            return max(values, default=None)

    def equity_at_or_before(self, run_id: str, ts: datetime) -> Decimal | None:
        """The last equity value at or before ``ts`` (e.g. the UTC day's opening equity).

        Parameters
        ----------
        run_id : str
            The run.
        ts : datetime
            The cut-off, inclusive; timezone-aware.

        Returns
        -------
        Decimal or None
            The ``equity`` of the latest point with ``ts <= ts`` (ties: the later id), or
            None when there is none.

        Raises
        ------
        JournalError
            If ``ts`` is naive.
        """
        with self._writer.session() as session:
            return session.scalar(
                select(EquityPoint.equity)
                .where(EquityPoint.run_id == run_id, EquityPoint.ts <= utc(ts))
                .order_by(EquityPoint.ts.desc(), EquityPoint.id.desc())
                .limit(1)
            )
