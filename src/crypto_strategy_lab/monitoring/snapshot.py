"""The alert rules' snapshot, built from the journal.

A :class:`~crypto_strategy_lab.monitoring.alerts.MonitorSnapshot`, so the rules can run
outside the trading loop (a watchdog process, a cron job) on exactly what the journal says.

Sources (all read-only):

- equity, its peak and the equity at 00:00 UTC: the run's equity points (``equity_blocks``,
  and the ``equity_curve`` rows of a journal from before migration 0007);
- kill switch: the latest ``halt_events`` row of scope ``global``;
- reconciliation mismatches: per ``(venue, symbol)``, the net quantity of the latest
  ``venue``-source position snapshots (what the venue reported at the last reconciliation,
  a flat row when it listed none) against the latest ``journal``-source ones (a book
  without one is flat), once a reconciliation has journaled any;
- last data time per symbol: the latest bar timestamp in ``signals``;
- rejects: times of orders whose current state is ``rejected`` plus risk-engine ``reject``
  decisions.

Venue errors are not journaled as such (they surface as alerts), so the trading loop passes
them in itself (``venue_error_times``), as it does to
:meth:`~crypto_strategy_lab.monitoring.metrics.TradingMetrics.record_venue_error`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import pandas as pd

from crypto_strategy_lab.monitoring.alerts import MonitorSnapshot
from crypto_strategy_lab.monitoring.performance import pnl_today
from crypto_strategy_lab.monitoring.reader import JournalReader

QUANTITY_TOLERANCE = 1e-9


def reconciliation_mismatches(journaled: pd.DataFrame, venue: pd.DataFrame) -> list[str]:
    """Human-readable ``(venue, symbol)`` net-quantity differences, once the venue reported.

    Parameters
    ----------
    journaled : pandas.DataFrame
        The latest positions the journal holds (``venue``, ``symbol``, ``quantity``; signed
        base units), flat books included or not: a pair absent here is flat.
    venue : pandas.DataFrame
        The latest positions the venue reported, same columns, flat books included (a
        reconciliation journals a flat row when a venue lists no position).

    Returns
    -------
    list of str
        One ``"<venue> <symbol>: venue <q> vs journal <q>"`` per pair whose summed
        quantities differ by more than ``QUANTITY_TOLERANCE`` (a pair missing on one side
        counts as 0 there). Empty when ``venue`` is empty: no reconciliation has reported
        yet, so there is nothing to compare (reading that as "venue flat" would raise a
        mismatch for every position of a run that does not reconcile, such as a replay).
    """
    if len(venue) == 0:
        return []
    theirs = venue.groupby(["venue", "symbol"])["quantity"].sum()
    ours = (
        journaled.groupby(["venue", "symbol"])["quantity"].sum()
        if len(journaled)
        else pd.Series(0.0, index=theirs.index)
    )
    both = pd.concat({"journal": ours, "venue": theirs}, axis=1).fillna(0.0)
    bad = both[(both["journal"] - both["venue"]).abs() > QUANTITY_TOLERANCE]
    return [
        f"{v} {s}: venue {row['venue']:g} vs journal {row['journal']:g}"
        for (v, s), row in bad.iterrows()
    ]


def journal_snapshot(
    reader: JournalReader,
    run_id: str,
    now: datetime,
    *,
    venue_error_times: Mapping[str, Sequence[datetime]] | None = None,
) -> MonitorSnapshot | None:
    """The run's state at ``now`` for :func:`~.alerts.evaluate_rules`.

    Parameters
    ----------
    reader : JournalReader
        The journal, read-only.
    run_id : str
        The run.
    now : datetime
        The evaluation instant (timezone-aware).
    venue_error_times : Mapping[str, Sequence[datetime]], optional
        Recent venue errors per venue, which the journal does not record.

    Returns
    -------
    MonitorSnapshot or None
        Built from the sources above; ``None`` before the run's first equity point.
    """
    equity = reader.equity(run_id)
    if len(equity) == 0:
        return None
    series = equity["equity"]
    halts = reader.halt_states()
    kill = halts[halts["scope"] == "global"] if len(halts) else halts
    kill_on = bool(len(kill)) and kill.iloc[0]["action"] == "halt"
    prices = reader.signals_prices(run_id)
    last_data = (
        {str(k): v.to_pydatetime() for k, v in prices.groupby("symbol")["ts"].max().items()}
        if len(prices)
        else {}
    )
    orders = reader.orders(run_id, limit=1000)
    rejects = list(orders.loc[orders["status"] == "rejected", "updated_at"]) if len(orders) else []
    risk = reader.risk_events(run_id, limit=1000)
    if len(risk):
        rejects += list(risk.loc[risk["decision"] == "reject", "ts"])
    return MonitorSnapshot(
        timestamp=now,
        equity=float(series.iloc[-1]),
        peak_equity=float(series.max()),
        day_start_equity=pnl_today(series).day_start_equity,
        kill_switch_active=kill_on,
        kill_switch_reason=str(kill.iloc[0]["reason"]) if kill_on else None,
        reconciliation_mismatches=reconciliation_mismatches(
            reader.positions(run_id, "journal"), reader.positions(run_id, "venue", flat=True)
        ),
        last_data_at=last_data,
        reject_times=[pd.Timestamp(t).to_pydatetime() for t in rejects],
        venue_error_times=dict(venue_error_times or {}),
    )
