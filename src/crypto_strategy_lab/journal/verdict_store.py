"""Reads of and audited appends to the gate-verdict table (:mod:`.verdicts`).

The storage of :class:`crypto_strategy_lab.research.verdicts.VerdictStore`, which owns what a
verdict means.
"""

from __future__ import annotations

from sqlalchemy import select

from crypto_strategy_lab.journal.db import JournalLocation, engine_for
from crypto_strategy_lab.journal.verdicts import GateVerdictRecord
from crypto_strategy_lab.journal.writer import ChainWriter


class GateVerdictStore:
    """The ``gate_verdicts`` table of the journal at ``journal``.

    The journal is migrated to the latest schema first. Rows are appended through the audit
    chain and never updated.

    Parameters
    ----------
    journal : Engine, str or None
        An engine, a URL, or ``None``: the default journal.
    """

    def __init__(self, journal: JournalLocation = None) -> None:
        from crypto_strategy_lab.journal.migrate import upgrade

        self.engine = engine_for(journal)
        upgrade(self.engine)
        self._writer = ChainWriter(self.engine)

    def append(self, record: GateVerdictRecord) -> None:
        """Insert ``record`` and its ``gate.verdict`` audit event in one transaction.

        Parameters
        ----------
        record : GateVerdictRecord
            The verdict row to append.
        """
        self._writer.write(lambda session: self._writer.add(session, record, "gate.verdict", None))

    def latest(
        self,
        strategy: str,
        *,
        symbol: str | None = None,
        instrument: str | None = None,
        timeframe: str | None = None,
    ) -> GateVerdictRecord | None:
        """The most recent verdict row of ``strategy``.

        Parameters
        ----------
        strategy : str
            The strategy's registered name.
        symbol : str or None, optional
            Only verdicts on the dataset of this name; ``None`` (default): any.
        instrument : str or None, optional
            Only verdicts on this instrument (e.g. ``"BTCUSDT"``); ``None`` (default): any.
        timeframe : str or None, optional
            Only verdicts on bars of this size; ``None`` (default): any.

        Returns
        -------
        GateVerdictRecord or None
            The matching row of the highest id; ``None`` when there is none.
        """
        stmt = select(GateVerdictRecord).where(GateVerdictRecord.strategy == strategy)
        if symbol is not None:
            stmt = stmt.where(GateVerdictRecord.symbol == symbol)
        if instrument is not None:
            stmt = stmt.where(GateVerdictRecord.instrument == instrument)
        if timeframe is not None:
            stmt = stmt.where(GateVerdictRecord.timeframe == timeframe)
        with self._writer.sessions() as session:
            return session.scalars(stmt.order_by(GateVerdictRecord.id.desc()).limit(1)).first()
