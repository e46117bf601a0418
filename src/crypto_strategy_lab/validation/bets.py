"""Independent bets: a track record is as long as the number of bets it holds, not its bars.

A strategy that holds a position for 200 bars has made one bet, not 200 independent draws:
its per-bar returns are serially dependent (one entry decision drives them all) and the bars
it spends flat carry no information. MinTRL (Bailey & López de Prado 2012) assumes i.i.d.
observations, so the gate counts its track record in **bets**: the maximal runs of bars with
a position of one sign (a flip starts a new bet; the bar on which a position is closed belongs
to it — its return comes from the position held into it). A bet's return is the compounded
return of its bars, ``prod(1 + r_t) - 1``.

A per-bar Sharpe benchmark ``SR*`` becomes a per-bet one under the i.i.d. scaling
``SR*_bet = SR*_bar * sqrt(mean bars per bet)`` (0 stays 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Bets:
    """The bets of one return series: their returns and the mean number of bars in each."""

    returns: np.ndarray
    bars_per_bet: float

    @property
    def n_bets(self) -> int:
        """Number of bets."""
        return int(self.returns.size)


def bet_ids(position_sign: np.ndarray | pd.Series) -> np.ndarray:
    """Bet number of every bar (``-1`` for bars that belong to no bet).

    Bar ``t`` belongs to the bet of the position held at its close, or — when flat at its
    close — to the bet of the position held into it (the exit bar).

    Parameters
    ----------
    position_sign : numpy.ndarray or pandas.Series
        Position held at each bar's close (only its sign is read).

    Returns
    -------
    numpy.ndarray
        Bet numbers ``0, 1, ...`` in time order; a new bet starts at every entry and every
        flip of sign.
    """
    s = np.sign(np.asarray(position_sign, dtype=float)).astype(np.int8)
    prev = np.concatenate([[0], s[:-1]])
    starts = (s != 0) & (s != prev)
    ids = np.cumsum(starts) - 1
    held = s != 0
    exit_bar = (~held) & (prev != 0)
    return np.where(held | exit_bar, ids, -1)


def bets_of(returns: np.ndarray | pd.Series, position_sign: np.ndarray | pd.Series) -> Bets:
    """The compounded return of every bet (see the module docstring).

    Parameters
    ----------
    returns : numpy.ndarray or pandas.Series
        Simple per-bar returns of the strategy.
    position_sign : numpy.ndarray or pandas.Series
        Position held at each bar's close (only its sign is read), same length.

    Returns
    -------
    Bets
        ``prod(1 + r) - 1`` over the bars of each bet (:func:`bet_ids`), and the mean number
        of bars per bet; no bets and 0.0 bars when the strategy never held a position.

    Raises
    ------
    ValueError
        If `returns` and `position_sign` differ in length.
    """
    r = np.asarray(returns, dtype=float)
    ids = bet_ids(position_sign)
    if r.shape != ids.shape:
        raise ValueError(f"returns {r.shape} and positions {ids.shape} differ in length")
    mask = ids >= 0
    if not mask.any():
        return Bets(np.empty(0), 0.0)
    n = int(ids[mask].max()) + 1
    log_growth = np.zeros(n)
    np.add.at(log_growth, ids[mask], np.log1p(r[mask]))
    counts = np.bincount(ids[mask], minlength=n)
    return Bets(np.expm1(log_growth), float(counts.mean()))
