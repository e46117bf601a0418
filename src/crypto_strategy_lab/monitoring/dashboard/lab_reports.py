"""Find and read the research lab's latest report for the Research page.

The lab writes ``reports/lab/<run-id>/`` (``index.html`` plus its data files). This module
does not assume one exact file layout: in the newest run directory (by modification time) it
reads the first CSV/JSON/Parquet file whose name contains ``gate`` as the gate table, and the
first whose name contains ``corr`` as the strategy correlation matrix.

Gate tables come in two shapes and both are accepted: *wide*, one row per strategy with a
column per criterion (``dsr``, ``pbo``, ..., ``verdict``); or *long*, the concatenation of
``validation.gate.GateVerdict.to_frame()`` with a ``strategy`` column (one row per strategy
and criterion: ``criterion, value, comparison, threshold, passed``), which is pivoted to the
wide shape with each criterion's threshold kept and an overall ``verdict`` (PASS only when
every criterion passed). DSR and PBO are the columns whose names contain ``dsr``/``deflated``
and ``pbo``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

_SUFFIXES = (".csv", ".json", ".parquet")


@dataclass(frozen=True)
class LabReport:
    directory: Path
    gate: pd.DataFrame | None
    thresholds: dict[str, float]
    correlation: pd.DataFrame | None
    html: Path | None
    problems: tuple[str, ...]

    @property
    def run_id(self) -> str:
        return self.directory.name

    def metric_columns(self, *needles: str) -> list[str]:
        if self.gate is None:
            return []
        return [c for c in self.gate.columns if any(n in str(c).lower() for n in needles)]


def latest_lab_dir(reports_dir: Path) -> Path | None:
    lab = reports_dir / "lab"
    if not lab.is_dir():
        return None
    runs = [p for p in lab.iterdir() if p.is_dir()]
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        for key in ("rows", "gate", "results", "strategies", "data"):
            if isinstance(data.get(key), list):
                return pd.DataFrame(data[key])
        return pd.DataFrame(data)
    return pd.DataFrame(data)


def widen_gate(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """A long gate table (``strategy, criterion, value, threshold, passed``) as one row per
    strategy, plus each criterion's threshold; wide tables pass through unchanged."""
    if not {"strategy", "criterion", "value"} <= set(table.columns):
        return table, {}
    wide = table.pivot_table(index="strategy", columns="criterion", values="value", aggfunc="first")
    wide.columns.name = None
    if "passed" in table.columns:
        passed = table.groupby("strategy")["passed"].agg(lambda p: bool(pd.Series(p).all()))
        wide["verdict"] = passed.map({True: "PASS", False: "FAIL"})
    thresholds = {}
    if "threshold" in table.columns:
        firsts = table.groupby("criterion")["threshold"].first()
        thresholds = {str(k): float(v) for k, v in firsts.items() if pd.notna(v)}
    return wide.reset_index(), thresholds


def _find(directory: Path, needle: str) -> Path | None:
    candidates = sorted(
        p for p in directory.rglob("*") if p.suffix in _SUFFIXES and needle in p.name.lower()
    )
    return candidates[0] if candidates else None


def load_latest_report(reports_dir: Path) -> LabReport | None:
    """The newest lab report under ``reports_dir/lab`` (``None`` when there is none)."""
    directory = latest_lab_dir(reports_dir)
    if directory is None:
        return None
    problems = []
    tables: dict[str, pd.DataFrame | None] = {}
    for needle in ("gate", "corr"):
        path = _find(directory, needle)
        tables[needle] = None
        if path is not None:
            try:
                tables[needle] = _read_table(path)
            except (OSError, ValueError) as exc:
                problems.append(f"{path.name}: unreadable ({exc})")
    gate, thresholds = (None, {}) if tables["gate"] is None else widen_gate(tables["gate"])
    corr = tables["corr"]
    if corr is not None and len(corr.columns) == len(corr) + 1:
        corr = corr.set_index(corr.columns[0])  # CSV with the row labels in the first column
    html = directory / "index.html"
    return LabReport(
        directory=directory,
        gate=gate,
        thresholds=thresholds,
        correlation=corr,
        html=html if html.is_file() else None,
        problems=tuple(problems),
    )
