"""The identity of a stop policy: what a gate verdict tested and what a deployment trades.

Research (a study's trial settings) and trading (a deployment's protective stops) describe
their stops with the same parameters as :func:`~crypto_strategy_lab.core.execution.stop_levels`
(levels, their unit, the ATR period). ``csl live`` refuses a strategy whose deployed stop policy
differs from the one its verdict validated, so both sides reduce their parameters to the one
canonical form here and compare that, never their own spellings (``None`` and ``0`` both
disable a level; an ATR period means nothing for levels in fractions of the entry).
"""

from __future__ import annotations

from typing import Any


def stop_policy_identity(
    stop_loss: float | None,
    take_profit: float | None,
    stop_unit: str = "fraction",
    atr_period: int = 14,
) -> dict[str, Any]:
    """The canonical description of a stop policy.

    Parameters
    ----------
    stop_loss, take_profit : float or None
        Distances of the levels: fractions of the entry (``stop_unit="fraction"``) or
        multiples of Wilder's ATR (``"atr"``); ``None`` or 0 disables a level.
    stop_unit : {"fraction", "atr"}, default "fraction"
        Unit of the distances.
    atr_period : int, default 14
        Wilder's ATR period in bars (only part of an ``atr`` policy).

    Returns
    -------
    dict
        ``{"policy": "off"}`` without levels; ``{"policy": "fixed", "stop_loss", "take_profit"}``
        in fractions; ``{"policy": "atr", "stop_loss", "take_profit", "atr_period"}`` in ATR
        units. Disabled levels are ``None``, the others floats. The policy names are the
        study's (``research.trial.STOP_POLICIES``).
    """
    sl = float(stop_loss) if stop_loss else None
    tp = float(take_profit) if take_profit else None
    if sl is None and tp is None:
        return {"policy": "off"}
    if stop_unit == "atr":
        return {"policy": "atr", "stop_loss": sl, "take_profit": tp, "atr_period": int(atr_period)}
    return {"policy": "fixed", "stop_loss": sl, "take_profit": tp}


def describe_stop_policy(identity: dict[str, Any]) -> str:
    """A stop policy identity in words, e.g. ``"atr: 2/4 ATR(14)"`` or ``"fixed: 2%/4%"``.

    Parameters
    ----------
    identity : dict
        As returned by :func:`stop_policy_identity`.

    Returns
    -------
    str
        The policy name and its levels (``-`` for a disabled one).
    """
    policy = identity.get("policy")
    if policy not in ("fixed", "atr"):
        return str(policy)
    sl, tp = identity.get("stop_loss"), identity.get("take_profit")
    if policy == "atr":
        levels = "/".join("-" if x is None else f"{x:g}" for x in (sl, tp))
        return f"atr: {levels} ATR({identity.get('atr_period')})"
    return "fixed: " + "/".join("-" if x is None else f"{x * 100:g}%" for x in (sl, tp))
