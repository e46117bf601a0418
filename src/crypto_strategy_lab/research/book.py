"""The book: the lab's selected strategies combined into one portfolio, through the gate.

A deployment trades several strategies at once with budgets from
:func:`~crypto_strategy_lab.performance.allocation.capped_budgets` (the one budget rule of
research and trading). Choosing which strategies go in, and how to weight them, is one more
search, so it is validated like a strategy's parameters:

1. **members**: the strategies evaluated on one bar grid (one dataset at one timeframe), each
   at the configuration its own study selected;
2. **candidates**: every weighting (``equal``, ``inverse_volatility``, ``fractional_kelly``)
   × every member set tried — all members and, with three or more, each set that leaves one
   out. Each candidate is logged in the trial log (strategy ``book``, on the data's family),
   so the book's DSR is deflated by the member trials *and* the book candidates;
3. **returns**, causally: the budgets ``b_{s,m}`` of month ``m`` are estimated (the rule of
   :func:`~crypto_strategy_lab.performance.allocation.capped_budgets`) from the members'
   returns strictly before the month starts (expanding window; equal budgets,
   capped, until :data:`MIN_ESTIMATION_BARS` returns exist), and
   ``r_{B,t} = Σ_s b_{s,m(t)} r_{s,t}`` with ``r_s`` each member's per-bar net return at full
   sizing (its fees, slippage, funding and stops included). A bar's return uses no data
   after its month's start, so walk-forward and PBO see no lookahead. The book's position sign
   (for counting bets) is ``sign(Σ_s b_s pos_s)``;
4. the gate (:func:`~crypto_strategy_lab.research.assessment.assess_study`): the best
   in-sample candidate, DSR deflated by the family's N, MinTRL in bets, PBO over the
   candidates and walk-forward selection among them.

What this leaves out, stated rather than hidden: the cost of resizing sleeves when budgets
change at a month start (each sleeve's own trades are costed; the budget shifts between them
are not), and the drift of sleeve equities between re-estimations (a deployed book holds
each sleeve's cash apart, this one rebalances to its budgets every bar).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.performance.allocation import (
    METHODS,
    PortfolioError,
    WeightingMethod,
    budget_rows,
    cap_rows,
)
from crypto_strategy_lab.performance.metrics import return_moments
from crypto_strategy_lab.research.assessment import StrategyAssessment, assess_study
from crypto_strategy_lab.research.identity import code_version
from crypto_strategy_lab.research.study import StudyResult, StudySpec
from crypto_strategy_lab.validation.gate import GateConfig, GateVerdict
from crypto_strategy_lab.validation.trial_log import TrialLog, trial_identity

#: The strategy name book trials and verdicts are logged under.
BOOK = "book"
#: Fewest member returns the budgets are estimated from; equal budgets before that.
MIN_ESTIMATION_BARS = 500
#: The brief's caps (``MAX_POSITION_SIZE`` 10 % per strategy, 50 % gross) and half Kelly: the
#: risk engine's defaults, which a deployment must trade for its book verdict to apply.
MAX_WEIGHT, MAX_GROSS, KELLY_FRACTION = 0.10, 0.50, 0.5


@dataclass(frozen=True)
class BookCaps:
    """The caps a book's budgets are held to (``RiskLimits`` fields of the same meaning).

    Attributes
    ----------
    max_weight : float
        Per-member cap on a budget (fraction of equity per unit of signal).
    max_gross : float
        Cap on the sum of the budgets.
    kelly_fraction : float
        Fraction of the Kelly bet of ``fractional_kelly``, in (0, 1].
    """

    max_weight: float = MAX_WEIGHT
    max_gross: float = MAX_GROSS
    kelly_fraction: float = KELLY_FRACTION

    def as_dict(self) -> dict[str, float]:
        """The caps by field name, as a book verdict stores them.

        Returns
        -------
        dict of str to float
            ``max_weight``, ``max_gross`` and ``kelly_fraction``.
        """
        return {
            "max_weight": self.max_weight,
            "max_gross": self.max_gross,
            "kelly_fraction": self.kelly_fraction,
        }


def book_params(
    weighting: str, members: dict[str, dict[str, Any]], caps: BookCaps | None = None
) -> dict[str, Any]:
    """What a book verdict tested, as stored with it and compared by ``csl deploy``.

    Parameters
    ----------
    weighting : str
        The candidate's weighting (``equal``, ``inverse_volatility``, ``fractional_kelly``).
    members : dict of str to dict
        Each member strategy's full parameters, by name.
    caps : BookCaps or None, optional
        The caps the budgets were held to; ``None`` (default): :class:`BookCaps`' defaults.

    Returns
    -------
    dict of str to Any
        ``weighting``, ``members`` (sorted by name, each parameter mapping copied) and the
        caps' fields (:meth:`BookCaps.as_dict`).
    """
    return {
        "weighting": weighting,
        "members": {name: dict(members[name]) for name in sorted(members)},
        **(caps or BookCaps()).as_dict(),
    }


@dataclass(frozen=True)
class BookAssessment:
    """A validated book: its label, the members it chose from and the gate's assessment.

    ``assessment.selected`` is the winning candidate's column; :attr:`params` says what it
    holds (weighting, members and their parameters, caps).

    Attributes
    ----------
    label : str
        The book's row label.
    members : dict of str to StrategyAssessment
        The member strategies' assessments, by strategy name.
    candidates : dict of str to dict
        Each candidate's :func:`book_params`, by column label.
    assessment : StrategyAssessment
        The gate's assessment of the candidates.
    code_version : str
        The book's code version: 16 hex digits of SHA-256 over the members' trial
        identities and this module's code (:func:`~.identity.code_version`, docstrings left
        out); ``""`` when unknown.
    """

    label: str
    members: dict[str, StrategyAssessment]
    candidates: dict[str, dict[str, Any]]
    assessment: StrategyAssessment
    code_version: str = ""

    @property
    def params(self) -> dict[str, Any]:
        """The selected candidate: weighting, members' parameters and caps."""
        return self.candidates[self.assessment.selected]

    @property
    def verdict(self) -> GateVerdict:
        """The gate's verdict on the selected candidate."""
        return self.assessment.verdict

    def budgets(self) -> pd.DataFrame:
        """The selected candidate's budget per bar and member.

        The rule its returns were built by (:func:`monthly_budgets`): ``assessment.returns`` is
        the budgets times the members' returns, summed.

        Returns
        -------
        pandas.DataFrame
            Budgets (fraction of equity per unit of signal), one column per member of the
            selected candidate, on the members' common bars.
        """
        params = self.params
        caps = BookCaps(params["max_weight"], params["max_gross"], params["kelly_fraction"])
        returns = member_returns(self.members)[list(params["members"])]
        return monthly_budgets(returns, params["weighting"], caps)


