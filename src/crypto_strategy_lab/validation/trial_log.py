"""The trial log: every configuration a study evaluated, and DSR computed from all of them.

Selection bias grows with the number of configurations tried, so the Deflated Sharpe Ratio
needs the true ``n_trials`` and the variance of the trials' Sharpe ratios (Bailey & López de
Prado 2014). :class:`TrialLog` records each trial (strategy, parameters, data range, config
hash, per-period SR, n_obs, skew, raw kurtosis) in the journal database and
:meth:`TrialLog.deflated_sharpe_ratio` reads ``n_trials`` and ``V[SR]`` back from it: the
caller cannot pass fewer trials than the log holds for that strategy.

Trials are counted per strategy across all studies (``study=None``) unless a study is named:
every configuration of a strategy ever tried on the data counts against its best one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.journal.db import make_engine, make_session_factory
from crypto_strategy_lab.journal.trials import TrialRecord
from crypto_strategy_lab.performance.metrics import ReturnMoments, return_moments
from crypto_strategy_lab.validation.sharpe import deflated_sharpe_ratio


class TrialLogError(CSLError):
    """The trial log cannot answer (no trials for the strategy, duplicate trial...)."""


def config_hash(
    strategy: str,
    params: Mapping[str, Any],
    data_start: datetime | pd.Timestamp,
    data_end: datetime | pd.Timestamp,
    settings: Mapping[str, Any] | None = None,
) -> str:
    """SHA-256 of the canonical JSON of everything that determines a trial's returns."""
    payload = {
        "strategy": strategy,
        "params": dict(params),
        "data_start": pd.Timestamp(data_start).isoformat(),
        "data_end": pd.Timestamp(data_end).isoformat(),
        "settings": dict(settings or {}),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TrialLog:
    """Repository of :class:`~crypto_strategy_lab.journal.trials.TrialRecord` rows.

    Parameters
    ----------
    engine_or_url:
        A SQLAlchemy engine or URL (default: the journal URL from settings). The ``trials``
        table is created if it does not exist.
    """

    def __init__(self, engine_or_url: Engine | str | None = None) -> None:
        self.engine = (
            engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
        )
        TrialRecord.__table__.create(self.engine, checkfirst=True)
        self._session = make_session_factory(self.engine)

    def record(
        self,
        *,
        study: str,
        strategy: str,
        params: Mapping[str, Any],
        returns: pd.Series,
        symbol: str = "",
        settings: Mapping[str, Any] | None = None,
    ) -> TrialRecord:
        """Record one trial from its per-bar returns (DatetimeIndex: the data range).

        Raises
        ------
        TrialLogError
            If the study already holds a trial with the same config hash.
        """
        if not isinstance(returns.index, pd.DatetimeIndex) or len(returns) < 2:
            raise TrialLogError("a trial needs at least 2 returns on a DatetimeIndex")
        moments = return_moments(returns)
        start, end = returns.index[0], returns.index[-1]
        row = TrialRecord(
            study=study,
            strategy=strategy,
            params=json.loads(json.dumps(dict(params), default=str)),
            symbol=symbol,
            data_start=start.to_pydatetime(),
            data_end=end.to_pydatetime(),
            config_hash=config_hash(strategy, params, start, end, settings),
            sr=moments.sr,
            n_obs=moments.n_obs,
            skew=moments.skew,
            kurtosis=moments.kurtosis,
            created_at=datetime.now(UTC),
        )
        with self._session() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise TrialLogError(
                    f"study {study!r} already has trial {row.config_hash[:12]} "
                    f"({strategy} {dict(params)})"
                ) from None
        return row

    def has_trial(self, study: str, config_hash_: str) -> bool:
        """Whether ``study`` already recorded the configuration (resumable studies)."""
        with self._session() as session:
            stmt = select(func.count()).where(
                TrialRecord.study == study, TrialRecord.config_hash == config_hash_
            )
            return bool(session.scalar(stmt))

    def trials(self, strategy: str | None = None, study: str | None = None) -> pd.DataFrame:
        """Logged trials as a DataFrame (one row per trial, in insertion order)."""
        stmt = select(TrialRecord).order_by(TrialRecord.id)
        if strategy is not None:
            stmt = stmt.where(TrialRecord.strategy == strategy)
        if study is not None:
            stmt = stmt.where(TrialRecord.study == study)
        cols = [
            "id",
            "study",
            "strategy",
            "params",
            "symbol",
            "data_start",
            "data_end",
            "config_hash",
            "sr",
            "n_obs",
            "skew",
            "kurtosis",
            "created_at",
        ]
        with self._session() as session:
            rows = session.scalars(stmt).all()
            return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in rows], columns=cols)

    def trial_statistics(self, strategy: str, study: str | None = None) -> tuple[int, float]:
        """``(n_trials, V[SR])`` over the strategy's logged trials (per-period SRs,
        ``ddof=1``; 0 variance for a single trial)."""
        srs = self.trials(strategy, study)["sr"].to_numpy(dtype=float)
        if srs.size == 0:
            raise TrialLogError(f"no trials logged for strategy {strategy!r}")
        return int(srs.size), float(np.var(srs, ddof=1)) if srs.size > 1 else 0.0

    def deflated_sharpe_ratio(
        self,
        strategy: str,
        returns: pd.Series | ReturnMoments,
        *,
        study: str | None = None,
    ) -> float:
        """DSR of a strategy's selected returns, deflated by every trial logged for it.

        ``n_trials`` and ``sr_variance`` come from the log (never from the caller), so the
        deflation always reflects every configuration that was actually tried.
        """
        moments = returns if isinstance(returns, ReturnMoments) else return_moments(returns)
        n_trials, variance = self.trial_statistics(strategy, study)
        return deflated_sharpe_ratio(
            moments.sr, moments.n_obs, moments.skew, moments.kurtosis, n_trials, variance
        )
