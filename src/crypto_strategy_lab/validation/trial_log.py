"""The trial log: every distinct trial ever run, grouped by the market data it was run on.

Selection bias grows with the number of configurations tried, so the Deflated Sharpe Ratio
needs the true number of trials and the variance of their Sharpe ratios (Bailey & López de
Prado 2014). The bookkeeping that makes that number honest:

* **Trial identity.** A trial is (data content fingerprint, timeframe, strategy, parameters,
  backtest settings — costs, stops, sizing, fill —, strategy code version):
  :func:`trial_identity`. A configuration run twice, under any study name, is one trial; a
  copy of the data file is the same data (the fingerprint hashes the bars, not the name).
* **Families.** Trials belong to a *family*: the underlying market data. Copies and
  resamplings of one source share a family (:meth:`TrialLog.register_data` matches a new
  dataset's daily closes against the known ones). :meth:`TrialLog.deflation` pools every
  trial of the family — all strategies, timeframes and parameter sets — and puts Sharpe
  ratios of different bar sizes on one (annual) scale before taking ``V[SR]``::

      V[SR] per bar = Var_k(SR_k sqrt(P_k)) / P

  with ``P_k`` the bars per year of trial ``k`` and ``P`` those of the selected one, so
  ``E[max SR]`` is the expected best of *everything tried on this market*.
* Every row is written through the journal's audit hash chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.core.errors import CSLError
from crypto_strategy_lab.journal.db import JournalLocation
from crypto_strategy_lab.journal.trial_store import TrialStore
from crypto_strategy_lab.journal.trials import DataFingerprintRecord, TrialRecord
from crypto_strategy_lab.performance.metrics import ReturnMoments, return_moments
from crypto_strategy_lab.validation.sharpe import deflated_sharpe_ratio

# two datasets are one family when their complete-day closes agree on at least this many days
FAMILY_MIN_OVERLAP_DAYS = 20
FAMILY_CLOSE_RTOL = 1e-9


class TrialLogError(CSLError):
    """The trial log cannot answer (no trials for the strategy, duplicate trial...)."""


@dataclass(frozen=True)
class DataIdentity:
    """What a trial's data is: content fingerprint, family, bar size, bars per year, name."""

    fingerprint: str
    family: str
    timeframe: str
    periods_per_year: float
    name: str = ""


def _canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def trial_identity(
    strategy: str,
    params: Mapping[str, Any],
    settings: Mapping[str, Any] | None,
    data: DataIdentity,
    code_version: str = "",
) -> str:
    """SHA-256 of the canonical JSON of everything that determines a trial's returns.

    That is the data's content fingerprint and timeframe, the strategy and its full
    parameters, the backtest settings (costs, stops, sizing, fill) and the strategy's code
    version.

    Parameters
    ----------
    strategy : str
        Strategy name.
    params : mapping
        Its full parameters.
    settings : mapping or None
        Backtest settings.
    data : DataIdentity
        The data the trial ran on.
    code_version : str, default ""
        The strategy's code version.

    Returns
    -------
    str
        64 hex characters.
    """
    payload = {
        "data": data.fingerprint,
        "timeframe": data.timeframe,
        "strategy": strategy,
        "params": dict(params),
        "settings": dict(settings or {}),
        "code": code_version,
    }
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()


def _legacy_hash(
    strategy: str, params: Mapping[str, Any], start: pd.Timestamp, end: pd.Timestamp, settings: Any
) -> str:
    # trials recorded without a data identity (direct API use): the data range stands in
    payload = {
        "strategy": strategy,
        "params": dict(params),
        "data_start": start.isoformat(),
        "data_end": end.isoformat(),
        "settings": dict(settings or {}),
    }
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Deflation:
    """The trials a Sharpe ratio is deflated by, and where they came from.

    ``n_trials`` and ``sr_variance`` (per bar of the selected trial's timeframe) enter the
    DSR; ``strategy_trials`` are the selected strategy's own trials in the family.
    """

    n_trials: int
    sr_variance: float
    strategy_trials: int
    n_strategies: int
    timeframes: tuple[str, ...]
    datasets: tuple[str, ...]
    families: tuple[str, ...]

    def describe(self) -> str:
        """One line: how many trials, over what.

        Returns
        -------
        str
            The line the gate's DSR criterion shows.
        """
        fams = ", ".join(f[:12] for f in self.families)
        return (
            f"deflated by {self.n_trials} trials of {self.n_strategies} strategies "
            f"(timeframes {', '.join(self.timeframes) or '?'}) on data family {fams} "
            f"(datasets: {', '.join(self.datasets)}); this strategy's own trials: "
            f"{self.strategy_trials}"
        )


