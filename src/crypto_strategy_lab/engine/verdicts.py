"""Where ``csl live`` looks for a strategy's latest gate verdict.

Store contract (JSON, one file per strategy, the newest verdict wins)::

    <data dir>/verdicts/<strategy>.json
    {"strategy": "lag_autocorr", "passed": true, "created_at": "2026-01-01T00:00:00+00:00",
     "criteria": [{"name": "dsr", "value": 0.97, "threshold": 0.95, "passed": true}, ...]}

``save_verdict`` writes it from a :class:`~crypto_strategy_lab.validation.gate.GateVerdict`.
No file, an unreadable file or ``passed: false`` all mean "no passing verdict": live trading
is refused (fail closed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crypto_strategy_lab.config.settings import get_settings


def verdict_dir() -> Path:
    from platformdirs import user_data_dir

    base = get_settings().CSL_DATA_DIR or Path(user_data_dir("crypto-strategy-lab"))
    return Path(base) / "verdicts"


@dataclass(frozen=True)
class StoredVerdict:
    strategy: str
    passed: bool
    created_at: str
    criteria: list[dict[str, Any]]
    path: Path


def latest_verdict(strategy: str, directory: Path | None = None) -> StoredVerdict | None:
    """The stored verdict of ``strategy`` or ``None`` (missing or unreadable)."""
    path = (directory or verdict_dir()) / f"{strategy}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("strategy") != strategy:
        return None
    return StoredVerdict(
        strategy,
        data.get("passed") is True,
        str(data.get("created_at", "")),
        list(data.get("criteria", [])),
        path,
    )


def save_verdict(verdict: Any, directory: Path | None = None) -> Path:
    """Store a ``GateVerdict`` (``strategy``, ``passed``, ``criteria``) as the latest one."""
    folder = directory or verdict_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{verdict.strategy}.json"
    payload = {
        "strategy": verdict.strategy,
        "passed": bool(verdict.passed),
        "created_at": datetime.now(UTC).isoformat(),
        "criteria": [
            {"name": c.name, "value": c.value, "threshold": c.threshold, "passed": c.passed}
            for c in verdict.criteria
        ],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    tmp.replace(path)
    return path
