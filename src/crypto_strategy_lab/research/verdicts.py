"""Stored gate verdicts: what each lab run decided, for ``csl live`` and the dashboard.

Every lab run (and ``csl validate``) writes one row per strategy to the journal table
``gate_verdicts`` (declared in :mod:`crypto_strategy_lab.journal.verdicts`), through the
journal's audit hash chain: run id, strategy, dataset, overall pass, the selected parameters,
every criterion with its value, comparison, threshold and result, and what the verdict
tested — instrument, timeframe, the data's content fingerprint and family, the strategy's
code version.

:func:`live_refusal` is the rule the trading side applies before going live: the journal's
audit chain verifies (a verdict inserted or edited by hand breaks it), and the latest verdict
for the same strategy, parameters, instrument and timeframe passed, names a data fingerprint,
holds every criterion of the gate and was for the strategy's current code version (a strategy
edited after it passed must pass again). A strategy's verdict also records, under the
:data:`STOPS` key of its parameters, the stop policy of the selected configuration
(:func:`~crypto_strategy_lab.core.stop_policy.stop_policy_identity`: off, fixed fractions or
ATR units with their levels); the deployed protective exits must be that policy. Anything else
refuses, with the reason.

Non-finite criterion values (NaN for "not computed", ``inf`` for an unreachable MinTRL) are
stored as JSON ``null`` / ``"inf"`` / ``"-inf"`` (JSON has no NaN) and restored on read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crypto_strategy_lab.core.stop_policy import describe_stop_policy
from crypto_strategy_lab.journal.db import JournalLocation
from crypto_strategy_lab.journal.verdict_store import GateVerdictStore
from crypto_strategy_lab.journal.verdicts import GateVerdictRecord
from crypto_strategy_lab.validation.gate import Criterion, GateConfig, GateVerdict
from crypto_strategy_lab.validation.trial_log import DataIdentity

#: Key of a strategy verdict's parameters that holds the stop policy it was tested with.
STOPS = "stops"


def _encode(x: float) -> float | str | None:
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return float(x)


def _decode(x: float | str | None) -> float:
    return math.nan if x is None else float(x)


@dataclass(frozen=True)
class StoredVerdict:
    """A verdict as stored: the :class:`GateVerdict` and where it came from.

    Attributes
    ----------
    verdict : GateVerdict
        The criteria, NaN and infinities restored.
    run_id : str
        The lab run that produced it.
    symbol : str
        The dataset it is on.
    params : dict of str to Any
        What was tested (parameters and stop policy, or a book's weighting and members).
    created_at : datetime.datetime
        When it was stored (UTC).
    instrument : str
        The traded symbol, ``""`` when unknown.
    timeframe : str
        The bar size, ``""`` when unknown.
    data_fingerprint : str
        The content fingerprint of the bars, ``""`` when unknown.
    family : str
        The data family, ``""`` when unknown.
    code_version : str
        The strategy's code version, ``""`` when unknown.
    """

    verdict: GateVerdict
    run_id: str
    symbol: str
    params: dict[str, Any]
    created_at: datetime
    instrument: str = ""
    timeframe: str = ""
    data_fingerprint: str = ""
    family: str = ""
    code_version: str = ""


class VerdictStore:
    """Gate verdicts saved to and read from the journal.

    :class:`~crypto_strategy_lab.journal.verdict_store.GateVerdictStore` holds the rows; this
    class encodes a :class:`GateVerdict` into one and decodes it back.

    Parameters
    ----------
    engine_or_url : JournalLocation, optional
        An engine, a URL, or ``None`` (default): the default journal; migrated to the latest
        schema on construction.
    """

    def __init__(self, engine_or_url: JournalLocation = None) -> None:
        self._rows = GateVerdictStore(engine_or_url)
        self.engine = self._rows.engine

    def save(
        self,
        run_id: str,
        verdict: GateVerdict,
        *,
        symbol: str,
        params: Mapping[str, Any],
        report_path: str = "",
        instrument: str = "",
        data: DataIdentity | None = None,
        code_version: str = "",
    ) -> None:
        """Append one verdict through the audit chain (rows are never updated).

        ``instrument`` (e.g. ``BTCUSDT``) and ``data`` (fingerprint, family, timeframe) say
        what the verdict tested; a verdict without them never unlocks ``csl live``.

        Parameters
        ----------
        run_id : str
            The lab run the verdict came from.
        verdict : GateVerdict
            The strategy's criteria; NaN and infinite values and thresholds are stored
            encoded (JSON has neither) and decoded by :meth:`latest`.
        symbol : str
            The dataset the verdict is on (``<dataset>@<timeframe>``, or a book's label).
        params : Mapping[str, Any]
            What was tested: the selected parameters (and, under :data:`STOPS`, the stop
            policy), or a book's weighting, members and caps.
        report_path : str, default ""
            The HTML report showing the verdict.
        instrument : str, default ""
            The traded symbol the bars are of; ``""``: unknown.
        data : DataIdentity or None, optional
            The data's fingerprint, family and timeframe; ``None``: stored empty.
        code_version : str, default ""
            The strategy's code version (:func:`~.identity.strategy_code_version`).
        """
        criteria = [
            {
                "name": c.name,
                "value": _encode(c.value),
                "comparison": c.comparison,
                "threshold": _encode(c.threshold),
                "passed": bool(c.passed),
                "detail": c.detail,
            }
            for c in verdict.criteria
        ]
        row = GateVerdictRecord(
            run_id=run_id,
            strategy=verdict.strategy,
            symbol=symbol,
            passed=verdict.passed,
            params=dict(params),
            criteria=criteria,
            report_path=report_path,
            created_at=datetime.now(UTC),
            instrument=instrument,
            timeframe=data.timeframe if data else "",
            data_fingerprint=data.fingerprint if data else "",
            family=data.family if data else "",
            code_version=code_version,
        )
        self._rows.append(row)

    def latest(
        self,
        strategy: str,
        symbol: str | None = None,
        *,
        instrument: str | None = None,
        timeframe: str | None = None,
    ) -> StoredVerdict | None:
        """The most recent verdict for ``strategy``.

        Parameters
        ----------
        strategy : str
            The strategy's name (``"book"`` for books).
        symbol : str or None, optional
            Only verdicts on this dataset; ``None`` (default): any.
        instrument : str or None, optional
            Only verdicts on this instrument (``"BTCUSDT"``); ``None`` (default): any.
        timeframe : str or None, optional
            Only verdicts on bars of this size; ``None`` (default): any.

        Returns
        -------
        StoredVerdict or None
            The newest matching verdict with its criteria decoded (NaN restored) and what it
            tested; ``None`` when there is none.
        """
        row = self._rows.latest(strategy, symbol=symbol, instrument=instrument, timeframe=timeframe)
        if row is None:
            return None
        criteria = tuple(
            Criterion(
                c["name"],
                _decode(c["value"]),
                _decode(c["threshold"]),
                c["comparison"],
                bool(c["passed"]),
                c.get("detail", ""),
            )
            for c in row.criteria
        )
        return StoredVerdict(
            GateVerdict(row.strategy, criteria),
            row.run_id,
            row.symbol,
            row.params,
            row.created_at,
            row.instrument,
            row.timeframe,
            row.data_fingerprint,
            row.family,
            row.code_version,
        )


def latest_verdict(
    strategy: str, engine_or_url: JournalLocation = None, *, symbol: str | None = None
) -> GateVerdict | None:
    """The latest stored gate verdict of ``strategy``, ``None`` if no lab run has judged it.

    Parameters
    ----------
    strategy : str
        The strategy.
    engine_or_url : Engine, str or None
        The journal (default: the journal database).
    symbol : str, optional
        Only verdicts on this dataset.

    Returns
    -------
    GateVerdict or None
        The latest verdict, or ``None`` if no lab run has judged it.
    """
    stored = VerdictStore(engine_or_url).latest(strategy, symbol)
    return None if stored is None else stored.verdict


def live_refusal(
    strategy: str,
    params: Mapping[str, Any],
    instrument: str,
    timeframe: str,
    engine_or_url: JournalLocation = None,
    gate: GateConfig | None = None,
    *,
    stops: Mapping[str, Any] | None = None,
    code_version: str | None = None,
) -> str | None:
    """Why the stored verdicts do not allow trading ``strategy`` live, or ``None``.

    ``None`` means a matching, passing, chained verdict. The whole audit chain must verify
    first: a verdict row inserted or edited outside the journal, or any other tampering,
    refuses.

    Parameters
    ----------
    strategy : str
        The strategy (or ``book``) to trade.
    params : Mapping[str, Any]
        The parameters to trade, which the verdict must have tested.
    instrument : str
        The instrument to trade (e.g. ``BTCUSDT``).
    timeframe : str
        The bar size to trade.
    engine_or_url : Engine, str or None
        The journal (default: the journal database).
    gate : GateConfig, optional
        The gate whose criteria the verdict must all have checked (default ``GateConfig()``).
    stops : Mapping[str, Any], optional
        The identity of the protective exits to trade
        (:func:`~crypto_strategy_lab.core.stop_policy.stop_policy_identity`); it must equal the
        stop policy the verdict tested. ``None`` compares none (a book's verdict, whose
        members' stops are part of their trials).
    code_version : str, optional
        The strategy's current code version (:func:`~.identity.strategy_code_version`); it
        must equal the code version the verdict tested, and a verdict stored without one
        refuses (it cannot show which code passed). ``None`` compares none (a book's verdict:
        its members' code is checked by their own verdicts in a live deployment).

    Returns
    -------
    str or None
        The reason for refusing, one line; ``None`` to allow.
    """
    from crypto_strategy_lab.journal.audit import verify_audit_chain

    store = VerdictStore(engine_or_url)
    report = verify_audit_chain(store.engine)
    if not report.ok:
        return (
            f"the journal's audit chain does not verify ({len(report.problems)} problems, "
            f"first: {report.problems[0]}); run `csl audit verify`"
        )
    stored = store.latest(strategy, instrument=instrument, timeframe=timeframe)
    where = f"{strategy} on {instrument} {timeframe}"
    if stored is None:
        return f"no passing gate verdict found for {where} (run `csl lab` or `csl validate` first)"
    if not stored.verdict.passed:
        return f"the latest gate verdict for {where} FAILED"
    if not stored.data_fingerprint:
        return f"the latest gate verdict for {where} names no data fingerprint"
    wanted = {name for name in (gate or GateConfig()).criteria}
    present = {c.name for c in stored.verdict.criteria}
    if not wanted <= present:
        return (
            f"the latest gate verdict for {where} lacks criteria "
            f"{', '.join(sorted(wanted - present))}"
        )
    if code_version is not None:
        if not stored.code_version:
            return (
                f"the latest gate verdict for {where} names no code version (stored before "
                "verdicts recorded one); run `csl lab` or `csl validate` again"
            )
        if stored.code_version != code_version:
            return (
                f"the latest gate verdict for {where} was for code {stored.code_version}, "
                f"the code now is {code_version}: re-run the gate"
            )
    tested = dict(stored.params)
    if stops is not None:
        tested_stops = tested.pop(STOPS, None)
        if tested_stops is None:
            return (
                f"the latest gate verdict for {where} names no stop policy (stored before "
                "verdicts recorded one); run `csl lab` or `csl validate` again"
            )
        if tested_stops != dict(stops):
            return (
                f"the latest gate verdict for {where} tested stops "
                f"{describe_stop_policy(tested_stops)}, not the ones to trade "
                f"{describe_stop_policy(dict(stops))}: set the strategy's `stops` to the "
                "validated policy, or validate this one"
            )
    if tested != dict(params):
        return (
            f"the latest gate verdict for {where} tested parameters {tested}, "
            f"not the ones to trade {dict(params)}"
        )
    return None


__all__ = [
    "STOPS",
    "GateVerdictRecord",
    "StoredVerdict",
    "VerdictStore",
    "latest_verdict",
    "live_refusal",
]
