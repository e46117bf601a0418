"""How much of each risk limit a run is using, from journal numbers only.

The limit values are the brief's defaults (position 10 % of capital per strategy, heat 50 %,
daily loss 5 %, de-risking from 10 % drawdown, stop-loss 2 %, take-profit 4 %) overridden by
the run's recorded ``config["risk"]``: the same overrides the deployment config passes to
``risk.RiskLimits``, under its field names (:data:`RISK_LIMITS_FIELDS`). Per-venue and
per-asset-class exposure caps (``max_venue_exposure``, ``max_asset_class_exposure``) add a row
each when configured.

Usage definitions (fractions of equity):

- position cap: ``max over strategies of sum |quantity * mark| / equity``;
- portfolio heat: ``gross_exposure / equity`` from the latest equity point;
- daily loss: ``max(0, day_start_equity - equity) / day_start_equity``;
- drawdown: ``1 - equity / peak equity``;
- venue / asset class exposure: ``sum |notional|`` of that venue's / class's positions / equity;
- stop-loss: the worst open position's adverse move from its entry, ``max(0, -side *
  (mark / entry - 1))``, against the stop distance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from crypto_strategy_lab.monitoring.attribution import asset_class
from crypto_strategy_lab.monitoring.performance import pnl_today

BRIEF_DEFAULTS: dict[str, float] = {
    "position_cap": 0.10,
    "portfolio_heat": 0.50,
    "daily_loss": 0.05,
    "drawdown_derisk": 0.10,
    "stop_loss": 0.02,
    "take_profit": 0.04,
}

# our key -> the ``risk.RiskLimits`` field holding it
RISK_LIMITS_FIELDS: dict[str, str] = {
    "position_cap": "max_position_fraction",
    "portfolio_heat": "max_gross_exposure",
    "daily_loss": "daily_loss_limit",
    "drawdown_derisk": "drawdown_derisk_start",
    "stop_loss": "stop_loss_pct",
    "take_profit": "take_profit_pct",
}

LABELS = {
    "position_cap": "Position cap per strategy",
    "portfolio_heat": "Portfolio heat (gross exposure)",
    "daily_loss": "Daily loss",
    "drawdown_derisk": "Drawdown (de-risk level)",
    "stop_loss": "Stop-loss (worst open position)",
    "take_profit": "Take-profit",
}


def effective_limits(run_config: Mapping[str, Any] | None) -> dict[str, float]:
    """The brief's defaults overridden by ``run_config["risk"]`` (``RiskLimits`` field names).

    Parameters
    ----------
    run_config : Mapping or None
        The run's recorded configuration; only its ``"risk"`` mapping is read. None, or a
        run without one, gives the defaults.

    Returns
    -------
    dict of str to float
        The limit values by this module's keys (``BRIEF_DEFAULTS``); a field set to None in
        the configuration keeps its default.
    """
    overrides = dict((run_config or {}).get("risk") or {})
    limits = dict(BRIEF_DEFAULTS)
    for key, field in RISK_LIMITS_FIELDS.items():
        if overrides.get(field) is not None:
            limits[key] = float(overrides[field])
    return limits


def exposure_caps(run_config: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """Configured per-venue and per-asset-class gross exposure caps (may be empty).

    Parameters
    ----------
    run_config : Mapping or None
        The run's recorded configuration; its ``risk.max_venue_exposure`` and
        ``risk.max_asset_class_exposure`` are read. None: no caps.

    Returns
    -------
    dict
        ``{"venue": {venue: fraction}, "asset_class": {class: fraction}}``, fractions of
        equity; each inner mapping empty when not configured.
    """
    overrides = dict((run_config or {}).get("risk") or {})
    return {
        "venue": {k: float(v) for k, v in (overrides.get("max_venue_exposure") or {}).items()},
        "asset_class": {
            k: float(v) for k, v in (overrides.get("max_asset_class_exposure") or {}).items()
        },
    }


def limit_usage(
    equity: pd.DataFrame,
    positions: pd.DataFrame,
    limits: Mapping[str, float],
    caps: Mapping[str, Mapping[str, float]] | None = None,
) -> pd.DataFrame:
    """One row per limit: its value, how much of it is used (see module notes).

    Parameters
    ----------
    equity : pandas.DataFrame
        The journal equity frame (indexed by ``ts``, with ``equity`` and ``gross_exposure``),
        at least one point.
    positions : pandas.DataFrame
        The latest open positions (``strategy, quantity, average_price, mark_price``; also
        ``venue`` and ``market`` when ``caps`` are given); a missing mark is the average price.
    limits : Mapping[str, float]
        The limit values by key (:func:`effective_limits`).
    caps : Mapping[str, Mapping[str, float]], optional
        Exposure caps per venue (``venue``) or asset class (any other key), by name
        (:func:`exposure_caps`); one row each.

    Returns
    -------
    pandas.DataFrame
        ``key, limit, value, used, used_fraction_of_limit``: position cap, portfolio heat,
        daily loss, drawdown, stop-loss, then each cap (``<kind>:<name>``). ``limit`` is the
        row's label; the take-profit has no usage row.
    """
    last = equity.iloc[-1]
    eq = float(last["equity"])
    rows: list[tuple[str, float, float]] = []
    per_strategy = 0.0
    worst_adverse = 0.0
    notional = pd.Series(dtype=float)
    if len(positions):
        mark = positions["mark_price"].fillna(positions["average_price"])
        notional = (positions["quantity"] * mark).abs()
        per_strategy = float(notional.groupby(positions["strategy"].fillna("(none)")).sum().max())
        side = np.sign(positions["quantity"])
        adverse = (-side * (mark / positions["average_price"] - 1.0)).clip(lower=0.0)
        worst_adverse = float(adverse.max())
    rows.append(("position_cap", limits["position_cap"], per_strategy / eq if eq > 0 else 0.0))
    heat = float(last["gross_exposure"]) / eq if eq > 0 else 0.0
    rows.append(("portfolio_heat", limits["portfolio_heat"], heat))
    rows.append(("daily_loss", limits["daily_loss"], pnl_today(equity["equity"]).loss_fraction))
    peak = float(equity["equity"].max())
    rows.append(("drawdown_derisk", limits["drawdown_derisk"], 1.0 - eq / peak))
    rows.append(("stop_loss", limits["stop_loss"], worst_adverse))
    labels = dict(LABELS)
    for kind, table in (caps or {}).items():
        for name, cap in table.items():
            used = 0.0
            if len(positions) and eq > 0:
                if kind == "venue":
                    members = positions["venue"] == name
                else:
                    classes = [
                        asset_class(v, m)
                        for v, m in zip(positions["venue"], positions["market"], strict=True)
                    ]
                    members = pd.Series(classes, index=positions.index) == name
                used = float(notional[members].sum()) / eq
            key = f"{kind}:{name}"
            labels[key] = f"{kind.replace('_', ' ').capitalize()} exposure: {name}"
            rows.append((key, cap, used))
    frame = pd.DataFrame(rows, columns=["key", "value", "used"])
    frame["limit"] = frame["key"].map(labels)
    frame["used_fraction_of_limit"] = frame["used"] / frame["value"]
    return frame[["key", "limit", "value", "used", "used_fraction_of_limit"]]