def _daily_overlap_agrees(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    days = sorted(set(a) & set(b))
    if len(days) < FAMILY_MIN_OVERLAP_DAYS:
        return False
    x = np.array([a[d] for d in days], dtype=float)
    y = np.array([b[d] for d in days], dtype=float)
    return bool(np.allclose(x, y, rtol=FAMILY_CLOSE_RTOL, atol=0.0))


class TrialLog:
    """The trial log: trials and datasets, their families and the deflation they feed.

    The rows live in the journal's trial tables, which
    :class:`~crypto_strategy_lab.journal.trial_store.TrialStore` reads and appends to.

    Parameters
    ----------
    engine_or_url : sqlalchemy.engine.Engine or str or None, default None
        A SQLAlchemy engine or URL (default: the journal URL from settings). The journal is
        migrated to the latest schema first (trials and verdicts live in the audited journal).
    """

    def __init__(self, engine_or_url: JournalLocation = None) -> None:
        self._store = TrialStore(engine_or_url)
        self.engine = self._store.engine

    # -- datasets and families ----------------------------------------------------------

    def register_data(
        self,
        fingerprint: str,
        *,
        name: str,
        timeframe: str,
        n_bars: int,
        start: pd.Timestamp,
        end: pd.Timestamp,
        daily_closes: Mapping[str, float],
    ) -> str:
        """The family of a dataset, registering it when its content is new.

        A known fingerprint keeps its family (a copy of the data). A new one joins the first
        known family whose complete-day closes agree with its own on at least
        :data:`FAMILY_MIN_OVERLAP_DAYS` days (relative tolerance :data:`FAMILY_CLOSE_RTOL`):
        a resampling, a sub-range or an extension of the same market's prices. Otherwise it
        starts a family named by its own fingerprint.

        Parameters
        ----------
        fingerprint : str
            Content hash of the bars.
        name, timeframe : str
            Dataset name and bar size.
        n_bars : int
            Number of bars.
        start, end : pandas.Timestamp
            First and last bar.
        daily_closes : mapping of str to float
            Close of each complete UTC day, for family matching.

        Returns
        -------
        str
            The family.
        """
        known = self._store.dataset(fingerprint)
        if known is not None:
            return known.family
        family = next(
            (
                r.family
                for r in self._store.datasets()
                if _daily_overlap_agrees(r.daily_closes, daily_closes)
            ),
            fingerprint,
        )
        record = DataFingerprintRecord(
            content=fingerprint,
            family=family,
            name=name,
            timeframe=timeframe,
            n_bars=int(n_bars),
            data_start=pd.Timestamp(start).to_pydatetime(),
            data_end=pd.Timestamp(end).to_pydatetime(),
            daily_closes={str(k): float(v) for k, v in daily_closes.items()},
            created_at=datetime.now(UTC),
        )
        self._store.append(record, "data.registered")
        return family

    def datasets(self, family: str) -> pd.DataFrame:
        """The registered datasets of ``family``.

        Parameters
        ----------
        family : str
            The family.

        Returns
        -------
        pandas.DataFrame
            One row per dataset, in registration order: ``content, name, timeframe, n_bars,
            data_start, data_end``.
        """
        cols = ["content", "name", "timeframe", "n_bars", "data_start", "data_end"]
        rows = self._store.datasets(family)
        return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in rows], columns=cols)

    # -- trials -------------------------------------------------------------------------

    def record(
        self,
        *,
        study: str,
        strategy: str,
        params: Mapping[str, Any],
        returns: pd.Series,
        symbol: str = "",
        settings: Mapping[str, Any] | None = None,
        data: DataIdentity | None = None,
        code_version: str = "",
    ) -> TrialRecord:
        """Record one trial from its per-bar returns.

        Parameters
        ----------
        study : str
            The study that ran it.
        strategy : str
            Strategy name.
        params : mapping
            Its parameters.
        returns : pandas.Series
            Per-bar returns on a DatetimeIndex (its ends are the data range), at least 2.
        symbol : str, default ""
            The instrument.
        settings : mapping, optional
            Backtest settings (part of the identity).
        data : DataIdentity, optional
            The data; without it the identity hashes the data range instead (legacy).
        code_version : str, default ""
            The strategy's code version.

        Returns
        -------
        TrialRecord
            The stored row, with the per-period SR, skewness and raw kurtosis of `returns`.

        Raises
        ------
        TrialLogError
            If the log already holds the trial (same identity, whatever the study).
        """
        if not isinstance(returns.index, pd.DatetimeIndex) or len(returns) < 2:
            raise TrialLogError("a trial needs at least 2 returns on a DatetimeIndex")
        moments = return_moments(returns)
        start, end = returns.index[0], returns.index[-1]
        digest = (
            trial_identity(strategy, params, settings, data, code_version)
            if data is not None
            else _legacy_hash(strategy, params, start, end, settings)
        )
        if self.has_trial(digest):
            raise TrialLogError(
                f"trial {digest[:12]} ({strategy} {dict(params)}) is already logged"
            )
        row = TrialRecord(
            study=study,
            strategy=strategy,
            params=json.loads(json.dumps(dict(params), default=str)),
            symbol=symbol,
            data_start=start.to_pydatetime(),
            data_end=end.to_pydatetime(),
            config_hash=digest,
            sr=moments.sr,
            n_obs=moments.n_obs,
            skew=moments.skew,
            kurtosis=moments.kurtosis,
            created_at=datetime.now(UTC),
            data_fingerprint=data.fingerprint if data else "",
            family=data.family if data else "",
            timeframe=data.timeframe if data else "",
            code_version=code_version,
            periods_per_year=data.periods_per_year if data else None,
        )
        self._store.append(row, "trial.recorded")
        return row

    def has_trial(self, config_hash_: str) -> bool:
        """Whether the trial (its identity) is already logged, by any study.

        Parameters
        ----------
        config_hash_ : str
            The trial identity (:func:`trial_identity`).

        Returns
        -------
        bool
            True if a row holds it.
        """
        return self._store.has_trial(config_hash_)

    def trials(
        self, strategy: str | None = None, study: str | None = None, family: str | None = None
    ) -> pd.DataFrame:
        """Logged trials, optionally of one strategy, study or data family.

        Parameters
        ----------
        strategy, study, family : str, optional
            Filters (all trials when none is given).

        Returns
        -------
        pandas.DataFrame
            One row per trial, in insertion order, with every column of the trial table.
        """
        cols = [c.name for c in TrialRecord.__table__.columns]
        rows = self._store.trials(strategy, study, family)
        return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in rows], columns=cols)

    def trial_statistics(self, strategy: str, periods_per_year: float) -> tuple[int, float]:
        """``(n_trials, V[SR])`` a trial of ``strategy`` is deflated by: the gate's rule.

        The deflation set is every trial of the data families the strategy's trials were
        run on, with mixed bar sizes rescaled (:meth:`deflation`), so this, the gate and
        :meth:`deflated_sharpe_ratio` give one strategy one DSR.

        Parameters
        ----------
        strategy : str
            Strategy name.
        periods_per_year : float
            Bars per year of the trial being deflated.

        Returns
        -------
        n_trials, sr_variance : int, float
            Number of trials and the variance of their Sharpe ratios, per bar of
            `periods_per_year` (0 for a single trial).

        Raises
        ------
        TrialLogError
            If no trial of `strategy` is logged.
        """
        families = sorted(set(self.trials(strategy)["family"]))
        if not families:
            raise TrialLogError(f"no trials logged for strategy {strategy!r}")
        deflation = self.deflation(families, strategy, periods_per_year)
        return deflation.n_trials, deflation.sr_variance

    def deflation(
        self, families: Sequence[str], strategy: str, periods_per_year: float
    ) -> Deflation:
        """Every trial of ``families``, for deflating a trial of ``strategy``.

        Parameters
        ----------
        families : sequence of str
            Data families (several for a multi-asset search).
        strategy : str
            The strategy of the trial being deflated.
        periods_per_year : float
            Bars per year of the trial being deflated.

        Returns
        -------
        Deflation
            ``n_trials`` = every trial of the families (all strategies, timeframes and
            parameters), and ``sr_variance = Var_k(SR_k sqrt(P_k)) / P``: the variance of
            their annualised Sharpe ratios brought back to the selected trial's bars (module
            docstring).

        Raises
        ------
        TrialLogError
            If the families hold no trial of ``strategy``.
        """
        frames = [self.trials(family=f) for f in families]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if frame.empty or not (frame["strategy"] == strategy).any():
            raise TrialLogError(f"no trials of {strategy!r} logged on data family {families}")
        ppy = frame["periods_per_year"].astype(float).to_numpy()
        annual = frame["sr"].to_numpy(dtype=float) * np.sqrt(ppy)
        variance = float(np.var(annual, ddof=1)) / periods_per_year if annual.size > 1 else 0.0
        datasets = sorted({n for f in families for n in self.datasets(f)["name"]})
        return Deflation(
            n_trials=len(frame),
            sr_variance=variance,
            strategy_trials=int((frame["strategy"] == strategy).sum()),
            n_strategies=int(frame["strategy"].nunique()),
            timeframes=tuple(sorted(set(frame["timeframe"]))),
            datasets=tuple(datasets),
            families=tuple(families),
        )

    def deflated_sharpe_ratio(
        self,
        strategy: str,
        returns: pd.Series | ReturnMoments,
        *,
        periods_per_year: float,
    ) -> float:
        """DSR of a strategy's selected returns, deflated by every trial logged for it.

        ``n_trials`` and ``sr_variance`` come from the log (never from the caller), so the
        deflation always reflects every configuration that was actually tried.

        Parameters
        ----------
        strategy : str
            Strategy name; the deflation set is that of :meth:`trial_statistics`.
        returns : pandas.Series or ReturnMoments
            The selected configuration's per-bar returns, or their moments.
        periods_per_year : float
            Bars per year of `returns`.

        Returns
        -------
        float
            The DSR (:func:`~crypto_strategy_lab.validation.sharpe.deflated_sharpe_ratio`).

        Raises
        ------
        TrialLogError
            If no trial of `strategy` is logged.
        """
        moments = returns if isinstance(returns, ReturnMoments) else return_moments(returns)
        n_trials, variance = self.trial_statistics(strategy, periods_per_year)
        return deflated_sharpe_ratio(
            moments.sr, moments.n_obs, moments.skew, moments.kurtosis, n_trials, variance
        )
