"""Portfolio snapshots: positions and the equity curve, appended per bar.

Positions (``position_snapshots``) as the journal's fills imply them or as the venue reports
them; the equity curve is held per commit and stored as blocks (:mod:`.equity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select

from crypto_strategy_lab.core.orders import Position
from crypto_strategy_lab.journal.equity import EquityBuffer, equity_points
from crypto_strategy_lab.journal.models import EquityBlock, EquityPoint, PositionSnapshot
from crypto_strategy_lab.journal.types import JournalError, exact_decimal, utc, utcnow
from crypto_strategy_lab.journal.writer import ChainWriter, optional_decimal


class SnapshotStore:
    """The ``position_snapshots`` table and the equity curve, written through ``writer``."""

    def __init__(self, writer: ChainWriter) -> None:
        self._writer = writer
        self._equity = EquityBuffer()
        writer.hold(self._equity)

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
        """Journal the run's equity point at ``ts`` (held until the next commit).

        The engine calls this on every bar: the point joins its run's block of the current
        commit (:class:`~crypto_strategy_lab.journal.equity.EquityBuffer`); outside a batch
        it is committed at once, as a block of one.

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

        Raises
        ------
        JournalError
            If ``ts`` is naive or an amount is not finite (nothing is journaled).
        """
        self._equity.add(
            run_id, ts, (equity, cash, gross_exposure, net_exposure, realized_pnl, unrealized_pnl)
        )

    def record_equity_points(
        self,
        run_id: str,
        stamps: Sequence[int],
        columns: Sequence[Sequence[Decimal]],
    ) -> None:
        """Journal several equity points of the run (held until the next commit).

        :meth:`record_equity` of each, in one call, with each time as the integer the block
        stores: the engine journals its snapshots this way (one point per bar, or a replay's
        quiet bars at once, ``TradingEngine`` fast-forward).

        Parameters
        ----------
        run_id : str
            The run.
        stamps : sequence of int
            Time of each point, microseconds since the epoch (UTC); see
            :func:`~.equity.epoch_us`.
        columns : sequence of sequence of Decimal
            The points' amounts by column, in :data:`~.equity.EQUITY_COLUMNS` order (equity,
            cash, gross exposure, net exposure, realised P&L, unrealised P&L; quote
            currency), one per time.

        Raises
        ------
        JournalError
            If a time is not an integer, an amount is not finite or a column does not hold
            one amount per time (none of the points is journaled).
        """
        self._equity.extend(run_id, stamps, columns)
        if not self._writer.in_batch:
            self._writer.flush()

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

    def equity_points(self, run_id: str) -> pd.DataFrame:
        """Every equity point of the run with its exact amounts, oldest first.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        pandas.DataFrame
            :func:`~crypto_strategy_lab.journal.equity.equity_points` with ``exact=True``:
            column ``ts`` and the amounts as :class:`~decimal.Decimal`, one row per point.
        """
        with self._writer.session() as session:
            return equity_points(session.connection(), run_id, exact=True)

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
            points = equity_points(session.connection(), run_id)
        return points.set_index(pd.DatetimeIndex(points.pop("ts"), name="ts"))

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
            times = [
                session.scalar(select(func.max(model.ts)).where(model.run_id == run_id))
                for model in (EquityPoint, EquityBlock)
            ]
        return max((t for t in times if t is not None), default=None)

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
        return max(self.equity_points(run_id)["equity"], default=None)

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
        cutoff = utc(ts)
        points = self.equity_points(run_id)
        before = points["equity"][points["ts"] <= cutoff]
        return before.iloc[-1] if len(before) else None
