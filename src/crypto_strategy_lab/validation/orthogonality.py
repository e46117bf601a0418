"""Are the strategies different bets? Correlations, clusters, flags and co-activity.

The correlation matrix, hierarchical clustering, flagged pairs, and the co-activity that a
plain correlation of mostly-flat strategies hides.

Distance between strategies i and j is ``d = sqrt((1 - rho_ij) / 2)`` (a metric on
correlations; López de Prado 2016, "Building Diversified Portfolios that Outperform Out of
Sample", J. of Portfolio Management 42(4)), clustered with average linkage
(:func:`scipy.cluster.hierarchy.linkage`). Strategies whose returns correlate above the
threshold are flagged: they are likely the same signal and count as one for diversification.

A strategy that is flat on most bars contributes zeros that drag every correlation towards 0,
so "uncorrelated" can mean "rarely active together". :func:`co_activity_report` measures
time in market, the correlation *conditional on both being active*, the agreement of their
position signs when co-active, each strategy's beta to the asset and the effective number of
independent bets, and names the pairs whose low correlation is only rare co-activity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from crypto_strategy_lab.core.errors import CSLError


class OrthogonalityError(CSLError):
    """Returns that cannot be compared (fewer than two strategies or too few rows)."""


@dataclass(frozen=True)
class OrthogonalityReport:
    """Correlations, clusters and flagged pairs of a set of strategies.

    Attributes
    ----------
    correlation : pandas.DataFrame
        Correlation matrix of the strategies' returns (0 for a constant column).
    linkage : numpy.ndarray
        Average-linkage matrix in :func:`scipy.cluster.hierarchy.linkage` format.
    clusters : pandas.Series
        Cluster label per strategy; strategies closer than the threshold's distance share one.
    flagged : pandas.DataFrame
        Pairs with ``|correlation| > threshold`` (columns ``a``, ``b``, ``correlation``),
        sorted by ``|correlation|`` descending.
    threshold : float
        The correlation threshold used.
    """

    correlation: pd.DataFrame
    linkage: np.ndarray
    clusters: pd.Series
    flagged: pd.DataFrame
    threshold: float


def orthogonality_report(
    returns: pd.DataFrame, threshold: float = 0.7, method: str = "pearson"
) -> OrthogonalityReport:
    """Correlate the strategies' per-bar returns (columns), cluster them and flag pairs.

    Parameters
    ----------
    returns : pandas.DataFrame
        Per-bar returns, one column per strategy; at least 2 columns and 3 rows.
    threshold : float, default 0.7
        Pairs with ``|correlation|`` above it are flagged; clusters are cut at its distance
        ``sqrt((1 - threshold) / 2)``. In (0, 1).
    method : {"pearson", "kendall", "spearman"}, default "pearson"
        Correlation measure (:meth:`pandas.DataFrame.corr`).

    Returns
    -------
    OrthogonalityReport
        The correlation matrix, the linkage, the clusters and the flagged pairs.

    Raises
    ------
    OrthogonalityError
        If there are fewer than 2 strategies or 3 rows, or `threshold` is outside (0, 1).

    Notes
    -----
    The distance between strategies ``i`` and ``j`` is ``d = sqrt((1 - rho_ij) / 2)``
    (López de Prado 2016), clustered with average linkage. The flags use ``|rho|`` and so
    include strongly *negatively* correlated pairs, which the distance puts far apart (in
    different clusters). A constant column (a strategy that never traded) has undefined
    correlation; it is given correlation 0 with every other strategy.

    References
    ----------
    López de Prado, M. (2016). "Building Diversified Portfolios that Outperform Out of
    Sample". Journal of Portfolio Management 42(4), 59-69.
    """
    if returns.shape[1] < 2:
        raise OrthogonalityError("orthogonality needs at least two strategies (columns)")
    if returns.shape[0] < 3:
        raise OrthogonalityError("orthogonality needs at least three rows of returns")
    if not 0.0 < threshold < 1.0:
        raise OrthogonalityError(f"threshold must be in (0, 1), got {threshold}")
    rho = returns.corr(method=method).fillna(0.0).to_numpy(copy=True)
    np.fill_diagonal(rho, 1.0)
    corr = pd.DataFrame(rho, index=returns.columns, columns=returns.columns)
    dist = np.sqrt(np.clip((1.0 - rho) / 2.0, 0.0, 1.0))
    np.fill_diagonal(dist, 0.0)
    link = linkage(squareform(dist, checks=False), method="average")
    cut = float(np.sqrt((1.0 - threshold) / 2.0))
    clusters = pd.Series(fcluster(link, t=cut, criterion="distance"), index=corr.index)
    names = list(corr.columns)
    pairs = [
        (names[i], names[j], float(corr.iat[i, j]))
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if abs(corr.iat[i, j]) > threshold
    ]
    flagged = pd.DataFrame(pairs, columns=["a", "b", "correlation"])
    flagged = flagged.reindex(flagged["correlation"].abs().sort_values(ascending=False).index)
    return OrthogonalityReport(corr, link, clusters, flagged.reset_index(drop=True), threshold)


# fewer co-active bars than this: the conditional statistics are not computed (no evidence)
MIN_CO_ACTIVE_BARS = 30
AGREEMENT_FLAG = 0.75


@dataclass(frozen=True)
class CoActivityReport:
    """What a correlation matrix of mostly-flat strategies hides.

    Attributes
    ----------
    time_in_market : pandas.Series
        Share of bars each strategy holds a position.
    co_active : pandas.DataFrame
        Share of bars on which both strategies of a pair hold a position.
    conditional_correlation : pandas.DataFrame
        Correlation of the pair's returns on the bars where both are active (NaN with fewer
        than :data:`MIN_CO_ACTIVE_BARS` such bars).
    agreement : pandas.DataFrame
        Share of co-active bars on which the two positions have the same sign.
    beta, asset_correlation : pandas.Series
        OLS beta of each strategy's returns on the asset's returns, and their correlation.
    effective_bets, effective_bets_conditional : float
        Participation ratio ``(sum lambda)^2 / sum lambda^2`` of the eigenvalues of the
        correlation matrix — ``N`` for independent strategies, 1 for one bet — on the plain
        correlations and with the conditional ones substituted where computed.
    rarely_together : pandas.DataFrame
        Pairs that look uncorrelated (``|rho| <= threshold``) only because they are rarely
        active together: ``reason`` is ``"rarely co-active"`` (too few co-active bars to say)
        or ``"alike when co-active"`` (conditional ``|rho|`` above the threshold or
        agreement >= :data:`AGREEMENT_FLAG`).
    """

    time_in_market: pd.Series
    co_active: pd.DataFrame
    conditional_correlation: pd.DataFrame
    agreement: pd.DataFrame
    beta: pd.Series
    asset_correlation: pd.Series
    effective_bets: float
    effective_bets_conditional: float
    rarely_together: pd.DataFrame


def participation_ratio(corr: np.ndarray) -> float:
    """Effective number of independent bets of a correlation matrix.

    Parameters
    ----------
    corr : numpy.ndarray
        Symmetric correlation matrix.

    Returns
    -------
    float
        ``(sum lambda)^2 / sum lambda^2`` over its eigenvalues (negative ones clipped to 0):
        ``N`` for independent strategies, 1 for one bet.
    """
    lam = np.clip(np.linalg.eigvalsh(corr), 0.0, None)
    return float(lam.sum() ** 2 / (lam**2).sum())


def co_activity_report(
    returns: pd.DataFrame,
    position_sign: pd.DataFrame,
    asset_returns: pd.Series,
    threshold: float = 0.7,
) -> CoActivityReport:
    """Co-activity of the strategies and their exposure to the asset.

    The strategies are the columns of `returns` and of their position signs; the statistics
    are those of :class:`CoActivityReport`.

    Parameters
    ----------
    returns : pandas.DataFrame
        Per-bar returns, one column per strategy.
    position_sign : pandas.DataFrame
        Positions on the same bars and columns (only the sign is read).
    asset_returns : pandas.Series
        The asset's per-bar returns (missing bars count as 0).
    threshold : float, default 0.7
        Correlation above which a pair counts as alike.

    Returns
    -------
    CoActivityReport
        Time in market, co-activity, conditional correlations, sign agreement, betas and the
        effective number of bets.

    Raises
    ------
    OrthogonalityError
        If `returns` and `position_sign` differ in columns or length.
    """
    if list(returns.columns) != list(position_sign.columns) or len(returns) != len(position_sign):
        raise OrthogonalityError("returns and positions must have the same strategies and bars")
    names = list(returns.columns)
    r = returns.to_numpy(dtype=float)
    s = np.sign(position_sign.to_numpy(dtype=float))
    active = s != 0
    n = len(names)
    co = np.eye(n)
    cond = np.full((n, n), np.nan)
    agree = np.full((n, n), np.nan)
    np.fill_diagonal(cond, 1.0)
    np.fill_diagonal(agree, 1.0)
    for i in range(n):
        for j in range(i + 1, n):
            both = active[:, i] & active[:, j]
            co[i, j] = co[j, i] = both.mean()
            if both.sum() >= MIN_CO_ACTIVE_BARS:
                agree[i, j] = agree[j, i] = float((s[both, i] == s[both, j]).mean())
                x, y = r[both, i], r[both, j]
                if x.std() > 0 and y.std() > 0:
                    cond[i, j] = cond[j, i] = float(np.corrcoef(x, y)[0, 1])
    plain = returns.corr().fillna(0.0).to_numpy(copy=True)
    np.fill_diagonal(plain, 1.0)
    mixed = np.where(np.isnan(cond), plain, cond)
    a = asset_returns.reindex(returns.index).fillna(0.0).to_numpy(dtype=float)
    var_a = float(a.var())
    beta = (r - r.mean(0)).T @ (a - a.mean()) / len(a) / var_a if var_a > 0 else np.zeros(n)
    sd = r.std(0)
    asset_corr = np.where(sd > 0, beta * np.sqrt(var_a) / np.where(sd > 0, sd, 1.0), 0.0)
    rows = []
    for i in range(n):
        for j in range(i + 1, n):
            if abs(plain[i, j]) > threshold:
                continue
            if np.isnan(agree[i, j]):
                reason = "rarely co-active"
            elif (not np.isnan(cond[i, j]) and abs(cond[i, j]) > threshold) or agree[
                i, j
            ] >= AGREEMENT_FLAG:
                reason = "alike when co-active"
            else:
                continue
            rows.append(
                (names[i], names[j], plain[i, j], co[i, j], cond[i, j], agree[i, j], reason)
            )

    def frame(m: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(m, index=names, columns=names)

    return CoActivityReport(
        time_in_market=pd.Series(active.mean(0), index=names),
        co_active=frame(co),
        conditional_correlation=frame(cond),
        agreement=frame(agree),
        beta=pd.Series(beta, index=names),
        asset_correlation=pd.Series(asset_corr, index=names),
        effective_bets=participation_ratio(plain),
        effective_bets_conditional=participation_ratio(_nearest_psd(mixed)),
        rarely_together=pd.DataFrame(
            rows,
            columns=["a", "b", "correlation", "co_active", "conditional", "agreement", "reason"],
        ),
    )


def _nearest_psd(corr: np.ndarray) -> np.ndarray:
    # substituting conditional correlations can break positive semi-definiteness: clip the
    # eigenvalues and rescale to a unit diagonal (Higham-style one-step projection)
    sym = (corr + corr.T) / 2.0
    lam, vec = np.linalg.eigh(sym)
    fixed = (vec * np.clip(lam, 1e-12, None)) @ vec.T
    d = np.sqrt(np.diag(fixed))
    return fixed / np.outer(d, d)
