"""The pooled cross-asset verdict: one strategy at one timeframe judged on every asset at once.

A multi-asset lab evaluates each (strategy, timeframe) on each asset separately. An edge that
is real should show on all of them; one that appears on one asset of three is what three
tries would produce. The pooled row asks the first question directly:

1. **members**: the lab rows of one strategy, timeframe and asset class, one per asset (two
   or more assets);
2. **configurations**: those every member's study ran (matched by parameters and stop
   policy); configuration ``c``'s pooled return is the equal-weight mean of the members' net
   returns of ``c`` on the timestamps they share, ``r_{P,c,t} = (1/K) Σ_a r_{a,c,t}``: one
   ``1/K`` of the capital traded on each asset, rebalanced to ``1/K`` every bar (each
   asset's fees, slippage, funding and stops are in its returns; the rebalancing between
   assets is not costed). The position sign (for counting bets) is
   ``sign(Σ_a sign(pos_{a,c,t}))``;
3. **the same gate** (:func:`~crypto_strategy_lab.research.assessment.assess_study`) over
   that ``(T, N)`` matrix: the best configuration in-sample, its DSR deflated by every trial
   of the search's data families (the family's N: every asset, timeframe and strategy),
   MinTRL in bets, PBO over the configurations and walk-forward selection among them.

The pooled configurations are not logged as trials of their own: each is a fixed average of
trials already counted in the family's N (one per asset), chosen by nothing but the
configuration itself. Pooled verdicts are reported (console table, report, ``results.json``)
but not stored in the journal: they name no single instrument, so no ``csl live`` or
``csl deploy`` could trade one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.performance.metrics import return_moments
from crypto_strategy_lab.research.assessment import StrategyAssessment, assess_study
from crypto_strategy_lab.research.study import StudyResult, StudySpec
from crypto_strategy_lab.validation.gate import GateConfig
from crypto_strategy_lab.validation.trial_log import DataIdentity, TrialLog

#: The symbol of a pooled row (its label: ``<strategy> <timeframe> <asset class> pooled``).
POOLED = "pooled"


@dataclass(frozen=True)
class PooledAssessment:
    """A pooled row: one strategy at one timeframe judged on several assets at once.

    Its label, the per-asset rows it pools (by dataset name) and the gate's assessment of
    the pooled configurations.

    Attributes
    ----------
    label : str
        ``<strategy> <timeframe> <asset class> pooled``.
    strategy : str
        The strategy pooled.
    timeframe : str
        Its timeframe.
    asset_class : str
        ``"crypto"`` or ``"equity"``.
    members : dict of str to StrategyAssessment
        The per-asset lab rows, by dataset name
        (:attr:`~crypto_strategy_lab.research.inputs.LabData.name`).
    assessment : StrategyAssessment
        The gate's assessment of the pooled study (:func:`pooled_study`), labelled with
        `label`.
    """

    label: str
    strategy: str
    timeframe: str
    asset_class: str
    members: dict[str, StrategyAssessment]
    assessment: StrategyAssessment


def _config_key(params: dict[str, Any], stop: Any) -> str:
    return json.dumps({"params": params, "stop": stop}, sort_keys=True, default=str)


def pooled_study(members: Sequence[StrategyAssessment], label: str) -> StudyResult | None:
    """The pooled ``(T, N)`` study of ``members`` (module docstring, step 2).

    Parameters
    ----------
    members : Sequence[StrategyAssessment]
        One lab row per asset, of one strategy and timeframe (at least one; the first
        gives the configuration labels, parameters, settings and annualisation).
    label : str
        The pooled row's label, also the study's dataset name.

    Returns
    -------
    StudyResult or None
        Per shared configuration (same parameters and stop policy in every member, under
        the first member's label): the equal-weight mean of the members' net returns on
        the timestamps they all have, and ``sign(Σ_a pos_a)`` of their position signs; the
        trials' ``status`` is ``"pooled"``, ``config_hash`` empty (not logged as trials),
        and the data identity's fingerprint hashes the members' sorted fingerprints. ``None``
        when they share no configuration or fewer than two timestamps.
    """

    def by_key(study: StudyResult) -> dict[str, str]:
        trials = study.trials
        pairs = zip(trials.index, trials["params"], trials["stop"], strict=True)
        return {_config_key(p, s): c for c, p, s in pairs}

    first = members[0].study
    keyed = [by_key(m.study) for m in members]
    shared = [(c, key) for key, c in keyed[0].items() if all(key in k for k in keyed)]
    if not shared:
        return None
    returns, positions = {}, {}
    for c, key in shared:
        pairs = [(m.study, k[key]) for m, k in zip(members, keyed, strict=True)]
        r = pd.concat([study.returns[col] for study, col in pairs], axis=1, join="inner")
        p = pd.concat([study.positions[col] for study, col in pairs], axis=1).reindex(r.index)
        returns[c] = r.mean(axis=1)
        positions[c] = np.sign(p.sum(axis=1)).astype(np.int8)
    matrix = pd.DataFrame(returns).dropna()
    if len(matrix) < 2:
        return None
    rows = [
        {
            "params": first.trials.at[c, "params"],
            "stop": first.trials.at[c, "stop"],
            "config_hash": "",
            "status": POOLED,
            "sr": return_moments(matrix[c].to_numpy()).sr,
            "n_trades": 0,
            "total_return": float(np.prod(1.0 + matrix[c].to_numpy()) - 1.0),
        }
        for c, _ in shared
    ]
    fingerprint = hashlib.sha256(
        "".join(sorted(m.study.data.fingerprint for m in members)).encode()
    ).hexdigest()[:16]
    data = DataIdentity(
        fingerprint, "", first.data.timeframe, first.periods_per_year, f"{POOLED}:{label}"
    )
    spec = StudySpec(f"lab:{POOLED}:{first.data.timeframe}", first.spec.strategy, (),
                     first.spec.settings, label)  # fmt: skip
    return StudyResult(
        spec,
        pd.DataFrame(rows, index=pd.Index([c for c, _ in shared], name="config")),
        matrix,
        first.periods_per_year,
        pd.DataFrame(positions).reindex(matrix.index),
        data,
    )


def pool_assets(
    groups: dict[tuple[str, str, str], dict[str, StrategyAssessment]],
    trial_log: TrialLog,
    gate: GateConfig | None = None,
    *,
    families: tuple[str, ...],
) -> list[PooledAssessment]:
    """A pooled row per (strategy, timeframe, asset class) group of rows on two or more assets.

    Parameters
    ----------
    groups : dict of tuple of (str, str, str) to dict of str to StrategyAssessment
        By ``(strategy, timeframe, asset class)``, the lab rows by dataset name; a group of
        fewer than two assets is skipped.
    trial_log : TrialLog
        The trial log the deflation counts the families' trials in.
    gate : GateConfig or None, optional
        The gate; ``None`` (default): its defaults.
    families : tuple of str
        The data families of the search, whose trials all deflate the pooled DSR.

    Returns
    -------
    list of PooledAssessment
        One per group with a pooled study (:func:`pooled_study`), labelled
        ``<strategy> <timeframe> <asset class> pooled``, in the order of `groups`.
    """
    out = []
    for (strategy, timeframe, kind), members in groups.items():
        if len(members) < 2:
            continue
        label = f"{strategy} {timeframe} {kind} {POOLED}"
        study = pooled_study(list(members.values()), label)
        if study is None:
            continue
        a = assess_study(study, trial_log, gate, families=families)
        a = dataclasses.replace(a, strategy=label)
        out.append(PooledAssessment(label, strategy, timeframe, kind, dict(members), a))
    return out