def member_returns(members: Mapping[str, StrategyAssessment]) -> pd.DataFrame:
    """The members' selected returns (columns: strategy names) on their common bars.

    Parameters
    ----------
    members : Mapping[str, StrategyAssessment]
        Each member's assessment, by strategy name.

    Returns
    -------
    pandas.DataFrame
        Each member's per-bar net returns at its selected configuration, keeping only the
        bars where every member has a return (``dropna``: each has passed its warm-up).
    """
    return pd.DataFrame({n: m.returns for n, m in members.items()}).dropna()


def monthly_budgets(
    returns: pd.DataFrame, weighting: WeightingMethod, caps: BookCaps
) -> pd.DataFrame:
    """Budgets per bar (columns: members), re-estimated at each calendar month's first bar.

    Each estimate uses the returns strictly before that bar (module docstring, step 3).

    Parameters
    ----------
    returns : pandas.DataFrame
        The members' per-bar net returns (columns: members), e.g. :func:`member_returns`.
    weighting : {"equal", "inverse_volatility", "fractional_kelly"}
        The weighting rule.
    caps : BookCaps
        The per-member and gross caps and the Kelly fraction.

    Returns
    -------
    pandas.DataFrame
        The budgets in force at each bar, indexed and labelled like ``returns``.

    Notes
    -----
    At the first bar ``t_m`` of month ``m`` (calendar months in the index's own time zone), with
    ``n = t_m`` returns before it, the expanding per-period mean and variance of member ``s``
    are numpy's ``mean`` and ``var`` (``ddof=1``, two passes: deviations from the mean, so a
    near-constant member's variance keeps its digits, where ``(S2 - n μ²) / (n - 1)`` from
    running sums cancels about ``log10(μ² / σ²)`` of them) of ``r_{s,t}``, ``t < t_m``; NaN
    while there are too few returns (no mean before the first, no variance before the second).
    :func:`~crypto_strategy_lab.performance.allocation.budget_rows` and
    :func:`~crypto_strategy_lab.performance.allocation.cap_rows` (the rule ``capped_budgets``
    applies) turn them into budgets; while ``n < MIN_ESTIMATION_BARS`` (500) an estimated
    weighting uses equal budgets, capped. A member whose past returns have no variance yet
    (it has not traded) gets no budget under the estimated weightings.
    """
    values = returns.to_numpy(dtype=float)
    index = returns.index.tz_localize(None) if returns.index.tz else returns.index
    months = index.to_period("M")
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    mean = np.full((len(starts), values.shape[1]), np.nan)
    var = np.full_like(mean, np.nan)
    for row, n in enumerate(starts):  # n: the returns before the month start
        if n >= 1:
            mean[row] = values[:n].mean(axis=0)
        if n >= 2:
            var[row] = values[:n].var(axis=0, ddof=1)
    kw = {"max_gross": caps.max_gross, "kelly_fraction": caps.kelly_fraction}
    raw = budget_rows(weighting, mean, var, np.sqrt(var), **kw)
    early = starts < MIN_ESTIMATION_BARS
    if weighting != "equal" and early.any():
        raw[early] = budget_rows("equal", mean[early], var[early], var[early], **kw)
    rows = cap_rows(raw, max_weight=caps.max_weight, max_gross=caps.max_gross)
    month_of_bar = np.searchsorted(starts, np.arange(len(values)), side="right") - 1
    return pd.DataFrame(rows[month_of_bar], index=returns.index, columns=returns.columns)


