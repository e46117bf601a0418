r"""Permutation entropy (Bandt & Pompe 2002) and its independence test.

For order ``d`` and delay ``tau`` the embedding vector ending at ``t`` is
``v_t = (x[t - (d-1) tau], ..., x[t - tau], x[t])``. Its ordinal pattern is the permutation
that sorts it, encoded here by its Lehmer code

.. math:: \pi_t = \sum_{i=0}^{d-1} c_i (d-1-i)!, \qquad c_i = \#\{j > i : v_j < v_i\},

so the increasing pattern is 0 and the decreasing one ``d! - 1``. Ties rank the earlier
sample lower (the convention of a stable ``argsort``, as in ordpy) with ``ties="rank"``.
That convention breaks the null on quantised prices: every tie is coded as a rise, so a
random walk on a coarse tick grid shows an excess of increasing patterns and the test rejects.
``ties="drop"`` leaves out every vector with two equal samples: for exchangeable (e.g.
i.i.d.) data, conditional on the ``d`` values being distinct every ordering is equally likely
(Bian et al. 2012 discuss the bias of the rank convention), so the uniform null holds for the
``N_t <= N`` untied vectors of the window and the test uses ``N_t``. With ``p_k`` the relative
frequency of pattern ``k`` among the ``N`` vectors,

.. math:: H = -\sum_k p_k \ln p_k, \qquad h = H / \ln d! \in [0, 1].

Null distribution (i.i.d. continuous data): all ``d!`` patterns are equally likely, and
Matilla-García & Ruiz Marín (2008) show ``G = 2 N (\ln d! - H)`` (the likelihood-ratio G
statistic of the pattern counts against the uniform law) is asymptotically
:math:`\chi^2_{d! - 1}` for non-overlapping vectors. The vectors here overlap, which makes
``G`` a weighted sum of :math:`\chi^2_1` variables; the p-values use its exact
mean-and-variance match ``c`` :math:`\chi^2_\nu` (:func:`overlapping_null_scaling`). A low
``h`` (large ``G``) rejects independence: the series has ordinal structure.

The rolling form keeps the pattern counts of the window and the running sum
:math:`S = \sum_k c_k \ln c_k`, updated in O(1) when one pattern enters and one leaves
(``H = \ln N - S / N``), so the whole pass is O(n) after the O(n d^2) pattern coding.

References
----------
Bandt, C. & Pompe, B. (2002). Permutation entropy: a natural complexity measure for time
series. Physical Review Letters 88, 174102.
Bian, C., Qin, C., Ma, Q. D. Y. & Shen, Q. (2012). Modified permutation-entropy analysis of
heartbeat dynamics. Physical Review E 85, 021906.
Matilla-García, M. & Ruiz Marín, M. (2008). A non-parametric independence test using
permutation entropy. Journal of Econometrics 144, 139-155.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations
from math import factorial

import numba
import numpy as np
from scipy import stats as sps

from crypto_strategy_lab.stats._windows import StatsInputError, as_series, check_window


def _check_embedding(order: int, delay: int) -> tuple[int, int]:
    order = check_window(order, minimum=2, name="order")
    delay = check_window(delay, minimum=1, name="delay")
    if order > 5:
        raise StatsInputError(
            f"order must be <= 5 (its null law enumerates (2 order - 1)! orders), got {order}"
        )
    return order, delay


def ordinal_patterns(x: np.ndarray, order: int = 3, delay: int = 1) -> np.ndarray:
    """Lehmer codes of the ordinal patterns of `x`.

    Element ``k`` belongs to the embedding vector ending at ``k + (order - 1) * delay``.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, longer than ``(order - 1) * delay``.
    order : int, default 3
        Embedding dimension ``d``, in [2, 5].
    delay : int, default 1
        Delay ``tau`` between the samples of a vector, >= 1.

    Returns
    -------
    numpy.ndarray
        ``int64`` codes in ``[0, order!)``, length ``len(x) - (order - 1) * delay``.
    """
    order, delay = _check_embedding(order, delay)
    span = (order - 1) * delay
    x = as_series(x, min_length=span + 1)
    m = x.size - span
    cols = [x[i * delay : i * delay + m] for i in range(order)]
    codes = np.zeros(m, dtype=np.int64)
    for i in range(order):
        smaller_after = np.zeros(m, dtype=np.int64)
        for j in range(i + 1, order):
            smaller_after += cols[j] < cols[i]
        codes += smaller_after * factorial(order - 1 - i)
    return codes


def permutation_entropy(
    x: np.ndarray, order: int = 3, delay: int = 1, normalize: bool = True
) -> float:
    """Permutation entropy of ``x`` (Bandt & Pompe 2002).

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, longer than ``(order - 1) * delay``.
    order : int, default 3
        Embedding dimension ``d``, in [2, 5].
    delay : int, default 1
        Delay ``tau`` between the samples of a vector, >= 1.
    normalize : bool, default True
        Divide by ``ln(order!)``.

    Returns
    -------
    float
        ``H = -Σ p_k ln p_k`` in nats over the pattern frequencies (ties ranked, module
        notes), or ``h = H / ln(order!)`` in [0, 1] if `normalize`.

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite, or the embedding is out of range.
    """
    codes = ordinal_patterns(x, order, delay)
    p = np.bincount(codes, minlength=factorial(order)) / codes.size
    p = p[p > 0]
    h = float(-(p * np.log(p)).sum())
    return h / np.log(factorial(order)) if normalize else h


def permutation_entropy_test(
    x: np.ndarray, order: int = 3, delay: int = 1
) -> tuple[float, float, float]:
    """Independence test by permutation entropy (Matilla-García & Ruiz Marín 2008).

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, longer than ``(order - 1) * delay``.
    order : int, default 3
        Embedding dimension ``d``, in [2, 5].
    delay : int, default 1
        Delay ``tau`` between the samples of a vector, >= 1.

    Returns
    -------
    h, g, pvalue : float
        Normalised entropy, ``G = 2 N (ln d! - H)`` over the ``N`` overlapping patterns, and
        its upper-tail p-value under i.i.d. data (:func:`permutation_entropy_pvalue`, the
        overlap-corrected ``c chi^2_nu`` law, not ``chi^2_{d!-1}``).

    Raises
    ------
    StatsInputError
        If `x` is too short or not finite, or the embedding is out of range.
    """
    h = permutation_entropy(x, order, delay, normalize=True)
    n_patterns = len(x) - (order - 1) * delay
    g = float(permutation_entropy_g(h, n_patterns, order))
    return h, g, float(permutation_entropy_pvalue(h, n_patterns, order))


def tied_vectors(x: np.ndarray, order: int = 3, delay: int = 1) -> np.ndarray:
    """Mask of the embedding vectors that hold two equal samples.

    Aligned as in :func:`ordinal_patterns`; a tied vector's ordinal pattern is a convention,
    not an observation.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series, longer than ``(order - 1) * delay``.
    order : int, default 3
        Embedding dimension ``d``, in [2, 5].
    delay : int, default 1
        Delay ``tau`` between the samples of a vector, >= 1.

    Returns
    -------
    numpy.ndarray
        Boolean, one entry per embedding vector.
    """
    order, delay = _check_embedding(order, delay)
    span = (order - 1) * delay
    x = as_series(x, min_length=span + 1)
    m = x.size - span
    cols = [x[i * delay : i * delay + m] for i in range(order)]
    tied = np.zeros(m, dtype=bool)
    for i in range(order):
        for j in range(i + 1, order):
            tied |= cols[i] == cols[j]
    return tied


def _coded(x: np.ndarray, order: int, delay: int, ties: str) -> np.ndarray:
    """Lehmer codes, with ``-1`` for tied vectors when ``ties == "drop"``."""
    if ties not in ("rank", "drop"):
        raise StatsInputError(f"ties must be 'rank' or 'drop', got {ties!r}")
    codes = ordinal_patterns(x, order, delay)
    if ties == "drop":
        codes[tied_vectors(x, order, delay)] = -1
    return codes


@numba.njit(cache=True)
def _rolling_entropy(codes: np.ndarray, n_patterns: int, n_codes: int) -> np.ndarray:
    """Entropy (nats) of the valid codes (``>= 0``) among each trailing ``n_patterns``."""
    m = codes.size
    out = np.full(m, np.nan)
    if n_patterns > m:
        return out
    clogc = np.zeros(n_patterns + 1)
    for c in range(2, n_patterns + 1):
        clogc[c] = c * np.log(c)
    counts = np.zeros(n_codes, dtype=np.int64)
    s = 0.0
    valid = 0
    for k in range(m):
        a = codes[k]
        if a >= 0:
            s -= clogc[counts[a]]
            counts[a] += 1
            s += clogc[counts[a]]
            valid += 1
        if k >= n_patterns:
            b = codes[k - n_patterns]
            if b >= 0:
                s -= clogc[counts[b]]
                counts[b] -= 1
                s += clogc[counts[b]]
                valid -= 1
        if k >= n_patterns - 1 and valid >= 2:
            out[k] = np.log(valid) - s / valid
    return out


def rolling_permutation_entropy(
    x: np.ndarray,
    window: int,
    order: int = 3,
    delay: int = 1,
    normalize: bool = True,
    ties: str = "rank",
) -> np.ndarray:
    """Permutation entropy of each trailing window of ``window`` samples.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Samples per window, >= ``(order - 1) * delay + 2``; it holds
        ``window - (order - 1) * delay`` embedding vectors.
    order : int, default 3
        Embedding dimension ``d``, in [2, 5].
    delay : int, default 1
        Delay ``tau`` between the samples of a vector, >= 1.
    normalize : bool, default True
        Divide by ``ln(order!)``.
    ties : {"rank", "drop"}, default "rank"
        ``"rank"`` codes a tie as a rise (stable argsort); ``"drop"`` leaves tied vectors
        out (module notes).

    Returns
    -------
    numpy.ndarray
        ``out[t] == permutation_entropy(x[t - window + 1 : t + 1], order, delay, normalize)``
        with ``ties="rank"``; with ``ties="drop"`` only the untied vectors count. NaN until
        the window fills (and, with ``"drop"``, where fewer than 2 vectors are untied).

    Raises
    ------
    StatsInputError
        If `x` is not finite, or `window`, the embedding or `ties` is invalid.

    Notes
    -----
    O(n) after the pattern coding: running counts and ``S = Σ c_k ln c_k`` (module notes).
    """
    order, delay = _check_embedding(order, delay)
    span = (order - 1) * delay
    window = check_window(window, minimum=span + 2)
    x = as_series(x, min_length=1)
    out = np.full(x.size, np.nan)
    if x.size <= span:
        return out
    codes = _coded(x, order, delay, ties)
    h = _rolling_entropy(codes, window - span, factorial(order))
    out[span:] = h / np.log(factorial(order)) if normalize else h
    return out


def rolling_untied_count(x: np.ndarray, window: int, order: int = 3, delay: int = 1) -> np.ndarray:
    """Number ``N_t`` of untied embedding vectors in each trailing window.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Samples per window, >= ``(order - 1) * delay + 2``; it holds
        ``window - (order - 1) * delay`` embedding vectors.
    order : int, default 3
        Embedding dimension ``d``, in [2, 5].
    delay : int, default 1
        Delay ``tau`` between the samples of a vector, >= 1.

    Returns
    -------
    numpy.ndarray
        ``N_t`` per bar (float); NaN until the window fills. The ``N`` of the G test under
        ``ties="drop"``.
    """
    order, delay = _check_embedding(order, delay)
    span = (order - 1) * delay
    window = check_window(window, minimum=span + 2)
    x = as_series(x, min_length=1)
    out = np.full(x.size, np.nan)
    if x.size < window:
        return out
    untied = (~tied_vectors(x, order, delay)).astype(np.float64)
    n_patterns = window - span
    csum = np.concatenate(([0.0], np.cumsum(untied)))
    out[window - 1 :] = csum[n_patterns:] - csum[:-n_patterns]
    return out


def rolling_pattern_share(
    x: np.ndarray,
    window: int,
    patterns: tuple[int, ...],
    order: int = 3,
    delay: int = 1,
    ties: str = "rank",
) -> np.ndarray:
    """Share of each trailing window's ordinal patterns whose Lehmer code is in `patterns`.

    NaN until the window fills; e.g. ``(0, order! - 1)`` is the share of monotone runs. With
    ``ties="drop"`` the share is among the untied vectors.

    Parameters
    ----------
    x : numpy.ndarray
        1-D finite series.
    window : int
        Samples per window, >= ``(order - 1) * delay + 2``; it holds
        ``window - (order - 1) * delay`` embedding vectors.
    patterns : tuple of int
        Lehmer codes counted (0 increasing, ``order! - 1`` decreasing).
    order : int, default 3
        Embedding dimension ``d``, in [2, 5].
    delay : int, default 1
        Delay ``tau`` between the samples of a vector, >= 1.
    ties : {"rank", "drop"}, default "rank"
        ``"rank"`` codes a tie as a rise (stable argsort); ``"drop"`` leaves tied vectors
        out (module notes).

    Returns
    -------
    numpy.ndarray
        The share per bar, in [0, 1]; NaN until the window fills or when no vector counts.
    """
    order, delay = _check_embedding(order, delay)
    span = (order - 1) * delay
    window = check_window(window, minimum=span + 2)
    x = as_series(x, min_length=1)
    out = np.full(x.size, np.nan)
    if x.size < window:
        return out
    codes = _coded(x, order, delay, ties)
    hit = np.isin(codes, patterns).astype(np.float64)
    valid = (codes >= 0).astype(np.float64)
    n_patterns = window - span
    hits = np.concatenate(([0.0], np.cumsum(hit)))
    counts = np.concatenate(([0.0], np.cumsum(valid)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out[window - 1 :] = (hits[n_patterns:] - hits[:-n_patterns]) / (
            counts[n_patterns:] - counts[:-n_patterns]
        )
    return out


def _codes_of_rows(rows: np.ndarray) -> np.ndarray:
    """Lehmer codes of each row of a 2-D array (the same coding as :func:`ordinal_patterns`)."""
    d = rows.shape[1]
    codes = np.zeros(rows.shape[0], dtype=np.int64)
    for i in range(d):
        codes += (rows[:, i + 1 :] < rows[:, i : i + 1]).sum(axis=1) * factorial(d - 1 - i)
    return codes


@lru_cache(maxsize=8)
def overlapping_null_scaling(order: int) -> tuple[float, float]:
    """Satterthwaite scale ``c`` and degrees of freedom ``nu`` with ``G ~ c chi^2_nu``.

    Under i.i.d. data, exact for overlapping patterns.

    Overlapping vectors share samples, so the counts are not multinomial and ``G`` is not
    ``chi^2_{d!-1}``: asymptotically ``G -> sum_i lambda_i chi^2_1`` with ``lambda`` the
    eigenvalues of ``D^{-1/2} Sigma D^{-1/2}``, ``D = diag(1/d!)`` and ``Sigma`` the long-run
    covariance of the pattern indicators,
    ``Sigma = diag(p) - p p' + sum_{m=1}^{d-1} (C_m + C_m')``, ``C_m[a, b] = P(pi_0 = a,
    pi_m = b) - p_a p_b`` (Elsinger 2010). ``P(pi_0 = a, pi_m = b)`` is exact: the two vectors
    span ``d + m`` samples whose ``(d + m)!`` rank orders are equally likely under i.i.d.
    data, and we enumerate them. (With delay ``tau`` only lags ``m tau`` overlap, giving the
    same ``Sigma``.) The weighted sum is matched in mean and variance by ``c chi^2_nu``:
    ``c = sum lambda^2 / sum lambda``, ``nu = (sum lambda)^2 / sum lambda^2``.

    Parameters
    ----------
    order : int
        Embedding dimension ``d``.

    Returns
    -------
    c, nu : float
        Scale and degrees of freedom (cached per order).

    References
    ----------
    Elsinger, H. (2010). Independence tests based on symbolic dynamics. Working paper 165,
    Oesterreichische Nationalbank.
    """
    k = factorial(order)
    p = np.full(k, 1.0 / k)
    sigma = np.diag(p) - np.outer(p, p)
    for m in range(1, order):
        perms = np.array(list(permutations(range(order + m))), dtype=np.int8)
        first = _codes_of_rows(perms[:, :order])
        second = _codes_of_rows(perms[:, m : m + order])
        joint = np.zeros((k, k))
        np.add.at(joint, (first, second), 1.0)
        c_m = joint / perms.shape[0] - np.outer(p, p)
        sigma += c_m + c_m.T
    lam = np.linalg.eigvalsh(sigma * k)
    lam = lam[lam > 1e-12]
    return float((lam**2).sum() / lam.sum()), float(lam.sum() ** 2 / (lam**2).sum())


def permutation_entropy_g(h: np.ndarray, n_patterns: int, order: int) -> np.ndarray:
    """G statistic ``2 N ln(d!) (1 - h)`` for normalised entropies ``h`` of ``N`` patterns.

    Parameters
    ----------
    h : numpy.ndarray
        Normalised permutation entropies.
    n_patterns : int
        Number ``N`` of patterns each entropy was computed from.
    order : int
        Embedding dimension ``d``.

    Returns
    -------
    numpy.ndarray
        ``G = 2 N (ln d! - H)``, of the shape of `h`.
    """
    return 2.0 * n_patterns * np.log(factorial(order)) * (1.0 - np.asarray(h, dtype=float))


def permutation_entropy_pvalue(h: np.ndarray, n_patterns: int, order: int) -> np.ndarray:
    """Upper-tail p-value of the G statistic under i.i.d. data.

    ``G / c ~ chi^2_nu`` with ``c`` and ``nu`` from :func:`overlapping_null_scaling`.

    Parameters
    ----------
    h : numpy.ndarray
        Normalised permutation entropies.
    n_patterns : int
        Number ``N`` of patterns each entropy was computed from.
    order : int
        Embedding dimension ``d``.

    Returns
    -------
    numpy.ndarray
        ``P(G' > G)`` under i.i.d. data, of the shape of `h`.
    """
    c, nu = overlapping_null_scaling(order)
    return sps.chi2.sf(permutation_entropy_g(h, n_patterns, order) / c, nu)
