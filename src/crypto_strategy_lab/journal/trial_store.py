"""Reads of and audited appends to the trial-log tables (:mod:`.trials`).

The storage of :class:`crypto_strategy_lab.validation.trial_log.TrialLog`, which owns what
the rows mean.
"""

from __future__ import annotations

from sqlalchemy import func, select

from crypto_strategy_lab.journal.db import JournalLocation, engine_for
from crypto_strategy_lab.journal.trials import DataFingerprintRecord, TrialRecord
from crypto_strategy_lab.journal.writer import ChainWriter


class TrialStore:
    """The ``trials`` and ``data_fingerprints`` tables of the journal at ``journal``.

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

    def append(self, record: TrialRecord | DataFingerprintRecord, kind: str) -> None:
        """Insert ``record`` and its audit event (of ``kind``) in one transaction."""
        self._writer.write(lambda session: self._writer.add(session, record, kind, None))

    def dataset(self, fingerprint: str) -> DataFingerprintRecord | None:
        """The registered dataset of content ``fingerprint`` (``None``: not registered)."""
        with self._writer.sessions() as session:
            return session.get(DataFingerprintRecord, fingerprint)

    def datasets(self, family: str | None = None) -> list[DataFingerprintRecord]:
        """The registered datasets (of ``family``), in the order they were registered."""
        stmt = select(DataFingerprintRecord).order_by(DataFingerprintRecord.created_at)
        if family is not None:
            stmt = stmt.where(DataFingerprintRecord.family == family)
        with self._writer.sessions() as session:
            return list(session.scalars(stmt))

    def has_trial(self, config_hash: str) -> bool:
        """Whether a trial of identity ``config_hash`` is logged (by any study)."""
        stmt = select(func.count()).where(TrialRecord.config_hash == config_hash)
        with self._writer.sessions() as session:
            return bool(session.scalar(stmt))

    def trials(
        self, strategy: str | None = None, study: str | None = None, family: str | None = None
    ) -> list[TrialRecord]:
        """The logged trials (of ``strategy``, ``study``, ``family``), in insertion order."""
        stmt = select(TrialRecord).order_by(TrialRecord.id)
        if strategy is not None:
            stmt = stmt.where(TrialRecord.strategy == strategy)
        if study is not None:
            stmt = stmt.where(TrialRecord.study == study)
        if family is not None:
            stmt = stmt.where(TrialRecord.family == family)
        with self._writer.sessions() as session:
            return list(session.scalars(stmt))
