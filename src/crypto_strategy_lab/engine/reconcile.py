"""Reconciliation: the venue's orders and positions against the journal.

Checks, per sleeve (one strategy on one venue account):

* **orders** — every order the journal holds open is looked up at the venue by its client
  order id and brought up to date (fills, state). An order the journal calls ``new`` that the
  venue provably does not have (the look-up *succeeded* and found nothing) was never sent; on a
  restart it is sent again with the same client id (``resend_unsent``), otherwise it is closed
  as cancelled. A ``submitted``/``partially_filled`` order the venue does not know is a
  problem.
* **positions** — the venue's net position must equal the signed sum of the journal's fills
  for the sleeve. What the venue reports is journaled (``source="venue"`` position
  snapshots) so that a reader of the journal alone can compare it too: each position it
  lists, and a flat row when it lists none for a sleeve whose latest venue snapshot is
  non-zero (the position vanished at the venue).
* **balances** — the account's balance must be readable.

Fail closed: any query that fails is a problem, never "nothing there". A problem raises a
``critical`` alert (source ``reconciliation``) and the engine halts new risk; a clean pass is
journaled as the audit event ``reconcile.ok``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from crypto_strategy_lab.core.enums import OrderStatus
from crypto_strategy_lab.core.errors import ExchangeError
from crypto_strategy_lab.core.orders import Position
from crypto_strategy_lab.engine.orders import OrderManager
from crypto_strategy_lab.journal import Journal

if TYPE_CHECKING:
    from crypto_strategy_lab.engine.sleeve import Sleeve

D0 = Decimal(0)


@dataclass
class ReconcileReport:
    """What a reconciliation found.

    Attributes
    ----------
    problems : list of str
        One line per problem (a failed query, an order the venue does not know, a position
        that differs from the journal's fills); empty: :attr:`ok`.
    positions : dict of str to tuple of (Decimal, Decimal or None)
        Per sleeve: the signed net quantity of the journal's fills and the venue's net
        position (``None`` when the venue query failed).
    resent : list of str
        Client order ids of the ``new`` orders sent again because the venue never had them.
    """

    problems: list[str] = field(default_factory=list)
    positions: dict[str, tuple[Decimal, Decimal | None]] = field(default_factory=dict)
    resent: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


async def reconcile(
    journal: Journal,
    run_id: str,
    sleeves: Sequence[Sleeve],
    orders: OrderManager,
    *,
    now: datetime,
    resend_unsent: bool = False,
) -> ReconcileReport:
    """Reconcile every sleeve's orders, position and balance with its venue.

    The checks of the module docstring, orders first (so fills the venue reports are
    journaled before the positions are compared). Each venue position read is journaled
    (``source="venue"``), and a flat one when the venue lists none and the sleeve's latest
    venue snapshot was non-zero (written on the change only). The outcome is journaled: a
    ``critical`` ``reconciliation`` alert naming the problems, or the audit event
    ``reconcile.ok`` with the positions and the resent orders. The caller halts new risk
    when the report is not ``ok``.

    Parameters
    ----------
    journal : Journal
        The run's journal: the open orders' and fills' source of truth on our side.
    run_id : str
        The run being reconciled.
    sleeves : Sequence[Sleeve]
        Every sleeve of the run, each with its venue account and symbol.
    orders : OrderManager
        The run's order manager, loaded from the journal; orders are brought up to date in
        it (and in the journal) as the venue reports them.
    now : datetime.datetime
        The time the journal records are stamped with (UTC).
    resend_unsent : bool, default False
        Send again, with the same client id, a ``new`` order the venue provably does not
        have (on a restart); otherwise such an order is closed as cancelled.

    Returns
    -------
    ReconcileReport
        The problems found (empty: ``ok``), each sleeve's (journal, venue) net quantity
        (venue ``None`` when its query failed), and the client ids resent.
    """
    report = ReconcileReport()
    for sleeve in sleeves:
        await _orders(sleeve, orders, report, now, resend_unsent)
    book = journal.net_quantities(run_id)  # signed net fill quantity per sleeve
    read_journal = False  # the latest venue snapshots, read at most once per call
    for sleeve in sleeves:
        ours = book.get(sleeve.name, D0)
        try:
            venue = [
                p
                for p in await sleeve.exchange.get_positions(sleeve.symbol, market=sleeve.market)
                if p.symbol == sleeve.symbol and p.quantity != 0
            ]
            await sleeve.exchange.get_balance()
        except ExchangeError as exc:
            report.problems.append(f"{sleeve.name}: venue query failed ({exc})")
            report.positions[sleeve.name] = (ours, None)
            continue
        theirs = sum((p.quantity for p in venue), D0)
        report.positions[sleeve.name] = (ours, theirs)
        if sleeve.venue_reported is None and not read_journal:
            _last_venue_snapshots(journal, run_id, sleeves)
            read_journal = True
        for p in venue:
            journal.record_position(run_id, p, ts=now, strategy=sleeve.name, source="venue")
        if not venue and sleeve.venue_reported:
            # A venue lists only what it holds: without this row a position that vanished
            # (liquidated, closed by hand at the venue) would stay the latest venue snapshot,
            # and a reader of the journal alone (the watchdog) would never see it go flat.
            flat = Position(
                symbol=sleeve.symbol,
                quantity=D0,
                average_price=D0,
                market=sleeve.market,
                venue=sleeve.venue,
            )
            journal.record_position(run_id, flat, ts=now, strategy=sleeve.name, source="venue")
        sleeve.venue_reported = theirs
        if theirs != ours:
            report.problems.append(
                f"{sleeve.name}: {sleeve.venue} {sleeve.symbol} position {theirs} but the "
                f"journal's "
                f"fills sum to {ours}"
            )
    if report.problems:
        journal.raise_alert(
            "critical",
            "reconciliation",
            "reconciliation failed; new risk halted: " + "; ".join(report.problems)[:1000],
            details={"problems": report.problems},
            run_id=run_id,
            ts=now,
        )
    else:
        journal.audit(
            "reconcile.ok",
            {
                "positions": {k: str(v[0]) for k, v in report.positions.items()},
                "resent": report.resent,
            },
            run_id=run_id,
        )
    return report


async def _orders(
    sleeve: Sleeve, orders: OrderManager, report: ReconcileReport, now: datetime, resend: bool
) -> None:
    for state in orders.open_orders(sleeve.name):
        try:
            found = await sleeve.exchange.get_order_by_client_id(
                state.client_order_id, sleeve.symbol, market=sleeve.market
            )
        except ExchangeError as exc:
            report.problems.append(
                f"{sleeve.name}: order {state.client_order_id} look-up failed ({exc})"
            )
            continue
        if found is not None:
            orders.apply_result(state, found, ts=now)
            continue
        if state.status is not OrderStatus.NEW:
            report.problems.append(
                f"{sleeve.name}: journal has order {state.client_order_id} {state.status.value} "
                "but the venue has no such order"
            )
            continue
        if resend:
            await orders.send(
                sleeve.name,
                sleeve.exchange,
                orders.journaled_request(state.client_order_id),
                ts=now,
            )
            report.resent.append(state.client_order_id)
            if state.client_order_id in orders.unresolved:
                report.problems.append(
                    f"{sleeve.name}: resend of {state.client_order_id} unresolved"
                )
        else:
            orders.abandon(state, "not at the venue (look-up succeeded): never sent", ts=now)


def _last_venue_snapshots(journal: Journal, run_id: str, sleeves: Sequence[Sleeve]) -> None:
    """Set the ``venue_reported`` still unknown from the journal's latest venue snapshots.

    Needed once per process (a restart, or a sleeve whose venue query has not succeeded
    yet); afterwards reconciliation keeps it. A sleeve without a venue snapshot stays
    ``None`` (never reported: nothing to mark flat). Only whether it is zero is used: a flat
    row is written only when the venue lists no position, so a latest row of 0 means flat.
    """
    latest = {
        (row.venue, row.symbol, row.strategy): row.quantity
        for row in journal.latest_positions(run_id, source="venue")
    }
    for sleeve in sleeves:
        if sleeve.venue_reported is None:
            sleeve.venue_reported = latest.get((sleeve.venue, sleeve.symbol, sleeve.name))