def member_sets(names: Sequence[str]) -> list[tuple[str, ...]]:
    """All members, then (with three or more) each set that leaves one out.

    Parameters
    ----------
    names : Sequence[str]
        The member strategies' names.

    Returns
    -------
    list of tuple of str
        The sorted full set first; with ``n >= 3`` members, then the ``n`` sets of
        ``n - 1``, each sorted, in the order of the member left out.
    """
    full = tuple(sorted(names))
    if len(full) < 3:
        return [full]
    return [full] + [tuple(n for n in full if n != out) for out in full]


def validate_book(
    label: str,
    members: Sequence[StrategyAssessment],
    trial_log: TrialLog,
    gate: GateConfig | None = None,
    *,
    families: tuple[str, ...] | None = None,
    caps: BookCaps | None = None,
    weightings: Sequence[str] = METHODS,
) -> BookAssessment:
    """Build every candidate book of ``members``, log them as trials, put them through the gate.

    The members share one bar grid (module docstring).

    Parameters
    ----------
    label : str
        The book's row label.
    members : Sequence[StrategyAssessment]
        The strategies' assessments on one bar grid, each at its selected configuration.
    trial_log : TrialLog
        Where each candidate is logged (strategy ``book``) and the deflation comes from.
    gate : GateConfig, optional
        The gate (default ``GateConfig()``).
    families : tuple of str, optional
        The data families the search spanned (as :func:`assess_study`).
    caps : BookCaps, optional
        The budgets' caps (default: the risk engine's defaults).
    weightings : Sequence[str], default ``METHODS``
        The weighting rules tried.

    Returns
    -------
    BookAssessment
        The candidates (every weighting × member set), the members and the gate's assessment
        of the candidates as one study.

    Raises
    ------
    PortfolioError
        With fewer than two members, members on different data (not one bar grid), or
        fewer than two bars that every member has traded through its warm-up.
    """
    caps = caps or BookCaps()
    if len(members) < 2:
        raise PortfolioError(f"a book needs at least two strategies, got {len(members)}")
    data = members[0].study.data
    if any(m.study.data.fingerprint != data.fingerprint for m in members):
        raise PortfolioError("a book's members must share one bar grid (dataset and timeframe)")
    by_name = {m.study.spec.strategy: m for m in members}
    returns = member_returns(by_name)
    if len(returns) < 2:
        raise PortfolioError(
            f"the members share {len(returns)} bars after their warm-ups: no book to judge"
        )
    signs = pd.DataFrame({n: m.study.positions[m.selected] for n, m in by_name.items()}).reindex(
        returns.index
    )
    member_trials = {
        n: str(m.study.trials.loc[m.selected, "config_hash"]) for n, m in by_name.items()
    }
    # the members' identities carry their code; this file's code is the book's own rule
    code = hashlib.sha256(
        json.dumps(sorted(member_trials.items())).encode() + code_version([Path(__file__)]).encode()
    ).hexdigest()[:16]

    columns: dict[str, pd.Series] = {}
    positions: dict[str, pd.Series] = {}
    candidates: dict[str, dict[str, Any]] = {}
    rows = []
    for k, (weighting, names) in enumerate(
        (w, s) for w in weightings for s in member_sets(list(by_name))
    ):
        col = f"b{k:02d}"
        budget = monthly_budgets(returns[list(names)], weighting, caps)  # type: ignore[arg-type]
        r = (budget * returns[list(names)]).sum(axis=1)
        exposure = (budget * signs[list(names)]).sum(axis=1)
        params = book_params(weighting, {n: by_name[n].selected_params for n in names}, caps)
        settings = {"member_trials": {n: member_trials[n] for n in names}, "rebalance": "M"}
        digest = trial_identity(BOOK, params, settings, data, code)
        status = "resumed" if trial_log.has_trial(digest) else "new"
        if status == "new":
            trial_log.record(
                study=f"lab:{BOOK}:{data.timeframe}", strategy=BOOK, params=params,
                returns=r, symbol=label, settings=settings, data=data, code_version=code,
            )  # fmt: skip
        columns[col], positions[col], candidates[col] = r, np.sign(exposure).astype(np.int8), params
        sr = return_moments(r.to_numpy()).sr
        rows.append(
            {"params": params, "stop": "", "config_hash": digest, "status": status, "sr": sr,
             "n_trades": 0, "total_return": float(np.prod(1 + r) - 1)}
        )  # fmt: skip
    ppy = members[0].study.periods_per_year
    spec = StudySpec(
        f"lab:{BOOK}:{data.timeframe}", BOOK, (), members[0].study.spec.settings, label
    )
    study = StudyResult(
        spec,
        pd.DataFrame(rows, index=pd.Index(list(columns), name="config")),
        pd.DataFrame(columns),
        ppy,
        pd.DataFrame(positions),
        data,
    )
    assessment = assess_study(study, trial_log, gate, families=families)
    return BookAssessment(label, by_name, candidates, assessment, code)
