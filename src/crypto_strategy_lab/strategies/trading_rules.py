"""Cost-aware trading rules: a no-trade band and a minimum holding period on the target.

Both are a causal transform of a strategy's target series ``s_t`` (its ``signal``) into the
held target ``w_t``, applied by :meth:`~crypto_strategy_lab.strategies.base.Strategy.compute`
so that the research face and the trading face trade the same series. With ``w_0 = 0`` and
``c`` the bar of the last change of ``w``:

* **minimum holding period** ``h`` bars: if ``t - c < h`` then ``w_t = w_{t-1}`` (no entry,
  exit, resize or flip sooner than ``h`` bars after the last change);
* **no-trade band** ``b``: otherwise ``w_t = s_t`` if ``|s_t - w_{t-1}| > b`` or ``s_t = 0``,
  else ``w_t = w_{t-1}``.

The band is hysteresis around the held position: adjustments smaller than ``b`` (in units of
the target, i.e. of ``sizing`` x equity) are not worth their fee and slippage and are skipped,
a standard approximation of the no-trade region of optimal trading under proportional costs
(Davis & Norman 1990; Gârleanu & Pedersen 2013 trade part-way to the target for the same
reason). Going flat is always executed (once the holding period allows): a rule whose test no
longer rejects has no edge, and a band must not leave a residual position behind. ``b = 0``
and ``h <= 1`` is the identity. ``w_t`` reads ``s_0..s_t`` only, so the transform keeps the
strategy causal; it depends on where the series starts (the state ``w`` starts flat), as the
position of a live book depends on when it started.

References
----------
Davis, M. H. A. & Norman, A. R. (1990). Portfolio selection with transaction costs.
Mathematics of Operations Research 15(4), 676-713.
Gârleanu, N. & Pedersen, L. H. (2013). Dynamic trading with predictable returns and
transaction costs. Journal of Finance 68(6), 2309-2340.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _held_target(target: np.ndarray, band: float, min_hold: int) -> np.ndarray:
    out = np.empty_like(target)
    held = 0.0
    since = min_hold  # bars since the last change; the first change is free
    for t in range(target.size):
        s = target[t]
        if since >= min_hold and s != held and (s == 0.0 or abs(s - held) > band):
            held = s
            since = 0
        out[t] = held
        since += 1
    return out


def held_target(target: np.ndarray, band: float = 0.0, min_hold: int = 0) -> np.ndarray:
    """The held target ``w`` of ``target`` under a no-trade band and a minimum holding period.

    The rule is stated in the module docstring.

    Parameters
    ----------
    target:
        Finite target weights in [-1, 1], one per bar.
    band:
        Half-width of the no-trade band, in target units, ``0 <= band < 1``.
    min_hold:
        Fewest bars between two changes of the held target (0 or 1: no constraint).

    Returns
    -------
    numpy.ndarray
        ``w``, the same length as ``target``; ``target`` itself when both rules are off.
    """
    target = np.asarray(target, dtype=np.float64)
    if not 0.0 <= band < 1.0:
        raise ValueError(f"band must be in [0, 1), got {band}")
    if min_hold < 0:
        raise ValueError(f"min_hold must be >= 0 bars, got {min_hold}")
    if band == 0.0 and min_hold <= 1:
        return target
    return _held_target(target, float(band), int(min_hold))
