"""Are the strategies different bets? Correlation matrix, hierarchical clustering, flags.

Distance between strategies i and j is ``d = sqrt((1 - rho_ij) / 2)`` (a metric on
correlations; López de Prado 2016, "Building Diversified Portfolios that Outperform Out of
Sample", J. of Portfolio Management 42(4)), clustered with average linkage
(:func:`scipy.cluster.hierarchy.linkage`). Strategies whose returns correlate above the
threshold are flagged: they are likely the same signal and count as one for diversification.
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
    """Correlation matrix, the linkage matrix (scipy format), a cluster label per strategy
    (strategies closer than the threshold's distance share one), and the flagged pairs
    (``a``, ``b``, ``correlation``) sorted by |correlation| descending."""

    correlation: pd.DataFrame
    linkage: np.ndarray
    clusters: pd.Series
    flagged: pd.DataFrame
    threshold: float


def orthogonality_report(
    returns: pd.DataFrame, threshold: float = 0.7, method: str = "pearson"
) -> OrthogonalityReport:
    """Correlate the strategies' per-bar returns (columns), cluster them and flag pairs.

    A constant column (a strategy that never traded) has undefined correlation; it is given
    correlation 0 with every other strategy (it is orthogonal to them).
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
