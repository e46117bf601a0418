"""Fills: one ``fills`` row per venue trade, journaled once.

A venue's trade id is its identity; a replayed fill returns the journaled one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import bindparam, select

from crypto_strategy_lab.core.enums import OrderSide
from crypto_strategy_lab.core.orders import Fill
from crypto_strategy_lab.journal.models import FillRecord
from crypto_strategy_lab.journal.orders import OrderStore
from crypto_strategy_lab.journal.reads import PointReads
from crypto_strategy_lab.journal.types import JournalError, exact_decimal, utc
from crypto_strategy_lab.journal.writer import ChainWriter, ColumnRow

# A new fill is written as a column row (a mapped instance cost ~10 us of instrumented
# attribute sets on the order path; the writer inserts and audits both alike).
_FILLS = FillRecord.__table__
# Built once: the statement is asked for every new fill.
_FILL_ID = select(FillRecord.id).where(
    FillRecord.venue == bindparam("venue"), FillRecord.trade_id == bindparam("trade_id")
)


class FillStore:
    """The ``fills`` table, written through ``writer``; a fill names an order of ``orders``.

    Parameters
    ----------
    writer : ChainWriter
        The journal's one writer: every write goes through its audit chain (and its batch
        buffer), every ORM read through its sessions; the store keeps its buffered fills in
        step with the buffer (:meth:`detach`).
    orders : OrderStore
        The orders a fill's client order id must name.
    reads : PointReads
        The journal's point reads: a new fill's duplicate check reads through them.
    """

    def __init__(self, writer: ChainWriter, orders: OrderStore, reads: PointReads) -> None:
        self._writer = writer
        self._orders = orders
        self._reads = reads
        self._buffered_fills: dict[tuple[str, str], ColumnRow] = {}  # by (venue, trade id)
        writer.index_buffer(self)

    def detach(self) -> Callable[[], None]:
        """The buffered fills go to the commit, where a later read finds them.

        See :class:`~crypto_strategy_lab.journal.writer.BufferIndex`.

        Returns
        -------
        Callable[[], None]
            What to run once the commit succeeded: nothing (a committed fill needs no
            bookkeeping).
        """
        self._buffered_fills = {}
        return _nothing

    def record_fill(
        self, run_id: str, fill: Fill, *, venue: str, strategy: str | None = None
    ) -> tuple[FillRecord | ColumnRow, bool]:
        """Journal a fill once.

        Returns ``(record, created)``; a fill whose ``(venue, trade_id)`` is already
        journaled for the same run and order returns the existing record and ``False``. The
        same trade id on another order or run is a venue id collision and raises
        :class:`JournalError` (treating it as a duplicate would silently lose a fill).

        Parameters
        ----------
        run_id : str
            The run.
        fill : Fill
            The execution; its ``trade_id`` is its identity at ``venue``.
        venue : str
            Where it executed.
        strategy : str, optional
            The strategy it belongs to.

        Returns
        -------
        tuple of (FillRecord or ColumnRow, bool)
            The record, and whether it was created now (buffered in a batch). A new fill is
            a :class:`ColumnRow` (the ``fills`` columns as attributes, ``id`` reserved), an
            already committed one its mapped :class:`FillRecord`.

        Raises
        ------
        JournalError
            For a trade id already journaled for another order or run, or a fill of an order
            the journal does not hold.
        """
        if fill.trade_id is not None:
            key = (venue, fill.trade_id)
            existing = self._buffered_fills.get(key) or self._committed(key)
            if existing is not None:
                if (existing.run_id, existing.client_order_id) != (run_id, fill.client_order_id):
                    raise JournalError(
                        f"trade id {fill.trade_id!r} at {venue} is already journaled for "
                        f"order {existing.client_order_id!r} of run {existing.run_id}; a "
                        "venue's trade ids must be unique (refusing to drop this fill)"
                    )
                return existing, False
        coid = fill.client_order_id
        if coid is not None and self._orders.order(coid) is None:  # known: recorded or cached
            raise JournalError(f"fill for unknown order {coid!r}")
        record = ColumnRow(
            _FILLS,
            {
                "run_id": run_id,
                "client_order_id": coid,
                "venue_order_id": fill.order_id,
                "trade_id": fill.trade_id,
                "venue": venue,
                "strategy": strategy,
                "symbol": fill.symbol,
                "side": fill.side.value,
                "quantity": exact_decimal(fill.quantity),
                "price": exact_decimal(fill.price),
                "fee": exact_decimal(fill.fee),
                "fee_currency": fill.fee_currency,
                "ts": utc(fill.timestamp),
            },
        )
        if fill.trade_id is not None:
            self._buffered_fills[(venue, fill.trade_id)] = record
        self._writer.buffered(record, "fill", run_id)
        return record, True

    def _committed(self, key: tuple[str, str]) -> FillRecord | None:
        """The committed fill of ``(venue, trade id)``, or None.

        Every new fill asks, and nearly always misses: a point read of the unique index first
        (an ORM select per fill cost ~0.4 ms, a quarter of an order's path); the record is
        loaded only when there is one.
        """
        found = self._reads.first(_FILL_ID, {"venue": key[0], "trade_id": key[1]})
        if found is None:
            return None
        with self._writer.sessions() as session:
            return session.get(FillRecord, found[0])

    def fills(self, run_id: str | None = None) -> list[FillRecord]:
        """The journaled fills, by time.

        Parameters
        ----------
        run_id : str or None, optional
            Only this run's; ``None`` (default): every run's.

        Returns
        -------
        list of FillRecord
            Ordered by execution time, then id.
        """
        stmt = select(FillRecord).order_by(FillRecord.ts, FillRecord.id)
        if run_id is not None:
            stmt = stmt.where(FillRecord.run_id == run_id)
        with self._writer.session() as session:
            return list(session.scalars(stmt))

    def net_quantities(self, run_id: str) -> dict[str, Decimal]:
        """The run's signed net filled quantity (buys minus sells) per strategy.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        dict of str to Decimal
            Net base quantity per strategy, exact; fills without a strategy are under ``""``.
            A strategy without fills is absent.
        """
        stmt = select(FillRecord.strategy, FillRecord.side, FillRecord.quantity).where(
            FillRecord.run_id == run_id
        )
        out: dict[str, Decimal] = {}
        with self._writer.session() as session:
            for strategy, side, quantity in session.execute(stmt):
                signed = quantity if side == OrderSide.BUY.value else -quantity
                out[strategy or ""] = out.get(strategy or "", Decimal(0)) + signed
        return out

    def fees_by_order(self, run_id: str) -> dict[str, Decimal]:
        """The fees the run's fills paid, summed per client order id.

        Parameters
        ----------
        run_id : str
            The run.

        Returns
        -------
        dict of str to Decimal
            Total fee per client order id, exact, in the fills' fee currency (the fills of
            one order pay in one currency); fills the venue reported without our order id
            are left out.
        """
        stmt = select(FillRecord.client_order_id, FillRecord.fee).where(FillRecord.run_id == run_id)
        out: dict[str, Decimal] = {}
        with self._writer.session() as session:
            for coid, fee in session.execute(stmt):
                if coid:  # a fill the venue reported without our order id
                    out[coid] = out.get(coid, Decimal(0)) + fee
        return out


def _nothing() -> None:
    """A committed fill needs no bookkeeping."""
