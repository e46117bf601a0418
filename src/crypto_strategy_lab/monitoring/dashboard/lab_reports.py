"""Find and read the research lab's latest report for the Research page.

The lab writes ``reports/lab/<run-id>/`` (``index.html`` plus its data files,
:mod:`crypto_strategy_lab.research.results`). In the newest run directory (by modification
time) this module reads the gate table from :data:`~crypto_strategy_lab.research.results.
RESULTS_FILE` (its ``gate`` rows and ``thresholds``) and the strategy correlation matrix from
:data:`~crypto_strategy_lab.research.results.CORRELATION_FILE`: the names the lab writes.

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

from crypto_strategy_lab.research.results import CORRELATION_FILE, RESULTS_FILE


@dataclass(frozen=True)
class LabReport:
    """A lab report directory as the research page shows it.

    Attributes
    ----------
    directory : Path
        The report's directory (its name is the lab run's id).
    gate : pandas.DataFrame or None
        The gate table, one row per strategy.
    thresholds : dict of str to float
        Each gate criterion's threshold.
    correlation : pandas.DataFrame or None
        The strategies' return correlation matrix.
    html : Path or None
        The HTML report.
    problems : tuple of str
        What could not be read.
    """

    directory: Path
    gate: pd.DataFrame | None
    thresholds: dict[str, float]
    correlation: pd.DataFrame | None
    html: Path | None
    problems: tuple[str, ...]

    @property
    def run_id(self) -> str:
        """The lab run's id: the report directory's name."""
        return self.directory.name

    def metric_columns(self, *needles: str) -> list[str]:
        """Gate columns whose lower-cased name contains any of ``needles``.

        Parameters
        ----------
        *needles : str
            Lower-case substrings, e.g. ``"dsr", "deflated"``.

        Returns
        -------
        list of str
            The matching columns in table order; empty without a gate table.
        """
        if self.gate is None:
            return []
        return [c for c in self.gate.columns if any(n in str(c).lower() for n in needles)]


def latest_lab_dir(reports_dir: Path) -> Path | None:
    """The most recently modified directory under ``reports_dir/lab`` (``None``: none).

    Parameters
    ----------
    reports_dir : pathlib.Path
        The reports root (``reports`` by default).

    Returns
    -------
    pathlib.Path or None
        The run directory with the latest modification time; None when ``reports_dir/lab``
        does not exist or holds no directory.
    """
    lab = reports_dir / "lab"
    if not lab.is_dir():
        return None
    runs = [p for p in lab.iterdir() if p.is_dir()]
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def _read_results(path: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """The gate rows of a results file and its thresholds."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("gate"), list):
        raise ValueError("no 'gate' list of rows")
    thresholds = {
        str(k): float(v) for k, v in (data.get("thresholds") or {}).items() if v is not None
    }
    table = pd.DataFrame(data["gate"])
    for col in table.columns:  # parameters, failed criteria...: shown as text in the table
        if table[col].map(lambda v: isinstance(v, dict | list)).any():
            table[col] = table[col].map(
                lambda v: json.dumps(v) if isinstance(v, dict | list) else v
            )
    return table, thresholds


def widen_gate(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """A long gate table as one row per strategy, plus each criterion's threshold.

    A long table has ``strategy, criterion, value`` (and optionally ``threshold, passed``:
    ``verdict`` is PASS when every criterion passed); wide tables pass through unchanged.

    Parameters
    ----------
    table : pandas.DataFrame
        A gate table, long or wide.

    Returns
    -------
    wide : pandas.DataFrame
        One row per strategy (sorted by name, ``strategy`` a column), one column per
        criterion holding its value, and ``verdict`` when the long table has ``passed``;
        ``table`` itself when it is already wide.
    thresholds : dict of str to float
        The first non-missing threshold per criterion; empty for a wide table or one
        without ``threshold``.
    """
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


def load_latest_report(reports_dir: Path) -> LabReport | None:
    """The newest lab report under ``reports_dir/lab`` (``None`` when there is none).

    Parameters
    ----------
    reports_dir : pathlib.Path
        The reports root.

    Returns
    -------
    LabReport or None
        The newest run directory's report (:func:`latest_lab_dir`); files that are missing
        leave their fields None, files that cannot be read are listed in ``problems``
        instead of raising. None when there is no run directory.
    """
    directory = latest_lab_dir(reports_dir)
    if directory is None:
        return None
    problems = []
    gate, thresholds, corr = None, {}, None
    results = directory / RESULTS_FILE
    if results.is_file():
        try:
            table, stated = _read_results(results)
            gate, widened = widen_gate(table)
            thresholds = stated | widened
        except (OSError, ValueError) as exc:
            problems.append(f"{results.name}: unreadable ({exc})")
    correlation = directory / CORRELATION_FILE
    if correlation.is_file():
        try:
            corr = pd.read_csv(correlation, index_col=0)
        except (OSError, ValueError) as exc:
            problems.append(f"{correlation.name}: unreadable ({exc})")
    html = directory / "index.html"
    return LabReport(
        directory=directory,
        gate=gate,
        thresholds=thresholds,
        correlation=corr,
        html=html if html.is_file() else None,
        problems=tuple(problems),
    )
