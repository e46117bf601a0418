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
        """Insert ``record`` and its audit event (of ``kind``) in one transaction.

        Parameters
        ----------
        record : TrialRecord or DataFingerprintRecord
            The row to append.
        kind : str
            The audit event's kind (the trial log names it).
        """
        self._writer.write(lambda session: self._writer.add(session, record, kind, None))

    def dataset(self, fingerprint: str) -> DataFingerprintRecord | None:
        """The registered dataset of content ``fingerprint``.

        Parameters
        ----------
        fingerprint : str
            The SHA-256 (hex) of the dataset's bars' content.

        Returns
        -------
        DataFingerprintRecord or None
            The dataset's row; ``None``: not registered.
        """
        with self._writer.sessions() as session:
            return session.get(DataFingerprintRecord, fingerprint)

    def datasets(self, family: str | None = None) -> list[DataFingerprintRecord]:
        """The registered datasets, in the order they were registered.

        Parameters
        ----------
        family : str or None, optional
            Only this family of market data; ``None`` (default): every dataset.

        Returns
        -------
        list of DataFingerprintRecord
            Ordered by registration time.
        """
        stmt = select(DataFingerprintRecord).order_by(DataFingerprintRecord.created_at)
        if family is not None:
            stmt = stmt.where(DataFingerprintRecord.family == family)
        with self._writer.sessions() as session:
            return list(session.scalars(stmt))

    def has_trial(self, config_hash: str) -> bool:
        """Whether a trial of identity ``config_hash`` is logged (by any study).

        Parameters
        ----------
        config_hash : str
            The trial identity (:func:`~crypto_strategy_lab.validation.trial_log.trial_identity`).

        Returns
        -------
        bool
            ``True`` if at least one row holds it.
        """
        stmt = select(func.count()).where(TrialRecord.config_hash == config_hash)
        with self._writer.sessions() as session:
            return bool(session.scalar(stmt))

    def trials(
        self, strategy: str | None = None, study: str | None = None, family: str | None = None
    ) -> list[TrialRecord]:
        """The logged trials, in insertion order.

        Each filter given narrows the rows; ``None`` (the default of each) does not filter.

        Parameters
        ----------
        strategy : str or None, optional
            Only this strategy's trials.
        study : str or None, optional
            Only this study's trials.
        family : str or None, optional
            Only trials on this family of market data (rows older than trial identities
            have the family ``""``).

        Returns
        -------
        list of TrialRecord
            Ordered by id.
        """
        stmt = select(TrialRecord).order_by(TrialRecord.id)
        if strategy is not None:
            stmt = stmt.where(TrialRecord.strategy == strategy)
        if study is not None:
            stmt = stmt.where(TrialRecord.study == study)
        if family is not None:
            stmt = stmt.where(TrialRecord.family == family)
        with self._writer.sessions() as session:
            return list(session.scalars(stmt))
